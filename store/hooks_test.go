package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestHooks_SigningKeySealed: a hook's signing key is not in the file in
// clear, and a master key rotation re-seals it.
func TestHooks_SigningKeySealed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	db, err := Open(ctx, path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	h, err := db.CreateHook(ctx, DefaultTenant, HookCreate{Name: "h", Events: []string{HookUserCreated},
		Config: HookConfig{URL: "https://example.com/hook"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte(h.SigningKey)) {
		t.Fatal("the file holds the hook's signing key in clear")
	}

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
	got, err := db.FindHookByID(ctx, DefaultTenant, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.SigningKey != h.SigningKey {
		t.Errorf("signing key after rotation %q, want %q", got.SigningKey, h.SigningKey)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}
