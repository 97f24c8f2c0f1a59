package auth

import (
	"bytes"
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
			n := 3
			if alg[:2] == "ES" {
				n = 300 // some R or S is shorter than the curve's size: padding
			}
			for range n { // ECDSA signatures differ each time
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

// TestRawECDSASignature: short values are left-padded, DER's sign byte is
// dropped, and anything but a sequence of two fitting integers is refused.
func TestRawECDSASignature(t *testing.T) {
	der := func(r, s []byte) []byte {
		body := append(append([]byte{0x02, byte(len(r))}, r...), append([]byte{0x02, byte(len(s))}, s...)...)
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	full := append([]byte{0x00, 0x80}, bytes.Repeat([]byte{1}, 31)...) // 33 bytes: sign byte, then 32
	got, err := rawECDSASignature(der([]byte{0x01}, full), 32)
	want := append(append(make([]byte, 31), 1), full[1:]...)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("got %x %v, want %x", got, err, want)
	}
	for name, bad := range map[string][]byte{
		"empty":      nil,
		"too long":   der(bytes.Repeat([]byte{1}, 33), []byte{1}),
		"trailing":   append(der([]byte{1}, []byte{1}), 0),
		"one value":  {0x30, 0x03, 0x02, 0x01, 0x01},
		"not a seq":  {0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01},
		"three ints": {0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01},
	} {
		if _, err := rawECDSASignature(bad, 32); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
