package auth

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idbolt/idbolt/store"
)

// testAuth opens a temp store with tenant default and returns an Auth whose
// clock the test controls.
func testAuth(t *testing.T, alg string) (*Auth, *store.DB, *time.Time, store.TenantCredentials) {
	t.Helper()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"), store.Options{NoSync: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key, err := GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	// No instance administrator: DeletedClient deletes the admin app, which
	// is refused for the last instance administrator.
	creds, err := db.Bootstrap(context.Background(), store.NewTenant{ID: "default", SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{Store: db, BaseURL: "http://idbolt.test", Alg: alg, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return a, db, &now, *creds
}

func bearer(token string) *http.Request {
	r, _ := http.NewRequest("GET", "http://idbolt.test/api/users", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

const mgmt = "https://default.logto.app/api"

func TestAuth_RoundTrip(t *testing.T) {
	for _, alg := range []string{"ES256", "ES384", "RS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			a, _, _, creds := testAuth(t, alg)
			ctx := context.Background()
			token, err := a.mint(ctx, "default", mintRequest{subject: creds.ClientID, clientID: creds.ClientID, audience: mgmt, scope: "all", ttl: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			// Verify with go-jose directly, with only this algorithm allowed.
			ks, err := a.keyset(ctx, "default")
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			var c jwt.Claims
			if err := parsed.Claims(ks.public[ks.kid].Key, &c); err != nil {
				t.Fatalf("signature: %v", err)
			}
			p, err := a.Authenticate(ctx, bearer(token), "default", mgmt)
			if err != nil {
				t.Fatal(err)
			}
			if p.ClientID != creds.ClientID || !p.HasScope("all") {
				t.Errorf("principal %+v", p)
			}
		})
	}
}

// forge signs arbitrary claims and headers with tenant default's key.
func forge(t *testing.T, a *Auth, claims map[string]any, typ string) string {
	t.Helper()
	ks, err := a.keyset(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := a.store.SigningKeys(context.Background(), "default")
	var jwk jose.JSONWebKey
	jwk.UnmarshalJSON(stored[0].Private)
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(jwk.Algorithm), Key: jwk}, opts)
	if err != nil {
		t.Fatal(err)
	}
	_ = ks
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAuth_RejectsBadTokens(t *testing.T) {
	a, db, now, creds := testAuth(t, "ES256")
	ctx := context.Background()
	valid := func() map[string]any {
		return map[string]any{"iss": "http://idbolt.test/oidc", "sub": creds.ClientID, "client_id": creds.ClientID,
			"aud": mgmt, "scope": "all", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j1"}
	}
	with := func(k string, v any) map[string]any {
		c := valid()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := forge(t, a, valid(), "at+jwt")
	if _, err := a.Authenticate(ctx, bearer(good), "default", mgmt); err != nil {
		t.Fatalf("forged-but-valid control token rejected: %v", err)
	}

	// alg "none": header {"alg":"none"} with an empty signature.
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(valid())
	none := enc.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + enc.EncodeToString(payload) + "."

	// HS256 keyed with the public key, the classic algorithm confusion attack.
	ks, _ := a.keyset(ctx, "default")
	pubJSON, _ := ks.public[ks.kid].MarshalJSON()
	hsSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubJSON},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", ks.kid))
	hs, _ := jwt.Signed(hsSigner).Claims(valid()).Serialize()

	// A valid ES256 token signed by a key that is not the tenant's.
	otherKey, _ := GenerateKey("ES256")
	var otherJWK jose.JSONWebKey
	otherJWK.UnmarshalJSON(otherKey.Private)
	otherJWK.KeyID = ks.kid // claims to be the tenant's key
	otherSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: otherJWK.Key.(*ecdsa.PrivateKey)},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", ks.kid))
	foreign, _ := jwt.Signed(otherSigner).Claims(valid()).Serialize()

	tampered := good[:len(good)-4] + "AAAA"
	parts := strings.Split(good, ".")
	swapped := parts[0] + "." + enc.EncodeToString([]byte(strings.Replace(string(payload), `"scope":"all"`, `"scope":"all admin"`, 1))) + "." + parts[2]

	tests := []struct {
		name  string
		token string
	}{
		{"AlgNone", none},
		{"HS256WithPublicKey", hs},
		{"ForeignKeySameKid", foreign},
		{"TamperedSignature", tampered},
		{"TamperedPayload", swapped},
		{"NoTyp", forge(t, a, valid(), "")},
		{"WrongTyp", forge(t, a, valid(), "JWT")},
		{"WrongIssuer", forge(t, a, with("iss", "http://evil.test/oidc"), "at+jwt")},
		{"WrongAudience", forge(t, a, with("aud", "https://other.logto.app/api"), "at+jwt")},
		{"Expired", forge(t, a, with("exp", now.Add(-time.Second).Unix()), "at+jwt")},
		{"NoExp", forge(t, a, with("exp", nil), "at+jwt")},
		{"NoIat", forge(t, a, with("iat", nil), "at+jwt")},
		{"NoSub", forge(t, a, with("sub", nil), "at+jwt")},
		{"NoJti", forge(t, a, with("jti", nil), "at+jwt")},
		{"NoClientID", forge(t, a, with("client_id", nil), "at+jwt")},
		{"NotYetValid", forge(t, a, with("nbf", now.Add(time.Hour).Unix()), "at+jwt")},
		{"UnknownClient", forge(t, a, with("client_id", "ghost"), "at+jwt")},
		{"Garbage", "not.a.jwt"},
		{"Empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Authenticate(ctx, bearer(tt.token), "default", mgmt)
			if store.ErrorCode(err) != store.EUNAUTHORIZED {
				t.Fatalf("got %v, want EUNAUTHORIZED", err)
			}
		})
	}

	t.Run("MissingHeader", func(t *testing.T) {
		r, _ := http.NewRequest("GET", "http://idbolt.test/api/users", nil)
		_, err := a.Authenticate(ctx, r, "default", mgmt)
		var se *store.Error
		if !asStoreError(err, &se) || se.Detail != "auth.authorization_header_missing" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("CachedTokenExpires", func(t *testing.T) {
		tok := forge(t, a, with("exp", now.Add(time.Minute).Unix()), "at+jwt")
		if _, err := a.Authenticate(ctx, bearer(tok), "default", mgmt); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(2 * time.Minute)
		defer func() { *now = now.Add(-2 * time.Minute) }()
		if _, err := a.Authenticate(ctx, bearer(tok), "default", mgmt); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Fatalf("expired cached token: %v", err)
		}
	})
	t.Run("CachedTokenOtherAudience", func(t *testing.T) {
		if _, err := a.Authenticate(ctx, bearer(good), "default", mgmt); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, bearer(good), "default", store.SystemIndicator); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Fatalf("cached token accepted for another audience: %v", err)
		}
	})
	t.Run("DeletedClient", func(t *testing.T) {
		tok := forge(t, a, valid(), "at+jwt")
		if _, err := a.Authenticate(ctx, bearer(tok), "default", mgmt); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteApplication(ctx, "default", creds.ClientID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, bearer(tok), "default", mgmt); store.ErrorCode(err) != store.EUNAUTHORIZED {
			t.Fatalf("token of a deleted client accepted: %v", err)
		}
	})
}

func asStoreError(err error, target **store.Error) bool {
	se, ok := err.(*store.Error)
	*target = se
	return ok
}

func TestTokenCache_Bounded(t *testing.T) {
	c := newTokenCache(16)
	now := time.Now()
	for i := range 100 {
		var sum [32]byte
		sum[0], sum[1] = byte(i), byte(i>>8)
		c.put(sum, &Principal{Tenant: "t", ExpiresAt: now.Add(time.Hour)}, now)
	}
	if n := c.len(); n > 16 {
		t.Fatalf("cache holds %d entries, bound is 16", n)
	}
	c.forgetTenant("t")
	if n := c.len(); n != 0 {
		t.Fatalf("after forgetTenant: %d entries", n)
	}
}

// TestTokenCache_InUseStays: a token read between puts stays cached however
// many tokens are minted after it, one never read again is dropped, and an
// expired one is not returned.
func TestTokenCache_InUseStays(t *testing.T) {
	c := newTokenCache(16)
	now := time.Now()
	key := func(i int) (sum [32]byte) {
		sum[0], sum[1] = byte(i), byte(i>>8)
		return sum
	}
	c.put(key(0), &Principal{Tenant: "t", ExpiresAt: now.Add(time.Hour)}, now)
	c.put(key(1), &Principal{Tenant: "t", ExpiresAt: now.Add(time.Hour)}, now)
	c.put(key(2), &Principal{Tenant: "t", ExpiresAt: now.Add(time.Second)}, now)
	for i := 3; i < 100; i++ {
		c.put(key(i), &Principal{Tenant: "t", ExpiresAt: now.Add(time.Hour)}, now)
		if _, ok := c.get(key(0), "t", "", now); !ok {
			t.Fatalf("token in use dropped after %d puts", i)
		}
		if n := c.len(); n > 16 {
			t.Fatalf("cache holds %d entries, bound is 16", n)
		}
	}
	if _, ok := c.get(key(1), "t", "", now); ok {
		t.Error("a token never read again is still cached after 97 others")
	}
	if _, ok := c.get(key(99), "u", "", now); ok {
		t.Error("a token of tenant t is returned for tenant u")
	}
	c.put(key(2), &Principal{Tenant: "t", ExpiresAt: now.Add(time.Second)}, now)
	if _, ok := c.get(key(2), "t", "", now.Add(time.Second)); ok {
		t.Error("an expired token is returned")
	}
}
