package store

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"testing"
)

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func FuzzParsePublicKey(f *testing.F) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, pub := range []any{rsaKey.Public(), ecKey.Public(), edPub} {
		der, _ := x509.MarshalPKIXPublicKey(pub)
		f.Add(pemOf("PUBLIC KEY", der))
		f.Add(pemOf("PUBLIC KEY", der[:len(der)/2]))
	}
	priv, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	f.Add(pemOf("PRIVATE KEY", priv))
	f.Add(pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)))
	f.Add("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	f.Add("not a key")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		pub, alg, der, err := parsePublicKey(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || e.Field != "publicKey" {
				t.Fatalf("error %v is not EINVALID naming publicKey", err)
			}
			return
		}
		if !slices.Contains([]string{"RS256", "ES256", "ES384", "EdDSA"}, alg) {
			t.Fatalf("algorithm %q", alg)
		}
		again, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatalf("stored DER does not parse: %v", err)
		}
		if a, err := publicKeyAlg(again); err != nil || a != alg {
			t.Fatalf("stored key verifies %q (%v), parsed %q", a, err, alg)
		}
		if k, ok := pub.(*rsa.PublicKey); ok && (k.N.BitLen() < minRSABits || k.N.BitLen() > maxRSABits) {
			t.Fatalf("accepted RSA key of %d bits", k.N.BitLen())
		}
	})
}
