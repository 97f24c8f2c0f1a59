package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

func TestParseMasterKey(t *testing.T) {
	hex64 := strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"OK", hex64, true},
		{"TrailingNewline", hex64 + "\n", true},
		{"CRLFAndSpaces", "  " + hex64 + "\r\n", true},
		{"UpperCase", strings.ToUpper(hex64), true},
		{"Empty", "", false},
		{"Short", hex64[:62], false},
		{"Long", hex64 + "00", false},
		{"OddLength", hex64 + "0", false},
		{"NotHex", strings.Repeat("zz", 32), false},
		{"Base64", "ASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4mrze8=", false},
		{"TwoLines", hex64[:32] + "\n" + hex64[32:], false},
		{"TwoKeys", hex64 + "\n" + hex64, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, err := parseMasterKey([]byte(tc.in))
			if got := err == nil; got != tc.ok {
				t.Fatalf("parse %q: %v", tc.in, err)
			}
			if tc.ok && len(key) != MasterKeySize {
				t.Fatalf("key of %d bytes", len(key))
			}
		})
	}
}

// FuzzParseMasterKey: any content either gives a 32-byte key that is the
// file's hex digits, or an error; never a panic or a shorter key.
func FuzzParseMasterKey(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32) + "\n"))
	f.Add([]byte(""))
	f.Add([]byte(strings.Repeat("ab", 31) + "\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parseMasterKey(data)
		if err != nil {
			return
		}
		if len(key) != MasterKeySize || !strings.EqualFold(hex.EncodeToString(key), strings.TrimSpace(string(data))) {
			t.Fatalf("%q gave key %x", data, key)
		}
	})
}

func TestReadMasterKeyFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := strings.Repeat("5a", 32) + "\n"
	t.Run("OK", func(t *testing.T) {
		key, err := ReadMasterKeyFile(write("ok.key", 0o600, good))
		if err != nil || !bytes.Equal(key, bytes.Repeat([]byte{0x5a}, 32)) {
			t.Fatalf("%x %v", key, err)
		}
		if _, err := ReadMasterKeyFile(write("ro.key", 0o400, good)); err != nil {
			t.Fatalf("mode 0400: %v", err)
		}
	})
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644} {
		t.Run("ErrReadableByOthers/"+mode.String(), func(t *testing.T) {
			_, err := ReadMasterKeyFile(write("open.key", mode, good))
			if !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), "chmod 600") {
				t.Fatalf("mode %v: %v", mode, err)
			}
		})
	}
	t.Run("ErrMalformed", func(t *testing.T) {
		p := write("short.key", 0o600, "abcd\n")
		if _, err := ReadMasterKeyFile(p); !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), p) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrNotExist", func(t *testing.T) {
		if _, err := ReadMasterKeyFile(filepath.Join(dir, "none.key")); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		if _, err := ReadMasterKeyFile(dir); err == nil {
			t.Fatal("read a directory as a key")
		}
	})
}

func TestCreateMasterKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "new.key")
	key, err := CreateMasterKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi, err)
	}
	if read, err := ReadMasterKeyFile(p); err != nil || !bytes.Equal(read, key) {
		t.Fatalf("read back %x %v, want %x", read, err, key)
	}
	if _, err := CreateMasterKeyFile(p); err == nil {
		t.Fatal("an existing key file was replaced")
	}
	if read, _ := ReadMasterKeyFile(p); !bytes.Equal(read, key) {
		t.Fatal("an existing key file changed")
	}
	other, _ := CreateMasterKeyFile(p + "2")
	if bytes.Equal(other, key) {
		t.Fatal("two keys are equal")
	}
}

// TestOpen_MasterKey: an encrypted file opens only with its key, and a
// missing key file is not replaced by a new one that could not open it.
func TestOpen_MasterKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "idbolt.db")
	db, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte(`{"secret":1}`)}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(DefaultMasterKeyFile(path)); err != nil {
		t.Fatalf("no key file beside the data file: %v", err)
	}

	t.Run("ErrWrongKey", func(t *testing.T) {
		other := filepath.Join(dir, "other.key")
		if _, err := CreateMasterKeyFile(other); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: other})
		if !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), other) || !strings.Contains(err.Error(), "not the key") {
			t.Fatalf("open with another key: %v", err)
		}
	})
	t.Run("ErrMissingKey", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.key")
		_, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: missing})
		if !errors.Is(err, ErrMasterKey) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("open without the key: %v", err)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatal("a new key was made for a file sealed under another")
		}
	})
	t.Run("OK", func(t *testing.T) {
		db, err := Open(ctx, path, Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		keys, err := db.SigningKeys(ctx, DefaultTenant)
		if err != nil || len(keys) != 1 || string(keys[0].Private) != `{"secret":1}` {
			t.Fatalf("keys %+v %v", keys, err)
		}
	})
}

// TestSigningKey_SealedToItsTenant moves a sealed key to another tenant (as
// someone with write access to the file might): it does not open there.
func TestSigningKey_SealedToItsTenant(t *testing.T) {
	db := mustOpen(t) // tenants default and other, each with key "k"
	ctx := context.Background()
	var saved []byte
	keysOf := func(tx *kv.Tx, tenant string) *kv.Bucket {
		return tx.Bucket(bucketTenants).Bucket([]byte(tenant)).Bucket(bucketKeys)
	}
	if err := db.update(func(tx *kv.Tx) error {
		_, v := keysOf(tx, DefaultTenant).Cursor().First()
		if bytes.Contains(v, []byte(`"priv"`)) || !bytes.Contains(v, []byte(`"sealed"`)) {
			t.Errorf("stored record %s is not sealed", v)
		}
		to := keysOf(tx, "other")
		k, old := to.Cursor().First()
		saved = bytes.Clone(old)
		return to.Put(k, bytes.Clone(v))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SigningKeys(ctx, "other"); err == nil || !strings.Contains(err.Error(), "unseal") {
		t.Fatalf("a key moved from another tenant opened: %v", err)
	}
	if keys, err := db.SigningKeys(ctx, DefaultTenant); err != nil || len(keys) != 1 || string(keys[0].Private) != "{}" {
		t.Fatalf("the tenant's own key: %v %v", keys, err)
	}
	if err := db.update(func(tx *kv.Tx) error {
		k, _ := keysOf(tx, "other").Cursor().First()
		return keysOf(tx, "other").Put(k, saved)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SigningKeys(ctx, "other"); err != nil {
		t.Fatalf("the tenant's own key, put back: %v", err)
	}
}

// TestEmailWebhookKey_SealedAtRest: the key that signs a tenant's webhook
// calls is not in the file in clear, and the clear key of a file written
// before is sealed on the next open and keeps working.
func TestEmailWebhookKey_SealedAtRest(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant)
	user, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("rotated")})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{EmailWebhookURL: Field[string]{Set: true, Value: ptr("https://hooks.example.com/mail")}})
	if err != nil || tn.EmailWebhookSigningKey == "" {
		t.Fatalf("set webhook: %v %v", tn, err)
	}
	hookKey := func(db *DB) string {
		t.Helper()
		var key string
		if err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
			hook, err := emailWebhook(tx)
			if err == nil {
				key = hook.SigningKey
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	if got := hookKey(db); got != tn.EmailWebhookSigningKey {
		t.Fatalf("webhook key %q, want the one shown %q", got, tn.EmailWebhookSigningKey)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte(tn.EmailWebhookSigningKey)) {
		t.Error("the webhook key is in the file in clear")
	}

	// A record as an older version, from before the format version, wrote
	// it.
	const legacy = "legacy-webhook-key-0123456789abcdefghijklmn"
	if err := db.update(func(tx *kv.Tx) error {
		if err := tx.Bucket(bucketMeta).Delete(keyFormatVersion); err != nil {
			return err
		}
		return eachTenantRecord(tx.Bucket(bucketTenants), func(_ string, r *tenantRecord) (bool, error) {
			r.EmailWebhookKey, r.EmailWebhookKeySealed = legacy, nil
			return true, nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Migration 9 then moved the webhook, key and all, into an HTTP email
	// connector.
	if c, err := db.FindConnectorForSending(ctx, DefaultTenant, ConnectorEmail); err != nil || c.Config["signingKey"] != legacy {
		t.Fatalf("upgraded webhook: connector %v, %v; want the signing key %q", c, err, legacy)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte(legacy)) {
		t.Error("the upgraded file still holds the clear webhook key")
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	// A webhook set again (the connector wins over it) gets a new key.
	tn, err = db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{EmailWebhookURL: Field[string]{Set: true, Value: ptr("https://hooks.example.com/again")}})
	if err != nil || tn.EmailWebhookSigningKey == "" {
		t.Fatalf("set webhook again: %v %v", tn, err)
	}
	db.Close()

	// A master key rotation re-seals both, as it does the signing keys.
	db = rotateMasterKeyAndOpen(t, ctx, path)
	if got := hookKey(db); got != tn.EmailWebhookSigningKey {
		t.Fatalf("webhook key after rotation %q, want %q", got, tn.EmailWebhookSigningKey)
	}
	if c, err := db.FindConnectorForSending(ctx, DefaultTenant, ConnectorEmail); err != nil || c.Config["signingKey"] != legacy {
		t.Fatalf("connector after rotation: %v, %v; want the signing key %q", c, err, legacy)
	}
	if keys, err := db.SigningKeys(ctx, DefaultTenant); err != nil || len(keys) != 1 || string(keys[0].Private) != "{}" {
		t.Fatalf("signing keys after rotation: %v %v", keys, err)
	}
	wantFound(t, db, DefaultTenant, user.ID, "rotated") // its id key was re-sealed too
}

// TestOpen_LockOfReplacedFile: a process that waits for the lock while the
// holder replaces the file (as the rewrite after an upgrade or a rotation
// does) must end up on the new file, not on the replaced one, where its
// writes would be lost.
func TestOpen_LockOfReplacedFile(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant)
	db.Close()

	holder, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	type opened struct {
		db  *DB
		err error
	}
	waiter := make(chan opened, 1)
	go func() {
		db, err := Open(ctx, path, Options{NoSync: true, OpenTimeout: 30 * time.Second})
		waiter <- opened{db, err}
	}()
	// Give the waiter time to block on the lock. Should it be later, it
	// opens the new file directly and the test proves less, but still passes.
	time.Sleep(300 * time.Millisecond)
	tmp := path + ".replacement"
	dst, err := bbolt.Open(tmp, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bbolt.Compact(dst, holder, 0); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	holder.Close()

	w := <-waiter
	if w.err != nil {
		t.Fatal(w.err)
	}
	u, err := w.db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("after_replace")})
	if err != nil {
		t.Fatal(err)
	}
	w.db.Close()
	db, err = Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FindUserByID(ctx, DefaultTenant, u.ID); err != nil {
		t.Fatalf("a write of the process that waited for the lock is lost: %v", err)
	}
}

// TestApplicationSecret_ReadableSealedAtRest: a secret made while its
// tenant's readableApplicationSecrets switch is on is kept sealed, bound to
// its tenant, application and hash, and a master key rotation re-seals it.
func TestApplicationSecret_ReadableSealedAtRest(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant)
	on := true
	if tn, err := db.UpdateTenant(ctx, DefaultTenant, TenantUpdate{ReadableApplicationSecrets: &on}); err != nil || !tn.ReadableApplicationSecrets {
		t.Fatalf("switch on: %+v %v", tn, err)
	}
	app, secret, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "svc", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "other", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	value := func(db *DB, id string) string {
		t.Helper()
		list, err := db.FindApplicationSecrets(ctx, DefaultTenant, id)
		if err != nil || len(list) != 1 {
			t.Fatalf("secrets of %s: %v %v", id, list, err)
		}
		return list[0].Value
	}
	if got := value(db, app.ID); got != secret {
		t.Fatalf("listed value %q, want %q", got, secret)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte(secret)) {
		t.Error("the secret is in the file in clear")
	}

	// Copied to another application's secret, the sealed value does not open.
	if err := db.update(func(tx *kv.Tx) error {
		apps := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketApps)
		var from, to appRecord
		if err := json.Unmarshal(apps.Get([]byte(app.ID)), &from); err != nil {
			return err
		}
		if err := json.Unmarshal(apps.Get([]byte(other.ID)), &to); err != nil {
			return err
		}
		to.Secrets[0].Sealed = from.Secrets[0].Sealed
		return putJSON(apps, []byte(other.ID), to)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindApplicationSecrets(ctx, DefaultTenant, other.ID); err == nil {
		t.Error("a sealed value moved to another secret opened")
	}
	if err := db.DeleteApplication(ctx, DefaultTenant, other.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = rotateMasterKeyAndOpen(t, ctx, path)
	if got := value(db, app.ID); got != secret {
		t.Fatalf("value after rotation %q, want %q", got, secret)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestCookieKeys_SealedAtRest: cookie keys are sealed to their tenant and
// id, re-sealed by a master key rotation, and a tenant from before cookie
// keys (none stored) gets its first at its first rotation.
func TestCookieKeys_SealedAtRest(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant, "acme")
	keys, err := db.CookieKeys(ctx, DefaultTenant)
	if err != nil || len(keys) != 1 || len(keys[0].Value) < 32 {
		t.Fatalf("cookie keys of a new tenant: %v %v", keys, err)
	}
	first := keys[0]
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, first.Value) {
		t.Error("a cookie key is in the file in clear")
	}

	// A tenant as an older version left it: no cookie keys.
	if err := db.update(func(tx *kv.Tx) error {
		b := tx.Bucket(bucketTenants).Bucket([]byte("acme")).Bucket(bucketCookieKeys)
		k, _ := b.Cursor().First()
		return b.Delete(k)
	}); err != nil {
		t.Fatal(err)
	}
	if keys, err := db.CookieKeys(ctx, "acme"); err != nil || len(keys) != 0 {
		t.Fatalf("cookie keys of an older tenant: %v %v", keys, err)
	}
	if keys, err := db.RotateCookieKeys(ctx, "acme"); err != nil || len(keys) != 1 {
		t.Fatalf("first rotation of an older tenant: %v %v", keys, err)
	}
	// Moved to another tenant, a sealed key does not open.
	if err := db.update(func(tx *kv.Tx) error {
		from := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketCookieKeys)
		to := tx.Bucket(bucketTenants).Bucket([]byte("acme")).Bucket(bucketCookieKeys)
		_, v := from.Cursor().First()
		return to.Put(itob(1000), bytes.Clone(v)) // newest there
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CookieKeys(ctx, "acme"); err == nil {
		t.Error("a cookie key moved to another tenant opened")
	}
	if err := db.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = rotateMasterKeyAndOpen(t, ctx, path)
	keys, err = db.CookieKeys(ctx, DefaultTenant)
	if err != nil || len(keys) != 1 || keys[0].ID != first.ID || !bytes.Equal(keys[0].Value, first.Value) {
		t.Fatalf("cookie keys after the master key rotation: %v %v", keys, err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}

// rotateMasterKeyAndOpen rotates the closed file at path from its default
// master key file to a new one, and opens it with the new key (closed when
// the test ends).
func rotateMasterKeyAndOpen(t *testing.T, ctx context.Context, path string) *DB {
	t.Helper()
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
	db, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: newPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openFileWithTenants opens a new data file, with a master key file beside
// it, holding tenants ids, for tests that close, rotate or reopen it.
func openFileWithTenants(t *testing.T, ctx context.Context, ids ...string) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	db, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: id, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	return db, path
}
