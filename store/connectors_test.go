package store

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// TestConnectors_SecretsSealedAtRest: a connector's confidential values
// are sealed to their tenant and connector, open after a master key
// rotation, and are in the file in clear neither before nor after.
func TestConnectors_SecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant, "acme")
	const secret = "Bearer sealed-3c9d1f7b2e"
	in := ConnectorCreate{FactoryID: FactoryHTTPEmail, Config: map[string]any{"endpoint": "https://mail.example.com/", "authorization": secret}}
	c, err := db.CreateConnector(ctx, DefaultTenant, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Config["authorization"] != ConfigMask {
		t.Errorf("CreateConnector answers the secret: %v", c.Config)
	}
	if got, err := db.FindConnectorForSending(ctx, DefaultTenant, ConnectorEmail); err != nil || got.Config["authorization"] != secret {
		t.Fatalf("for sending: %v %v", got, err)
	}
	if _, err := db.FindConnectorForSending(ctx, DefaultTenant, ConnectorSms); ErrorCode(err) != ENOTFOUND {
		t.Errorf("no SMS connector: %v", err)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte("sealed-3c9d1f7b2e")) {
		t.Error("the secret is in the file in clear")
	}

	// Moved to another tenant, the record's sealed values do not open.
	if err := db.update(func(tx *kv.Tx) error {
		from := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
		to := tx.Bucket(bucketTenants).Bucket([]byte("acme"))
		if err := to.Bucket(bucketConnectors).Put([]byte(c.ID), bytes.Clone(from.Bucket(bucketConnectors).Get([]byte(c.ID)))); err != nil {
			return err
		}
		k, v := from.Bucket(bucketConnectorsOrder).Cursor().First()
		return to.Bucket(bucketConnectorsOrder).Put(bytes.Clone(k), bytes.Clone(v))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindConnectorForSending(ctx, "acme", ConnectorEmail); err == nil || ErrorCode(err) != EINTERNAL {
		t.Errorf("a connector moved to another tenant opened: %v", err)
	}
	if err := db.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = rotateMasterKeyAndOpen(t, ctx, path)
	if got, err := db.FindConnectorForSending(ctx, DefaultTenant, ConnectorEmail); err != nil || got.Config["authorization"] != secret {
		t.Fatalf("after the master key rotation: %v %v", got, err)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte("sealed-3c9d1f7b2e")) {
		t.Error("the secret is in the file in clear after the rotation")
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

// FuzzConnectorConfig: no config, however malformed, panics the validator,
// and whatever it accepts passes it again unchanged.
func FuzzConnectorConfig(f *testing.F) {
	f.Add("http-email", `{"endpoint":"https://x.example/","authorization":"a"}`)
	f.Add("smtp", `{"host":"h","port":25,"fromEmail":"a@b.c","security":"None"}`)
	f.Add("smtp", `{"host":"h","rootCertificate":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"}`)
	f.Add("http-sms", `{"endpoint":5}`)
	f.Fuzz(func(t *testing.T, factory, raw string) {
		fac, err := FindConnectorFactory(factory)
		if err != nil {
			return
		}
		var config map[string]any
		if json.Unmarshal([]byte(raw), &config) != nil {
			return
		}
		out, err := fac.validateConfig(config)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("a refusal is not EINVALID: %v", err)
			}
			return
		}
		again, err := fac.validateConfig(out)
		if err != nil || len(again) != len(out) {
			t.Fatalf("accepted config %v fails again: %v", out, err)
		}
	})
}

// TestMigrate_EmailWebhooksToConnectors opens
// testdata/upgrade/main-99474a5-webhook.db (format 8, see the README
// there): each tenant's invitation email webhook becomes an HTTP email
// connector with the webhook's URL and signing key, the webhook setting is
// gone, a tenant without a webhook gets no connector, and a second open
// changes nothing.
func TestMigrate_EmailWebhooksToConnectors(t *testing.T) {
	path, keyPath := copyUpgradeFixture(t, "main-99474a5-webhook")
	if v, _ := fileState(t, path); v != 8 {
		t.Fatalf("fixture at format %d, want 8", v)
	}
	ctx := context.Background()
	opts := Options{NoSync: true, MasterKeyFile: keyPath}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ endpoint, key string }{ // testdata/upgrade/README.md
		DefaultTenant: {"http://127.0.0.1:1/default-hook?token=t1", "JZUJAh27zC3EWeETDWWOaU5ZZeu_Af2mRlhRKwhUvY8"},
		"acme":        {"https://mail.acme.test/hook", "9U0J-XO4inX5pPI-P4GpfVNpMEbdQKazOaQyy_foJ68"},
	}
	for tenant, w := range want {
		c, err := db.FindConnectorForSending(ctx, tenant, ConnectorEmail)
		if err != nil {
			t.Fatalf("tenant %s: %v", tenant, err)
		}
		if c.FactoryID != FactoryHTTPEmail || c.Config["endpoint"] != w.endpoint || c.Config["signingKey"] != w.key {
			t.Errorf("tenant %s: connector %s %v", tenant, c.FactoryID, c.Config)
		}
		if masked, err := db.FindConnectorByID(ctx, tenant, c.ID); err != nil || masked.Config["signingKey"] != ConfigMask {
			t.Errorf("tenant %s: the signing key is not masked: %v %v", tenant, masked, err)
		}
		tn, err := db.FindTenantByID(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if tn.EmailWebhookURL != nil {
			t.Errorf("tenant %s keeps its webhook %q beside the connector", tenant, *tn.EmailWebhookURL)
		}
	}
	if _, err := db.FindConnectorForSending(ctx, "quiet", ConnectorEmail); ErrorCode(err) != ENOTFOUND {
		t.Errorf("tenant quiet had no webhook but has an email connector: %v", err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	db.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for tenant, w := range want {
		if bytes.Contains(raw, []byte(w.key)) {
			t.Errorf("tenant %s: the signing key is in the file in clear", tenant)
		}
	}
	wantCurrentAndStable(t, path, opts)
}

// TestMigrate_EmailWebhooksSameOnEveryNode: two copies of the fixture
// migrated at different times (two nodes of a cluster, each migrating its
// own file) hold the same connectors.
func TestMigrate_EmailWebhooksSameOnEveryNode(t *testing.T) {
	ctx := context.Background()
	var got [2]string
	for i, at := range []time.Time{testNow, testNow.Add(90 * time.Minute)} {
		path, keyPath := copyUpgradeFixture(t, "main-99474a5-webhook")
		db, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: keyPath, Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		for _, tenant := range []string{DefaultTenant, "acme"} {
			list, err := db.FindConnectors(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(list)
			got[i] += tenant + ": " + string(b) + "\n"
		}
		db.Close()
	}
	if got[0] != got[1] {
		t.Errorf("the nodes differ:\n%s\n%s", got[0], got[1])
	}
}
