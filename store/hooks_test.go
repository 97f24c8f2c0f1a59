package store

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestHooks_SigningKeySealed: a hook's signing key is not in the file in
// clear, and a master key rotation re-seals it.
func TestHooks_SigningKeySealed(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant)
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

	db = rotateMasterKeyAndOpen(t, ctx, path)
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

// FuzzValidateHookConfig: whatever a caller sends as a hook's URL and one
// header, a config accepted posts to an http or https host without
// credentials, and no header of it can split a request or replace the
// signature, the host or the length.
func FuzzValidateHookConfig(f *testing.F) {
	f.Add("https://example.com/hook", "x-tenant", "a")
	f.Add("http://127.0.0.1:9/x", "Authorization", "Bearer t")
	f.Add("https://u:p@a.example", "x", "a\r\nb: c")
	f.Add("ftp://a.example", "Logto-Signature-Sha-256", "forged")
	f.Add("https://a.example", "HOST", "evil")
	f.Add("//a.example/x", "content-length", "0")
	f.Fuzz(func(t *testing.T, rawURL, name, value string) {
		c := HookConfig{URL: rawURL, Headers: map[string]string{name: value}}
		if validateHookConfig(&c) != nil {
			return
		}
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("accepted URL %q", rawURL)
		}
		if name == "" || strings.ContainsAny(name+value, "\r\n\x00") || strings.ContainsAny(name, " :") {
			t.Fatalf("accepted header %q: %q", name, value)
		}
		switch strings.ToLower(name) {
		case "logto-signature-sha-256", "host", "content-length":
			t.Fatalf("accepted header %q", name)
		}
	})
}
