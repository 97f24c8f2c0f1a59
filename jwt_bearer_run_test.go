package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestRun_JWTBearerJTIAcrossRestart: an assertion with a jti signed before
// the server even started (iat counts whole seconds, so a client that
// starts with the server signs such ones) gets a token, and the same
// assertion is refused as a replay after a restart on the same file.
func TestRun_JWTBearerJTIAcrossRestart(t *testing.T) {
	key := newAssertionKey(t)
	assertion := signAssertion(t, key, "once")
	path := filepath.Join(t.TempDir(), "idbolt.db")
	env := map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret}

	s := startRun(t, path, env)
	admin := token(t, s.url, testClientID, testSecret)
	uploadAssertionKey(t, s.url, admin, "bot", key)
	if st, body := bearerToken(t, s.url, assertion); st != http.StatusOK {
		t.Fatalf("assertion signed before the start: %d %s", st, body)
	}
	s.stop(t)

	s = startRun(t, path, env)
	if st, body := bearerToken(t, s.url, assertion); st != http.StatusBadRequest || !strings.Contains(body, "jti was already used") {
		t.Fatalf("replay after a restart: %d %s", st, body)
	}
}

// newAssertionKey returns a new key for signing assertions.
func newAssertionKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// signAssertion returns an assertion of API client "bot" for the default
// tenant with jti, signed with key now (iat counts whole seconds, so it may
// be up to a second older than the server's clock) and valid for an hour.
// iss and sub name the API client by its id; without kid, each of its keys
// is tried.
func signAssertion(t testing.TB, key *ecdsa.PrivateKey, jti string) string {
	t.Helper()
	return signAssertionOf(t, key, "bot", jti)
}

// signAssertionOf is signAssertion for API client id.
func signAssertionOf(t testing.TB, key *ecdsa.PrivateKey, id, jti string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	assertion, err := jwt.Signed(signer).Claims(map[string]any{"iss": id, "sub": id,
		"aud": "http://idbolt.test/oidc", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": jti}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return assertion
}

// uploadAssertionKey creates API client id through base and gives its
// service user key's public half.
func uploadAssertionKey(t testing.TB, base, admin, id string, key *ecdsa.PrivateKey) {
	t.Helper()
	if st, body := do(t, "POST", base+"/api/api-clients", admin, `{"clientId":"`+id+`"}`); st != http.StatusCreated {
		t.Fatalf("create API client: %d %s", st, body)
	}
	_, body := do(t, "GET", base+"/api/api-clients/"+id, admin, "")
	var client struct {
		UserID string `json:"userId"`
	}
	if err := json.Unmarshal([]byte(body), &client); err != nil || client.UserID == "" {
		t.Fatalf("API client: %s", body)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	upload, _ := json.Marshal(map[string]string{"publicKey": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	if st, body := do(t, "POST", base+"/api/users/"+client.UserID+"/keys", admin, string(upload)); st != http.StatusCreated {
		t.Fatalf("upload key: %d %s", st, body)
	}
}

// bearerToken asks for a Management API token with a JWT bearer assertion.
// A request that gets no answer fails the test and returns status 0; it
// may be called from any goroutine.
func bearerToken(t *testing.T, base, assertion string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion},
		"resource": {"https://default.logto.app/api"}}
	resp, err := http.PostForm(base+"/oidc/token", form)
	if err != nil {
		t.Errorf("token request to %s: %v", base, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
