package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idbolt/idbolt/store"
)

func FuzzParseAssertion(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	now := time.Now()
	valid, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "u", Subject: "u", Audience: jwt.Audience{"a"},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).Serialize()
	f.Add(valid)
	f.Add(valid[:len(valid)-5])
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ1Iiwic3ViIjoidSJ9.")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJ1Iiwic3ViIjoidSJ9.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Add(strings.Repeat("A", maxAssertion+1))
	f.Fuzz(func(t *testing.T, assertion string) {
		tok, c, oe := parseAssertion(assertion)
		if oe != nil {
			if tok != nil || c != nil || (oe.Type != "invalid_grant" && oe.Type != "invalid_request") || oe.Status != 400 {
				t.Fatalf("malformed refusal %+v", oe)
			}
			return
		}
		if len(assertion) > maxAssertion || len(tok.Headers) != 1 || c.Issuer == "" || c.Subject == "" {
			t.Fatalf("accepted %q", assertion)
		}
		if !slices.Contains(assertionAlgs, jose.SignatureAlgorithm(tok.Headers[0].Algorithm)) {
			t.Fatalf("accepted algorithm %q", tok.Headers[0].Algorithm)
		}
	})
}

// TestVerifyAssertion_Reasons: every refusal before a verified signature
// has an unverified reason (so the client sees one public description); a
// signature made by an expired key is refused with the specific reason.
func TestVerifyAssertion_Reasons(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	past := now.Add(-time.Minute).UnixMilli()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	liveKey, expiredKey, otherKey := newKey(), newKey(), newKey()
	keys := []store.ServiceAccountKey{
		{ID: "live", Algorithm: "ES256", Public: liveKey.Public()},
		{ID: "old", Algorithm: "ES256", Public: expiredKey.Public(), ExpiresAt: &past},
	}
	sign := func(key *ecdsa.PrivateKey, kid string) *jwt.JSONWebToken {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(s).Claims(jwt.Claims{Issuer: "u", Subject: "u"}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		tok, _, oe := parseAssertion(raw)
		if oe != nil {
			t.Fatal(oe)
		}
		return tok
	}
	b := newBearerState()
	for _, tc := range []struct {
		name       string
		tok        *jwt.JSONWebToken
		keys       []store.ServiceAccountKey
		wantDesc   string // "" means accepted
		wantReason string
	}{
		{"Kid", sign(liveKey, "live"), keys, "", ""},
		{"NoKid", sign(liveKey, ""), keys, "", ""},
		{"UnknownKid", sign(liveKey, "nosuchkey"), keys, "unknown key", unverifiedKey},
		{"WrongKey", sign(otherKey, "live"), keys, "assertion signature is invalid", unverifiedBadSignature},
		{"NoKidWrongKey", sign(otherKey, ""), keys, "no key of the service user verifies", unverifiedBadSignature},
		{"AlgDoesNotFit", sign(liveKey, "rsa"), []store.ServiceAccountKey{{ID: "rsa", Algorithm: "RS256", Public: otherKey.Public()}},
			"does not fit the key", unverifiedAlgorithm},
		{"NoKidNoKeyFits", sign(liveKey, ""), []store.ServiceAccountKey{{ID: "rsa", Algorithm: "RS256", Public: otherKey.Public()}},
			"fits algorithm ES256", unverifiedAlgorithm},
		{"NoKeys", sign(liveKey, ""), nil, "fits algorithm ES256", unverifiedAlgorithm},
		{"ExpiredKey", sign(expiredKey, "old"), keys, "key is expired", ""},
		{"NoKidExpiredKey", sign(expiredKey, ""), keys, "key is expired", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			oe, reason := b.verifyAssertion(tc.tok, tc.keys, now)
			if tc.wantDesc == "" {
				if oe != nil {
					t.Fatalf("refused: %v", oe)
				}
				return
			}
			if oe == nil || !strings.Contains(oe.Description, tc.wantDesc) || reason != tc.wantReason {
				t.Errorf("got %v (reason %q), want %q (reason %q)", oe, reason, tc.wantDesc, tc.wantReason)
			}
		})
	}
}
