package api_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// keyFile is the answer to POST /api/users/{id}/keys {"type":"json"}.
type keyFile struct {
	Type      string `json:"type"`
	KeyID     string `json:"keyId"`
	Key       string `json:"key"`
	UserID    string `json:"userId"`
	ClientID  string `json:"clientId"`
	ExpiresAt *int64 `json:"expiresAt"`
}

// userKey is a key in GET /api/users/{id}/keys.
type userKey struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	Type      string `json:"type"`
	CreatedAt int64  `json:"createdAt"`
	ExpiresAt *int64 `json:"expiresAt"`
}

// generateKey asks the server for a key pair of alg for user userID.
func (e *env) generateKey(t testing.TB, userID, alg string) keyFile {
	t.Helper()
	var kf keyFile
	r := e.do(t, "POST", "/api/users/"+userID+"/keys", map[string]any{"type": "json", "algorithm": alg}, http.StatusCreated, &kf)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("key file: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	return kf
}

// uploadKey uploads the public half of priv for user userID.
func (e *env) uploadKey(t testing.TB, userID string, priv crypto.Signer) userKey {
	t.Helper()
	var k userKey
	e.do(t, "POST", "/api/users/"+userID+"/keys", map[string]any{"publicKey": publicPEM(t, priv.Public())}, http.StatusCreated, &k)
	return k
}

// publicPEM encodes pub as a PKIX "PUBLIC KEY" block.
func publicPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// parsePrivatePEM decodes a key file's private key.
func parsePrivatePEM(t testing.TB, text string) (string, crypto.Signer) {
	t.Helper()
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		t.Fatalf("key is not PEM: %q", text)
	}
	var key any
	var err error
	if block.Type == "RSA PRIVATE KEY" {
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	} else {
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		t.Fatalf("parse %s: %v", block.Type, err)
	}
	return block.Type, key.(crypto.Signer)
}

// must returns v, or panics on err (key generation and encoding, which
// do not fail).
func must[V any](v V, err error) V {
	if err != nil {
		panic(err)
	}
	return v
}

func TestUserKeys_CreateJSON(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "key-maker")
	for _, tc := range []struct {
		alg, pemType string
		check        func(crypto.Signer) bool
	}{
		{"RS256", "RSA PRIVATE KEY", func(k crypto.Signer) bool { r, ok := k.(*rsa.PrivateKey); return ok && r.N.BitLen() == 2048 }},
		{"ES256", "PRIVATE KEY", func(k crypto.Signer) bool { p, ok := k.(*ecdsa.PrivateKey); return ok && p.Curve == elliptic.P256() }},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			kf := e.generateKey(t, c.UserID, tc.alg)
			if kf.Type != "serviceaccount" || len(kf.KeyID) != 21 || kf.UserID != c.UserID || kf.ClientID != c.ClientID || kf.ExpiresAt != nil {
				t.Errorf("key file %+v", kf)
			}
			if typ, key := parsePrivatePEM(t, kf.Key); typ != tc.pemType || !tc.check(key) {
				t.Errorf("key: %s %T", typ, key)
			}
		})
	}
	// type json without algorithm is RS256.
	var kf keyFile
	e.do(t, "POST", "/api/users/"+c.UserID+"/keys", map[string]any{"type": "json"}, http.StatusCreated, &kf)
	if typ, _ := parsePrivatePEM(t, kf.Key); typ != "RSA PRIVATE KEY" {
		t.Errorf("default algorithm gave %s", typ)
	}
}

func TestUserKeys_Upload(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "uploader")
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name, alg string
		key       crypto.Signer
	}{
		{"RSA", "RS256", must(rsa.GenerateKey(rand.Reader, 2048))},
		{"P256", "ES256", must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))},
		{"P384", "ES384", must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))},
		{"Ed25519", "EdDSA", edKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var k userKey
			r := e.do(t, "POST", "/api/users/"+c.UserID+"/keys", map[string]any{"publicKey": publicPEM(t, tc.key.Public())}, http.StatusCreated, &k)
			if k.Algorithm != tc.alg || k.Type != "uploaded" || len(k.KeyID) != 21 || k.CreatedAt == 0 || k.ExpiresAt != nil {
				t.Errorf("uploaded %+v", k)
			}
			if strings.Contains(string(r.Body), "BEGIN") || strings.Contains(string(r.Body), `"key"`) {
				t.Errorf("upload answer has key material: %s", r.Body)
			}
		})
	}
}

func TestUserKeys_CreateErrors(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, apitest.Options{Now: func() time.Time { return now }})
	c := e.createAPIClient(t, "picky")
	plain := e.createUser(t, map[string]any{"username": "human"})
	small := must(rsa.GenerateKey(rand.Reader, 1024))
	p521 := must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader))
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ecDER := must(x509.MarshalPKCS8PrivateKey(ec))
	privatePEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	good := publicPEM(t, ec.Public())
	path := "/api/users/" + c.UserID + "/keys"
	e.expectErrors(t, "POST", []errorCase{
		{"bad PEM", path, map[string]any{"publicKey": "not a key"}, 400, "guard.invalid_input"},
		{"garbage in PEM", path, map[string]any{"publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, 400, "guard.invalid_input"},
		{"RSA 1024", path, map[string]any{"publicKey": publicPEM(t, small.Public())}, 400, "guard.invalid_input"},
		{"P-521", path, map[string]any{"publicKey": publicPEM(t, p521.Public())}, 400, "guard.invalid_input"},
		{"private key as publicKey", path, map[string]any{"publicKey": privatePEM}, 400, "guard.invalid_input"},
		{"two PEM blocks", path, map[string]any{"publicKey": good + good}, 400, "guard.invalid_input"},
		{"empty publicKey", path, map[string]any{"publicKey": ""}, 400, "guard.invalid_input"},
		{"type and publicKey", path, map[string]any{"type": "json", "publicKey": good}, 400, "guard.invalid_input"},
		{"neither", path, map[string]any{}, 400, "guard.invalid_input"},
		{"type not json", path, map[string]any{"type": "p12"}, 400, "guard.invalid_input"},
		{"algorithm HS256", path, map[string]any{"type": "json", "algorithm": "HS256"}, 400, "guard.invalid_input"},
		{"algorithm with publicKey", path, map[string]any{"publicKey": good, "algorithm": "ES256"}, 400, "guard.invalid_input"},
		{"past expiresAt", path, map[string]any{"type": "json", "algorithm": "ES256", "expiresAt": now.UnixMilli()}, 400, "guard.invalid_input"},
		{"expiresAt not a number", path, map[string]any{"type": "json", "expiresAt": "tomorrow"}, 400, "guard.invalid_input"},
		{"not a service user", "/api/users/" + plain.ID + "/keys", map[string]any{"publicKey": good}, 422, "user.not_service_account"},
		{"unknown user", "/api/users/nosuchuser1/keys", map[string]any{"publicKey": good}, 404, "entity.not_found"},
	})
	r := call(t, "POST", e.URL+path, e.token, map[string]any{"publicKey": privatePEM})
	if !strings.Contains(string(r.Body), "private key") {
		t.Errorf("private key upload: message %s", r.Body)
	}
	var keys []userKey
	e.do(t, "GET", path, nil, http.StatusOK, &keys)
	if len(keys) != 0 {
		t.Errorf("refused creates left keys: %+v", keys)
	}

	// A future expiresAt is kept; the eleventh key is refused.
	exp := now.Add(time.Hour).UnixMilli()
	var k userKey
	e.do(t, "POST", path, map[string]any{"publicKey": good, "expiresAt": exp}, http.StatusCreated, &k)
	if k.ExpiresAt == nil || *k.ExpiresAt != exp {
		t.Errorf("expiresAt %v, want %d", k.ExpiresAt, exp)
	}
	for range 9 {
		e.generateKey(t, c.UserID, "ES256")
	}
	e.fail(t, "POST", path, map[string]any{"type": "json", "algorithm": "ES256"}, 422, "user.too_many_keys")
	e.fail(t, "POST", path, map[string]any{"publicKey": good}, 422, "user.too_many_keys")
}

func TestUserKeys_ListAndDelete(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, apitest.Options{Now: func() time.Time { return now }})
	c := e.createAPIClient(t, "lister")
	first := e.generateKey(t, c.UserID, "ES256")
	now = now.Add(time.Second)
	ed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	second := e.uploadKey(t, c.UserID, ed)
	now = now.Add(time.Second)
	third := e.generateKey(t, c.UserID, "RS256")

	var keys []userKey
	r := e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 3 || keys[0].KeyID != first.KeyID || keys[1].KeyID != second.KeyID || keys[2].KeyID != third.KeyID {
		t.Fatalf("list %+v, want creation order", keys)
	}
	if keys[0].Algorithm != "ES256" || keys[0].Type != "generated" || keys[1].Algorithm != "EdDSA" || keys[1].Type != "uploaded" ||
		keys[2].Algorithm != "RS256" || keys[0].CreatedAt != keys[1].CreatedAt-1000 {
		t.Errorf("list %+v", keys)
	}
	body := string(r.Body)
	pubB64 := strings.Split(publicPEM(t, ed.Public()), "\n")[1]
	if strings.Contains(body, "BEGIN") || strings.Contains(body, `"key"`) || strings.Contains(body, pubB64) {
		t.Errorf("the list shows key material: %s", body)
	}

	e.do(t, "DELETE", "/api/users/"+c.UserID+"/keys/"+second.KeyID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", "/api/users/"+c.UserID+"/keys/"+second.KeyID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/users/"+c.UserID+"/keys/nosuchkey", nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/users/nosuchuser1/keys/"+first.KeyID, nil, 404, "entity.not_found")
	e.fail(t, "GET", "/api/users/nosuchuser1/keys", nil, 404, "entity.not_found")
	e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 2 || keys[0].KeyID != first.KeyID || keys[1].KeyID != third.KeyID {
		t.Errorf("after delete %+v", keys)
	}

	// A user that is not a service account has no keys.
	plain := e.createUser(t, map[string]any{"username": "human"})
	e.do(t, "GET", "/api/users/"+plain.ID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 0 {
		t.Errorf("plain user keys %+v", keys)
	}

	// Both writes are audited.
	entries, _ := e.logs(t, "userId="+c.UserID)
	var got []string
	for _, l := range entries {
		if strings.HasPrefix(l.Key, "Management.User.Key.") {
			got = append(got, l.Key)
		}
	}
	if join(got...) != "Management.User.Key.Delete,Management.User.Key.Create,Management.User.Key.Create,Management.User.Key.Create" {
		t.Errorf("audit keys %v", got)
	}
}

func TestUserKeys_GoneWithAPIClient(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "short-lived")
	e.generateKey(t, c.UserID, "ES256")
	e.generateKey(t, c.UserID, "ES256")
	other := e.createAPIClient(t, "stays")
	kept := e.generateKey(t, other.UserID, "ES256")
	e.do(t, "DELETE", "/api/api-clients/"+c.ClientID, nil, http.StatusNoContent, nil)
	e.fail(t, "GET", "/api/users/"+c.UserID+"/keys", nil, 404, "entity.not_found")
	var keys []userKey
	e.do(t, "GET", "/api/users/"+other.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 1 || keys[0].KeyID != kept.KeyID {
		t.Errorf("other client's keys %+v", keys)
	}
	// apitest's integrity check at the end finds no key without its user.
}

func TestUserKeys_TenantIsolation(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "isolated")
	kf := e.generateKey(t, c.UserID, "ES256")
	other := e.inTenant(t, "acme")
	other.fail(t, "GET", "/api/users/"+c.UserID+"/keys", nil, 404, "entity.not_found")
	other.fail(t, "POST", "/api/users/"+c.UserID+"/keys", map[string]any{"type": "json", "algorithm": "ES256"}, 404, "entity.not_found")
	other.fail(t, "DELETE", "/api/users/"+c.UserID+"/keys/"+kf.KeyID, nil, 404, "entity.not_found")
	var keys []userKey
	e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 1 {
		t.Errorf("keys after other tenant's attempts %+v", keys)
	}
}
