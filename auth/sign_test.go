package auth

import (
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestTokenSigner: for every signing algorithm, go-jose verifies what
// tokenSigner writes with the key's public half, and reads the header and
// the claims back; a key of another algorithm cannot be used.
func TestTokenSigner(t *testing.T) {
	for alg, joseAlg := range signingAlgs {
		t.Run(alg, func(t *testing.T) {
			stored, err := GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			var jwk jose.JSONWebKey
			if err := jwk.UnmarshalJSON(stored.Private); err != nil {
				t.Fatal(err)
			}
			s, err := newTokenSigner(joseAlg, stored.ID, jwk.Key)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Unix(1_800_000_000, 0)
			c := accessClaims{Claims: jwt.Claims{Issuer: "https://idbolt.test/oidc", Subject: "app", Audience: jwt.Audience{"https://api"},
				IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)), ID: "j"},
				ClientID: "app", Scope: `all "quoted" <&>`}
			for range 3 { // ECDSA signatures differ each time
				token, err := s.signAccessToken(&c)
				if err != nil {
					t.Fatal(err)
				}
				parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{joseAlg})
				if err != nil {
					t.Fatalf("parse %q: %v", token, err)
				}
				h := parsed.Headers[0]
				if h.KeyID != stored.ID || h.Algorithm != alg || h.ExtraHeaders["typ"] != "at+jwt" {
					t.Errorf("header %+v", h)
				}
				var got accessClaims
				if err := parsed.Claims(jwk.Public().Key, &got); err != nil {
					t.Fatalf("verify: %v", err)
				}
				if got.Subject != "app" || got.Scope != c.Scope || got.Expiry.Time() != now.Add(time.Hour) {
					t.Errorf("claims %+v", got)
				}
				if strings.Count(token, ".") != 2 || strings.ContainsAny(token, "=+/") {
					t.Errorf("not compact base64url: %q", token)
				}
			}
			for other, otherAlg := range signingAlgs {
				if other != alg {
					if _, err := newTokenSigner(otherAlg, stored.ID, jwk.Key); err == nil {
						t.Errorf("a %s key signs %s", alg, other)
					}
				}
			}
		})
	}
}
