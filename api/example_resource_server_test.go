package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/idbolt/idbolt/api/apitest"
)

// The code between the README markers is the README's Go example, word for
// word (TestExample_READMEHasTheGoCode): a client of the Management API and
// a resource server that verifies idbolt's tokens.

// README example: begin
// listUsers gets a Management API token with client_credentials and lists
// the first page of users. cfg.Client caches the token and gets a new one
// shortly before it expires.
func listUsers(ctx context.Context, baseURL, clientID, clientSecret string) ([]map[string]any, error) {
	cfg := clientcredentials.Config{
		ClientID:       clientID,
		ClientSecret:   clientSecret,
		TokenURL:       baseURL + "/oidc/token", // tenant T: baseURL + "/t/T/oidc/token"
		Scopes:         []string{"all"},
		EndpointParams: url.Values{"resource": {"https://default.logto.app/api"}}, // tenant T: https://T.logto.app/api
	}
	resp, err := cfg.Client(ctx).Get(baseURL + "/api/users?page=1&page_size=20")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/users: %s", resp.Status)
	}
	var users []map[string]any
	return users, json.NewDecoder(resp.Body).Decode(&users)
}

// Verifier checks idbolt access tokens (RFC 9068 JWTs) for one API.
type Verifier struct {
	Issuer     string                    // {base-url}/oidc; tenant T: {base-url}/t/T/oidc
	Audience   string                    // the API's resource indicator, e.g. https://orders.example.com
	Algorithms []jose.SignatureAlgorithm // the tenant's, e.g. ES256; never none or HS*
	MinRefetch time.Duration             // an unknown kid fetches the JWKS again at most this often
	HTTP       *http.Client              // with a timeout, e.g. &http.Client{Timeout: 10 * time.Second}

	mu      sync.Mutex
	keys    jose.JSONWebKeySet
	fetched time.Time
}

// Claims are the claims of an idbolt access token.
type Claims struct {
	jwt.Claims        // iss, sub, aud, exp, iat, jti
	ClientID   string `json:"client_id"`
	Scope      string `json:"scope"` // space-separated
}

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(strings.Fields(c.Scope), scope) }

// Verify checks token's algorithm, type, signature, issuer, audience and
// times, and returns its claims.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	tok, err := jwt.ParseSigned(token, v.Algorithms)
	if err != nil {
		return nil, err
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(strings.TrimPrefix(typ, "application/"), "at+jwt") {
		return nil, errors.New("not an access token (typ at+jwt)")
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	var c Claims
	if err := tok.Claims(key, &c); err != nil { // the signature
		return nil, err
	}
	// iss, aud, exp, nbf and iat (not in the future), with 30 s of clock skew.
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: v.Issuer, AnyAudience: jwt.Audience{v.Audience}, Time: time.Now()}, 30*time.Second); err != nil {
		return nil, err
	}
	if c.Expiry == nil || c.IssuedAt == nil || c.ClientID == "" {
		return nil, errors.New("token lacks exp, iat or client_id")
	}
	return &c, nil
}

// key returns the issuer's public key kid. The JWKS is cached for 10
// minutes, and fetched again sooner when a token names a kid it lacks (a
// rotated key), but at most every MinRefetch, so made-up kids cannot make
// every request fetch it. Concurrent calls wait for one fetch.
func (v *Verifier) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	age := time.Since(v.fetched)
	if age > 10*time.Minute || (len(v.keys.Key(kid)) == 0 && age >= v.MinRefetch) {
		req, err := http.NewRequestWithContext(ctx, "GET", v.Issuer+"/jwks", nil)
		if err != nil {
			return nil, err
		}
		resp, err := v.HTTP.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s/jwks: %s", v.Issuer, resp.Status)
		} else if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
			return nil, err
		}
		v.keys, v.fetched = set, time.Now()
	}
	if keys := v.keys.Key(kid); len(keys) == 1 {
		return &keys[0], nil
	}
	return nil, fmt.Errorf("unknown signing key %q", kid)
}

// README example: end

// TestExample_ClientAndResourceServer runs the README's Go example: a
// machine-to-machine app gets a token for its own API, which the resource
// server's Verifier accepts with its client id and scope, and refuses for
// another API, another tenant's issuer, a changed payload, an algorithm
// not allowed and after expiry; the JWKS is fetched once, and again for
// the new kid of a key rotation; and listUsers, through
// golang.org/x/oauth2, reads the Management API.
func TestExample_ClientAndResourceServer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createUser(t, map[string]any{"username": "alice"})
	users, err := listUsers(ctx, e.URL, e.ClientID, e.ClientSecret)
	if err != nil || len(users) != 1 || users[0]["username"] != "alice" {
		t.Fatalf("listUsers: %v %v", users, err)
	}

	// An API of one's own, a role with one of its scopes, an app holding it.
	var res, read, role, app idName
	e.do(t, "POST", "/api/resources", map[string]any{"name": "Orders", "indicator": "https://orders.example.com"}, http.StatusCreated, &res)
	e.do(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "read:orders"}, http.StatusCreated, &read)
	e.do(t, "POST", "/api/roles", map[string]any{"name": "orders-reader", "description": "Reads orders", "type": "MachineToMachine",
		"scopeIds": []string{read.ID}}, http.StatusOK, &role)
	e.do(t, "POST", "/api/applications", map[string]any{"name": "worker", "type": "MachineToMachine"}, http.StatusOK, &app)
	e.do(t, "POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": []string{role.ID}}, http.StatusCreated, nil)
	orders := apitest.Token(t, e.URL, "default", app.ID, app.Secret, "https://orders.example.com", "read:orders write:orders")

	var fetches atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		fetches.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	v := &Verifier{Issuer: e.URL + "/oidc", Audience: "https://orders.example.com", Algorithms: []jose.SignatureAlgorithm{jose.ES256},
		MinRefetch: time.Hour, HTTP: client}
	c, err := v.Verify(ctx, orders)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if c.ClientID != app.ID || !c.HasScope("read:orders") || c.HasScope("write:orders") || c.Subject != app.ID {
		t.Errorf("claims %+v", c)
	}

	parts := strings.Split(orders, ".")
	payload, _ := json.Marshal(map[string]any{"iss": e.URL + "/oidc", "aud": "https://orders.example.com", "client_id": app.ID,
		"scope": "read:orders write:orders", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()})
	forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	for _, tc := range []struct {
		name, token string
		v           *Verifier
		want        string
	}{
		{"OtherAPI", e.token, v, "audience"},
		{"OtherTenant", orders, &Verifier{Issuer: e.URL + "/t/acme/oidc", Audience: v.Audience, Algorithms: v.Algorithms, keys: v.keys, fetched: time.Now()}, "issuer"},
		{"ChangedPayload", forged, v, "cryptographic"},
		{"AlgorithmNotAllowed", orders, &Verifier{Issuer: v.Issuer, Audience: v.Audience, Algorithms: []jose.SignatureAlgorithm{jose.RS256}}, "algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.v.Verify(ctx, tc.token); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify: %v, want an error about %s", err, tc.want)
			}
		})
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want once (cached)", n)
	}

	// A rotation: the next token has a new kid, which is fetched once.
	v.MinRefetch = 0
	e.do(t, "POST", "/api/configs/oidc/private-keys/rotate", map[string]any{}, http.StatusOK, nil)
	rotated := apitest.Token(t, e.URL, "default", app.ID, app.Secret, "https://orders.example.com", "read:orders")
	if _, err := v.Verify(ctx, rotated); err != nil {
		t.Errorf("token of the new key: %v", err)
	}
	if _, err := v.Verify(ctx, orders); err != nil {
		t.Errorf("token of the previous key, within its grace: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("JWKS fetched %d times, want twice", n)
	}

	// Expired: a server whose clock is two hours behind issued it.
	old := apitest.Start(t, apitest.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	expired := old.ManagementToken(t, "default")
	ov := &Verifier{Issuer: old.URL + "/oidc", Audience: "https://default.logto.app/api", Algorithms: v.Algorithms, HTTP: client}
	if _, err := ov.Verify(ctx, expired); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
}

// TestExample_VerifierChecksType checks the Verifier's refusals that idbolt
// itself cannot provoke, against an issuer of the test's own: a JWT that is
// not an access token (typ JWT, as ID tokens are), HS256, and a token
// without client_id.
func TestExample_VerifierChecksType(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	}))
	defer issuer.Close()
	sign := func(alg jose.SignatureAlgorithm, k any, typ string, claims map[string]any) string {
		opts := (&jose.SignerOptions{}).WithHeader("kid", "k1")
		if typ != "" {
			opts = opts.WithType(jose.ContentType(typ))
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, opts)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := map[string]any{"iss": issuer.URL + "/oidc", "aud": "https://orders.example.com", "sub": "app", "client_id": "app",
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	noClient := map[string]any{}
	for k, val := range claims {
		if k != "client_id" {
			noClient[k] = val
		}
	}
	v := &Verifier{Issuer: issuer.URL + "/oidc", Audience: "https://orders.example.com", Algorithms: []jose.SignatureAlgorithm{jose.ES256},
		HTTP: issuer.Client()}
	for _, tc := range []struct {
		name, token, want string // want "" accepts
	}{
		{"AccessToken", sign(jose.ES256, key, "at+jwt", claims), ""},
		{"MediaType", sign(jose.ES256, key, "application/at+jwt", claims), ""},
		{"TypJWT", sign(jose.ES256, key, "JWT", claims), "typ at+jwt"},
		{"NoTyp", sign(jose.ES256, key, "", claims), "typ at+jwt"},
		{"HS256", sign(jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "at+jwt", claims), "algorithm"},
		{"NoClientID", sign(jose.ES256, key, "at+jwt", noClient), "client_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("verify: %v, want %q", err, tc.want)
			}
		})
	}
}

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestExample_READMEHasTheGoCode fails when the README's Go example is no
// longer the code these tests run.
func TestExample_READMEHasTheGoCode(t *testing.T) {
	src, err := os.ReadFile("example_resource_server_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, code, ok := strings.Cut(string(src), "// README example: begin\n")
	code, _, ok2 := strings.Cut(code, "// README example: end\n")
	if !ok || !ok2 {
		t.Fatal("the README example markers are missing")
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```go\n"+strings.TrimRight(code, "\n")+"\n```\n") {
		t.Error("README.md lacks the Go example of example_resource_server_test.go word for word: copy it between the README markers into the README's ```go block")
	}
}

// readmeExample returns the code block that follows <!-- example: name -->
// in the README.
func readmeExample(t *testing.T, name string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "<!-- example: "+name+" -->\n```")
	if !ok {
		t.Fatalf("README.md has no example %q", name)
	}
	_, rest, _ = strings.Cut(rest, "\n") // the block's language
	code, _, ok := strings.Cut(rest, "\n```\n")
	if !ok {
		t.Fatalf("README.md: example %q is not closed", name)
	}
	return code + "\n"
}

// TestExample_READMEScripts checks the syntax of the README's Node and
// Python examples and runs them against a server with one user, each when
// its interpreter (and, for Python, requests and PyJWT) is installed, and
// checks that they list it; the Python one also verifies its token as a
// resource server would.
func TestExample_READMEScripts(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"username": "alice"})
	for _, tc := range []struct {
		name, file string
		command    []string // the interpreter; the script's path is appended
		syntax     []string // checks the script's syntax; the path is appended
		probe      []string // a command that fails when a dependency is missing
		want       []string
	}{
		{"node", "list-users.mjs", []string{"node"}, []string{"node", "--check"}, []string{"node", "--version"},
			[]string{`200 1 [{"id":`, `"username":"alice"`}},
		{"python", "list_users.py", []string{"python3"}, []string{"python3", "-m", "py_compile"},
			[]string{"python3", "-c", "import requests, jwt, cryptography"},
			[]string{"200 1 [{'id':", "'username': 'alice'", e.ClientID + " ['all']"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath(tc.command[0]); err != nil {
				t.Skipf("%s is not installed", tc.command[0])
			}
			script := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(script, []byte(readmeExample(t, tc.name)), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(tc.syntax[0], append(tc.syntax[1:], script)...).CombinedOutput(); err != nil {
				t.Fatalf("syntax: %v\n%s", err, out)
			}
			if err := exec.Command(tc.probe[0], tc.probe[1:]...).Run(); err != nil {
				t.Skipf("%s: %v", strings.Join(tc.probe, " "), err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, tc.command[0], append(tc.command[1:], script)...)
			cmd.Env = append(os.Environ(), "IDBOLT_URL="+e.URL, "IDBOLT_CLIENT_ID="+e.ClientID, "IDBOLT_CLIENT_SECRET="+e.ClientSecret)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, out)
			}
			for _, want := range tc.want {
				if !strings.Contains(string(out), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
