package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v and fails the test if it cannot.
func (r response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Code returns the Logto error code of an error body.
func (r response) Code() string {
	var e struct {
		Code string `json:"code"`
	}
	json.Unmarshal(r.Body, &e)
	return e.Code
}

// call sends a request; body may be nil, a string (sent raw) or a value
// (sent as JSON).
func call(t testing.TB, method, url, token string, body any) response {
	t.Helper()
	return callVia(t, http.DefaultClient, method, url, token, body)
}

// callVia is call through client (e.g. one bound to a source address, see
// clientFrom).
func callVia(t testing.TB, client *http.Client, method, url, token string, body any) response {
	t.Helper()
	var rd io.Reader
	var sent []byte
	switch b := body.(type) {
	case nil:
	case string:
		rd, sent = strings.NewReader(b), []byte(b)
	case []byte:
		rd, sent = bytes.NewReader(b), b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, sent = bytes.NewReader(data), data
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkExchange(t, req, sent, resp.StatusCode, resp.Header, data)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// postForm sends a token request with optional Basic credentials.
func postForm(t testing.TB, url string, form url.Values, basicID, basicSecret string) response {
	t.Helper()
	return postFormVia(t, http.DefaultClient, url, form, basicID, basicSecret)
}

// postFormVia is postForm through client (e.g. one bound to a source
// address, see clientFrom).
func postFormVia(t testing.TB, client *http.Client, url string, form url.Values, basicID, basicSecret string) response {
	t.Helper()
	sent := []byte(form.Encode())
	req, err := http.NewRequest("POST", url, bytes.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(basicID, basicSecret)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	checkExchange(t, req, sent, resp.StatusCode, resp.Header, data)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// env is a started server with a Management API token for tenant default.
type env struct {
	*apitest.Server
	token string
}

func newEnv(t testing.TB, opts ...apitest.Options) *env {
	t.Helper()
	srv := apitest.Start(t, opts...)
	return &env{Server: srv, token: srv.ManagementToken(t, "default")}
}

// user is the wire shape of a user, for assertions.
type user struct {
	ID           string         `json:"id"`
	Username     *string        `json:"username"`
	PrimaryEmail *string        `json:"primaryEmail"`
	PrimaryPhone *string        `json:"primaryPhone"`
	Name         *string        `json:"name"`
	Avatar       *string        `json:"avatar"`
	CustomData   map[string]any `json:"customData"`
	Identities   map[string]any `json:"identities"`
	Profile      map[string]any `json:"profile"`
	IsSuspended  bool           `json:"isSuspended"`
	HasPassword  bool           `json:"hasPassword"`
	CreatedAt    int64          `json:"createdAt"`
	UpdatedAt    int64          `json:"updatedAt"`
}

// createUser creates a user in tenant default and returns it.
func (e *env) createUser(t testing.TB, body any) user {
	t.Helper()
	r := call(t, "POST", e.URL+"/api/users", e.token, body)
	if r.Status != http.StatusOK {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	var u user
	r.JSON(t, &u)
	return u
}

// countUsers returns Total-Number of GET /api/users.
func (e *env) countUsers(t testing.TB) string {
	t.Helper()
	r := call(t, "GET", e.URL+"/api/users?page_size=1", e.token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list users: %d %s", r.Status, r.Body)
	}
	return r.Header.Get("Total-Number")
}

// do sends a Management API request to tenant default, fails the test
// unless the answer has status want, and decodes the body into out when out
// is not nil.
func (e *env) do(t testing.TB, method, path string, body any, want int, out any) response {
	t.Helper()
	r := call(t, method, e.URL+path, e.token, body)
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	if out != nil {
		r.JSON(t, out)
	}
	return r
}

// tokenClaims returns the payload of a JWT without checking its signature;
// the tests that need a verified token call the Management API with it.
func tokenClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// clientCredentials requests a token for resource with scope and returns
// the response.
func (e *env) clientCredentials(t testing.TB, id, secret, resource, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, e.URL+"/oidc/token", form, id, secret)
}

// skipIfShort skips, under go test -short, a test that waits out real
// timeouts or measures fairness over seconds: the slowest of the package.
func skipIfShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: waits out real timeouts")
	}
}
