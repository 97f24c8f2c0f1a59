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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// iss and sub name the API client by its id; without kid, each of its
	// keys is tried.
	assertion, err := jwt.Signed(signer).Claims(map[string]any{"iss": "bot", "sub": "bot",
		"aud": "http://idbolt.test/oidc", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "once"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idbolt.db")
	env := map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret}

	s := startRun(t, path, env)
	admin := token(t, s.url, testClientID, testSecret)
	if st, body := do(t, "POST", s.url+"/api/api-clients", admin, `{"clientId":"bot"}`); st != http.StatusCreated {
		t.Fatalf("create API client: %d %s", st, body)
	}
	_, body := do(t, "GET", s.url+"/api/api-clients/bot", admin, "")
	var bot struct {
		UserID string `json:"userId"`
	}
	if err := json.Unmarshal([]byte(body), &bot); err != nil || bot.UserID == "" {
		t.Fatalf("API client: %s", body)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	upload, _ := json.Marshal(map[string]string{"publicKey": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))})
	if st, body := do(t, "POST", s.url+"/api/users/"+bot.UserID+"/keys", admin, string(upload)); st != http.StatusCreated {
		t.Fatalf("upload key: %d %s", st, body)
	}
	if st, body := bearerToken(t, s.url, assertion); st != http.StatusOK {
		t.Fatalf("assertion signed before the start: %d %s", st, body)
	}
	s.stop(t)

	s = startRun(t, path, env)
	if st, body := bearerToken(t, s.url, assertion); st != http.StatusBadRequest || !strings.Contains(body, "jti was already used") {
		t.Fatalf("replay after a restart: %d %s", st, body)
	}
}

// bearerToken asks for a Management API token with a JWT bearer assertion.
func bearerToken(t *testing.T, base, assertion string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion},
		"resource": {"https://default.logto.app/api"}}
	resp, err := http.PostForm(base+"/oidc/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
