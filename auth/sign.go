package auth

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha256" // the hashes of ES256 and RS256
	_ "crypto/sha512" // the hash of ES384
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// tokenSigner writes compact JWS (RFC 7515) with a tenant's current key. It
// is what jose.Signer does for one fixed header, minus the work that is the
// same for every token: go-jose marshals the protected header from a map on
// each call, which cost about a twentieth of a token's CPU. The signature
// itself comes from the standard library, in the form RFC 7518 §3 gives
// each algorithm; tokens are verified with go-jose (TestTokenSigner).
type tokenSigner struct {
	header string // the encoded protected header and the dot after it
	sign   func(input []byte) ([]byte, error)
	sigLen int // bytes of a signature
}

// newTokenSigner returns a signer of access tokens ("typ":"at+jwt", RFC
// 9068) for key, whose JWK says alg and kid.
func newTokenSigner(alg jose.SignatureAlgorithm, kid string, key any) (*tokenSigner, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, "at+jwt"})
	if err != nil {
		return nil, err
	}
	s := &tokenSigner{header: base64.RawURLEncoding.EncodeToString(header) + "."}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		hash, size := crypto.SHA256, 32
		if alg == jose.ES384 {
			hash, size = crypto.SHA384, 48
		}
		if alg != jose.ES256 && alg != jose.ES384 || k.Curve.Params().BitSize != 8*size {
			return nil, fmt.Errorf("an EC key of %d bits cannot sign %s", k.Curve.Params().BitSize, alg)
		}
		s.sigLen = 2 * size
		s.sign = func(input []byte) ([]byte, error) {
			h := hash.New()
			h.Write(input)
			der, err := ecdsa.SignASN1(rand.Reader, k, h.Sum(nil))
			if err != nil {
				return nil, err
			}
			return rawECDSASignature(der, size)
		}
	case *rsa.PrivateKey:
		if alg != jose.RS256 {
			return nil, fmt.Errorf("an RSA key cannot sign %s", alg)
		}
		s.sigLen = k.Size()
		s.sign = func(input []byte) ([]byte, error) {
			h := crypto.SHA256.New()
			h.Write(input)
			return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h.Sum(nil))
		}
	case ed25519.PrivateKey:
		if alg != jose.EdDSA {
			return nil, fmt.Errorf("an Ed25519 key cannot sign %s", alg)
		}
		s.sigLen = ed25519.SignatureSize
		s.sign = func(input []byte) ([]byte, error) { return ed25519.Sign(k, input), nil }
	default:
		return nil, fmt.Errorf("cannot sign with a key of type %T", key)
	}
	return s, nil
}

// signAccessToken returns the compact JWS of c. It signs the claims' JSON
// as it is (claims_json.go): jwt.Signed(...).Claims(c) would turn them
// into a map and back first.
func (s *tokenSigner) signAccessToken(c *accessClaims) (string, error) {
	payload := c.appendJSON(make([]byte, 0, 512))
	enc := base64.RawURLEncoding
	input := make([]byte, len(s.header), len(s.header)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(s.sigLen))
	copy(input, s.header)
	input = enc.AppendEncode(input, payload)
	sig, err := s.sign(input)
	if err != nil {
		return "", err
	}
	return string(enc.AppendEncode(append(input, '.'), sig)), nil
}

// rawECDSASignature turns an ASN.1 ECDSA signature into JWS's R || S, each
// left-padded to size bytes (RFC 7518 §3.4). ecdsa.Sign does the same
// through two big.Int values.
func rawECDSASignature(der []byte, size int) ([]byte, error) {
	var seq, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&seq, asn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() {
		return nil, errors.New("malformed ECDSA signature")
	}
	sig := make([]byte, 2*size)
	for i, v := range [][]byte{r, s} {
		v = bytes.TrimLeft(v, "\x00") // DER's sign byte; the values are positive
		if len(v) > size {
			return nil, errors.New("ECDSA signature value too long")
		}
		copy(sig[(i+1)*size-len(v):], v)
	}
	return sig, nil
}
