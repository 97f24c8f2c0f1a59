package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestReplayCache(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	key := func(s string) [32]byte { return sha256.Sum256([]byte(s)) }
	c := newReplayCache(2)
	if oe := c.claim(key("a"), at(10), at(0)); oe != nil {
		t.Fatal(oe)
	}
	if oe := c.claim(key("b"), at(20), at(0)); oe != nil {
		t.Fatal(oe)
	}
	if oe := c.claim(key("a"), at(10), at(5)); oe == nil || !strings.Contains(oe.Description, "already used") {
		t.Errorf("replay of a: %v", oe)
	}
	// Full of live entries: a new jti is refused, never an old one forgotten.
	if oe := c.claim(key("c"), at(30), at(5)); oe == nil || !strings.Contains(oe.Description, "too many") {
		t.Errorf("c while full: %v", oe)
	}
	// Once a expires, its place is free.
	if oe := c.claim(key("c"), at(30), at(10)); oe != nil {
		t.Errorf("c after a expired: %v", oe)
	}
	if oe := c.claim(key("b"), at(20), at(15)); oe == nil {
		t.Error("replay of b accepted")
	}
	// release forgets an entry whose request failed.
	c.release(key("b"))
	if oe := c.claim(key("b"), at(20), at(15)); oe != nil {
		t.Errorf("b after release: %v", oe)
	}
}

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

// TestReplayCache_PerTenant: a tenant whose service users fill its replay
// cache does not block another tenant's assertions.
func TestReplayCache_PerTenant(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	b := newBearerState(now)
	full := b.replay("noisy")
	for i := range replayCacheSize {
		if oe := full.claim(sha256.Sum256([]byte(strconv.Itoa(i))), now.Add(time.Hour), now); oe != nil {
			t.Fatalf("claim %d: %v", i, oe)
		}
	}
	key := sha256.Sum256([]byte("quiet"))
	if oe := b.replay("noisy").claim(key, now.Add(time.Hour), now); oe == nil {
		t.Fatal("a full cache took one more")
	}
	if oe := b.replay("quiet").claim(key, now.Add(time.Hour), now); oe != nil {
		t.Fatalf("another tenant is blocked: %v", oe)
	}
}
