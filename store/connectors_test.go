package store

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/idbolt/idbolt/store/kv"
)

// TestConnectors_SecretsSealedAtRest: a connector's confidential values
// are sealed to their tenant and connector, open after a master key
// rotation, and are in the file in clear neither before nor after.
func TestConnectors_SecretsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	db, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{DefaultTenant, "acme"} {
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: id, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
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

	oldKey, err := ReadMasterKeyFile(DefaultMasterKeyFile(path))
	if err != nil {
		t.Fatal(err)
	}
	newPath := filepath.Join(filepath.Dir(path), "new.key")
	newKey, err := CreateMasterKeyFile(newPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := RotateMasterKey(path, oldKey, newKey); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path, Options{NoSync: true, MasterKeyFile: newPath})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
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
