package store

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/idbolt/idbolt/store/kv"
)

// TestJWTCustomizers_Sealed: a customizer's environment variables are
// sealed, bound to their tenant and token type (a record copied elsewhere
// does not open), and survive a master key rotation; a write moves the
// token path's cached answer at once.
func TestJWTCustomizers_Sealed(t *testing.T) {
	ctx := context.Background()
	db, path := openFileWithTenants(t, ctx, DefaultTenant, "acme")
	const secret = "sealed-env-5b1e9c0d7a"
	c := &JWTCustomizer{TokenType: JWTClientCredentials, Script: "const getCustomJwtClaims = () => ({});",
		EnvironmentVariables: map[string]string{"KEY": secret}}
	if created, err := db.PutJWTCustomizer(ctx, DefaultTenant, c); err != nil || !created {
		t.Fatalf("put: %v %v", created, err)
	}
	if got, err := db.JWTCustomizerForToken(ctx, DefaultTenant, JWTClientCredentials); err != nil || got.EnvironmentVariables["KEY"] != secret {
		t.Fatalf("for token: %+v %v", got, err)
	}
	if got, err := db.JWTCustomizerForToken(ctx, "acme", JWTClientCredentials); err != nil || got != nil {
		t.Fatalf("another tenant's: %+v %v", got, err)
	}
	newScript := "const getCustomJwtClaims = () => ({ v: 2 });"
	if _, err := db.UpdateJWTCustomizer(ctx, DefaultTenant, JWTClientCredentials, JWTCustomizerUpdate{Script: &newScript}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := db.JWTCustomizerForToken(ctx, DefaultTenant, JWTClientCredentials); err != nil || got.Script != newScript || got.EnvironmentVariables["KEY"] != secret {
		t.Fatalf("after the update: %+v %v", got, err)
	}

	// The same record under another tenant, or another token type, does not open.
	if err := db.update(func(tx *kv.Tx) error {
		v := bytes.Clone(tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketJWTCustomizers).Get([]byte(JWTClientCredentials)))
		if err := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketJWTCustomizers).Put([]byte(JWTAccessToken), v); err != nil {
			return err
		}
		return tx.Bucket(bucketTenants).Bucket([]byte("acme")).Bucket(bucketJWTCustomizers).Put([]byte(JWTClientCredentials), v)
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tenant, tokenType string }{{"acme", JWTClientCredentials}, {DefaultTenant, JWTAccessToken}} {
		if _, err := db.FindJWTCustomizer(ctx, tc.tenant, tc.tokenType); err == nil || ErrorCode(err) != EINTERNAL {
			t.Errorf("a record moved to %s/%s opened: %v", tc.tenant, tc.tokenType, err)
		}
	}
	for _, tc := range []struct{ tenant, tokenType string }{{"acme", JWTClientCredentials}, {DefaultTenant, JWTAccessToken}} {
		if err := db.DeleteJWTCustomizer(ctx, tc.tenant, tc.tokenType); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	db = rotateMasterKeyAndOpen(t, ctx, path)
	if got, err := db.FindJWTCustomizer(ctx, DefaultTenant, JWTClientCredentials); err != nil || got.EnvironmentVariables["KEY"] != secret {
		t.Fatalf("after the master key rotation: %+v %v", got, err)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte(secret)) {
		t.Error("a variable is in the file in clear")
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
}
