package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// corsRequest is one cross-origin request as a browser sends it.
type corsRequest struct {
	method, path string
	origin       string
	token        string
	// preflight, when set, sends OPTIONS with Access-Control-Request-Method
	// set to method and Access-Control-Request-Headers to headers.
	preflight bool
	headers   string
	form      url.Values // a token request's body
}

// corsCall sends r to base and fails the test if the answer ever allows
// credentials, which idbolt never does.
func corsCall(t testing.TB, base string, r corsRequest) response {
	t.Helper()
	method := r.method
	var body *strings.Reader
	if r.form != nil && !r.preflight {
		body = strings.NewReader(r.form.Encode())
	} else {
		body = strings.NewReader("")
	}
	if r.preflight {
		method = http.MethodOptions
	}
	req, err := http.NewRequest(method, base+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	if r.preflight {
		req.Header.Set("Access-Control-Request-Method", r.method)
		if r.headers != "" {
			req.Header.Set("Access-Control-Request-Headers", r.headers)
		}
	} else {
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
		if r.form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, r.path, err)
	}
	defer resp.Body.Close()
	out := response{Status: resp.StatusCode, Header: resp.Header}
	if v := resp.Header.Values("Access-Control-Allow-Credentials"); len(v) > 0 {
		t.Errorf("%s %s from %s: Access-Control-Allow-Credentials %q; credentials mode is never allowed", method, r.path, r.origin, v)
	}
	if v := resp.Header.Values("Access-Control-Allow-Origin"); len(v) > 1 {
		t.Errorf("%s %s: %d Access-Control-Allow-Origin headers %q", method, r.path, len(v), v)
	}
	return out
}

// wantAllowed fails unless resp lets origin read it ("*" for any).
func wantAllowed(t testing.TB, what string, resp response, origin string) {
	t.Helper()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, origin)
	}
}

// wantRefused fails if resp lets any origin read it.
func wantRefused(t testing.TB, what string, resp response) {
	t.Helper()
	if got := resp.Header.Values("Access-Control-Allow-Origin"); len(got) != 0 {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want none", what, got)
	}
}

// setCORSOrigins sets tenant's corsAllowedOrigins through the system API.
func setCORSOrigins(t testing.TB, e *env, tenant string, origins any) response {
	t.Helper()
	return call(t, "PATCH", e.URL+"/system/tenants/"+tenant, e.SystemToken(t), map[string]any{"corsAllowedOrigins": origins})
}

func TestCORS_PublicMetadataAnyOrigin(t *testing.T) {
	e := newEnv(t)
	createTenant(t, e, "acme")
	const origin = "https://anyone.example"
	for _, path := range []string{
		"/oidc/.well-known/openid-configuration", "/.well-known/openid-configuration",
		"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/oidc",
		"/.well-known/oauth-authorization-server/t/acme/oidc", "/t/acme/.well-known/openid-configuration",
		"/oidc/jwks", "/oauth/v2/keys", "/t/acme/oidc/jwks", "/t/acme/oauth/v2/keys",
	} {
		r := corsCall(t, e.URL, corsRequest{method: "GET", path: path, origin: origin})
		if r.Status != http.StatusOK {
			t.Errorf("GET %s: %d", path, r.Status)
		}
		wantAllowed(t, "GET "+path, r, "*")
		p := corsCall(t, e.URL, corsRequest{method: "GET", path: path, origin: origin, preflight: true, headers: "accept"})
		if p.Status != http.StatusNoContent {
			t.Errorf("preflight %s: %d", path, p.Status)
		}
		wantAllowed(t, "preflight "+path, p, "*")
		// Only reading is public.
		wantRefused(t, "POST preflight "+path, corsCall(t, e.URL, corsRequest{method: "POST", path: path, origin: origin, preflight: true}))
	}
}

func TestCORS_TenantOrigins(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	const admin, other = "https://admin.acme.example", "https://other.example"
	if r := setCORSOrigins(t, e, "acme", []string{admin}); r.Status != http.StatusOK {
		t.Fatalf("PATCH corsAllowedOrigins: %d %s", r.Status, r.Body)
	}
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")

	t.Run("Preflight", func(t *testing.T) {
		for _, path := range []string{"/t/acme/api/users", "/t/acme/api/users/abc", "/t/acme/oidc/token", "/t/acme/oauth/v2/token"} {
			for _, method := range []string{"GET", "POST", "PATCH", "PUT", "DELETE"} {
				r := corsCall(t, e.URL, corsRequest{method: method, path: path, origin: admin, preflight: true, headers: "authorization,content-type"})
				if r.Status != http.StatusNoContent {
					t.Errorf("preflight %s %s: %d", method, path, r.Status)
				}
				wantAllowed(t, "preflight "+method+" "+path, r, admin)
				if got := r.Header.Get("Access-Control-Allow-Methods"); got != method {
					t.Errorf("preflight %s %s: Access-Control-Allow-Methods %q", method, path, got)
				}
				if got := strings.ToLower(r.Header.Get("Access-Control-Allow-Headers")); got != "authorization,content-type" {
					t.Errorf("preflight %s %s: Access-Control-Allow-Headers %q", method, path, got)
				}
				if r.Header.Get("Access-Control-Max-Age") == "" {
					t.Errorf("preflight %s %s: no Access-Control-Max-Age", method, path)
				}
			}
		}
		// What Logto's SDKs and fetch send is allowed.
		r := corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin, preflight: true,
			headers: "accept,accept-language,authorization,content-type,x-request-id"})
		wantAllowed(t, "preflight with the SDK's headers", r, admin)
	})

	t.Run("Refused", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			req  corsRequest
		}{
			{"OtherOrigin", corsRequest{method: "GET", path: "/t/acme/api/users", origin: other}},
			{"OtherOriginToken", corsRequest{method: "POST", path: "/t/acme/oidc/token", origin: other}},
			{"SchemeDiffers", corsRequest{method: "GET", path: "/t/acme/api/users", origin: "http://admin.acme.example"}},
			{"PortDiffers", corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin + ":8443"}},
			{"Suffix", corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin + ".evil.example"}},
			{"Null", corsRequest{method: "GET", path: "/t/acme/api/users", origin: "null"}},
			{"OtherTenant", corsRequest{method: "GET", path: "/api/users", origin: admin}},
			{"OtherTenantToken", corsRequest{method: "POST", path: "/oidc/token", origin: admin}},
			{"UnknownTenant", corsRequest{method: "GET", path: "/t/nope/api/users", origin: admin}},
			{"System", corsRequest{method: "GET", path: "/system/tenants", origin: admin}},
			{"Metrics", corsRequest{method: "GET", path: "/metrics", origin: admin}},
			{"UnknownHeader", corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin, headers: "x-evil"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req := tc.req
				if req.headers == "" { // a header is checked by the preflight only, as the browser sends it
					wantRefused(t, "actual request", corsCall(t, e.URL, req))
				}
				req.preflight = true
				p := corsCall(t, e.URL, req)
				wantRefused(t, "preflight", p)
				if req.path != "/metrics" && p.Status != http.StatusNoContent {
					t.Errorf("preflight: %d, want 204 (without CORS headers)", p.Status)
				}
			})
		}
	})

	t.Run("ActualRequests", func(t *testing.T) {
		for _, name := range []string{"ann", "bob"} {
			if r := call(t, "POST", e.URL+"/t/acme/api/users", acmeToken, map[string]any{"username": name}); r.Status != http.StatusOK {
				t.Fatalf("create user: %d %s", r.Status, r.Body)
			}
		}
		r := corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/acme/api/users?page=1&page_size=1", origin: admin, token: acmeToken})
		if r.Status != http.StatusOK {
			t.Fatalf("GET users: %d", r.Status)
		}
		wantAllowed(t, "GET users", r, admin)
		if r.Header.Get("Total-Number") != "2" || r.Header.Get("Link") == "" {
			t.Errorf("paging headers: Total-Number %q, Link %q", r.Header.Get("Total-Number"), r.Header.Get("Link"))
		}
		exposed := strings.Split(strings.ReplaceAll(r.Header.Get("Access-Control-Expose-Headers"), " ", ""), ",")
		for _, h := range []string{"Total-Number", "Link", "X-Request-Id", "Retry-After", "Www-Authenticate"} {
			if !slices.Contains(exposed, h) {
				t.Errorf("Access-Control-Expose-Headers %q lacks %s", exposed, h)
			}
		}
		if !slices.Contains(r.Header.Values("Vary"), "Origin") {
			t.Errorf("Vary %q lacks Origin", r.Header.Values("Vary"))
		}
		// An error answer is readable too, so the page can show it.
		wantAllowed(t, "401", corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin}), admin)
		form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://acme.logto.app/api"}, "scope": {"all"},
			"client_id": {acme.Credentials.ClientID}, "client_secret": {acme.Credentials.ClientSecret}}
		for _, path := range []string{"/t/acme/oidc/token", "/t/acme/oauth/v2/token"} {
			tok := corsCall(t, e.URL, corsRequest{method: "POST", path: path, origin: admin, form: form})
			if tok.Status != http.StatusOK {
				t.Errorf("POST %s: %d", path, tok.Status)
			}
			wantAllowed(t, "POST "+path, tok, admin)
		}
	})

	t.Run("RemovedAtOnce", func(t *testing.T) {
		if r := setCORSOrigins(t, e, "acme", nil); r.Status != http.StatusOK {
			t.Fatalf("PATCH null: %d %s", r.Status, r.Body)
		}
		wantRefused(t, "after removal", corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin, token: acmeToken}))
		wantRefused(t, "preflight after removal", corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/acme/api/users", origin: admin, preflight: true}))
	})
}

// Preflights carry no token and are answered before any budget is looked
// at: a page's preflights cannot spend its tenant's requests.
func TestCORS_PreflightSpendsNoBudget(t *testing.T) {
	e := newEnv(t, apitest.Options{RateLimit: limits.Rate{Requests: 5, Per: time.Hour}, SourceFailures: limits.Rate{Requests: 5, Per: time.Hour}})
	const admin = "https://admin.example"
	if r := setCORSOrigins(t, e, "default", []string{admin}); r.Status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", r.Status, r.Body)
	}
	for range 50 {
		r := corsCall(t, e.URL, corsRequest{method: "DELETE", path: "/api/users/x", origin: admin, preflight: true, headers: "authorization"})
		wantAllowed(t, "preflight", r, admin)
		corsCall(t, e.URL, corsRequest{method: "GET", path: "/t/nope/api/users", origin: admin, preflight: true})
		corsCall(t, e.URL, corsRequest{method: "GET", path: "/system/tenants", origin: admin, preflight: true})
	}
	if r := call(t, "GET", e.URL+"/api/users", e.token, nil); r.Status != http.StatusOK {
		t.Fatalf("after 150 preflights: %d %s", r.Status, r.Body)
	}
}

func TestCORS_GlobalOrigins(t *testing.T) {
	const ops, tenantOnly = "https://ops.example", "https://admin.acme.example"
	e := newEnv(t, apitest.Options{CORSOrigins: []string{ops}})
	acme := createTenant(t, e, "acme")
	setCORSOrigins(t, e, "acme", []string{tenantOnly})
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	sys := e.SystemToken(t)
	for _, tc := range []struct {
		path, method, token string
		origin              string
		allowed             bool
	}{
		{"/api/users", "GET", e.token, ops, true},
		{"/t/acme/api/users", "GET", acmeToken, ops, true},
		{"/oidc/token", "POST", "", ops, true},
		{"/t/acme/oauth/v2/token", "POST", "", ops, true},
		{"/system/tenants", "GET", sys, ops, true},
		{"/system/tenants", "GET", sys, tenantOnly, false}, // a tenant's origins never reach the system API
		{"/t/acme/api/users", "GET", "", tenantOnly, true},
		{"/api/users", "GET", "", tenantOnly, false},
	} {
		what := tc.method + " " + tc.path + " from " + tc.origin
		r := corsCall(t, e.URL, corsRequest{method: tc.method, path: tc.path, origin: tc.origin, token: tc.token})
		p := corsCall(t, e.URL, corsRequest{method: tc.method, path: tc.path, origin: tc.origin, preflight: true, headers: "authorization"})
		if tc.allowed {
			wantAllowed(t, what, r, tc.origin)
			wantAllowed(t, "preflight "+what, p, tc.origin)
		} else {
			wantRefused(t, what, r)
			wantRefused(t, "preflight "+what, p)
		}
	}
}

// Without an Origin the answers are as before, and an OPTIONS that is no
// preflight is still refused as Logto refuses it.
func TestCORS_NotCrossOrigin(t *testing.T) {
	e := newEnv(t)
	r := call(t, "GET", e.URL+"/api/users", e.token, nil)
	if r.Status != http.StatusOK || r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("same-origin GET: %d, ACAO %q", r.Status, r.Header.Get("Access-Control-Allow-Origin"))
	}
	for _, path := range []string{"/api/users", "/oidc/jwks", "/system/tenants"} {
		// A cache must keep answers per origin, cross-origin or not.
		tok := e.token
		if path == "/system/tenants" {
			tok = e.SystemToken(t)
		}
		if r := call(t, "GET", e.URL+path, tok, nil); !slices.Equal(r.Header.Values("Vary"), []string{"Origin"}) {
			t.Errorf("GET %s without Origin: Vary %q, want [Origin]", path, r.Header.Values("Vary"))
		}
	}
	o := call(t, "OPTIONS", e.URL+"/api/users", "", nil)
	if o.Status != http.StatusMethodNotAllowed {
		t.Fatalf("OPTIONS without Access-Control-Request-Method: %d, want 405", o.Status)
	}
}

func TestCORS_PatchValidation(t *testing.T) {
	e := newEnv(t)
	createTenant(t, e, "acme")
	many := make([]string, 51)
	for i := range many {
		many[i] = "https://a" + strings.Repeat("b", i) + ".example"
	}
	tests := []struct {
		name       string
		body       any
		wantStatus int
		want       []string
	}{
		{"One", []string{"https://admin.example.com"}, 200, []string{"https://admin.example.com"}},
		{"Normalized", []string{"HTTPS://Admin.Example.com:443/", "http://localhost:5173", "http://localhost:5173"}, 200,
			[]string{"https://admin.example.com", "http://localhost:5173"}},
		{"Fifty", many[:50], 200, many[:50]},
		{"Empty", []string{}, 200, []string{}},
		{"Null", nil, 200, []string{}},
		{"TooMany", many, 400, nil},
		{"Wildcard", []string{"https://*.example.com"}, 400, nil},
		{"Star", []string{"*"}, 400, nil},
		{"Path", []string{"https://admin.example.com/console"}, 400, nil},
		{"NoScheme", []string{"admin.example.com"}, 400, nil},
		{"Query", []string{"https://admin.example.com?a=b"}, 400, nil},
		{"UserInfo", []string{"https://u:p@admin.example.com"}, 400, nil},
		{"NullOrigin", []string{"null"}, 400, nil},
		{"EmptyString", []string{""}, 400, nil},
		{"NotAList", "https://admin.example.com", 400, nil},
		{"NotStrings", []int{1}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setCORSOrigins(t, e, "acme", []string{"https://before.example"})
			r := setCORSOrigins(t, e, "acme", tt.body)
			if r.Status != tt.wantStatus {
				t.Fatalf("PATCH %v: %d %s, want %d", tt.body, r.Status, r.Body, tt.wantStatus)
			}
			want := tt.want
			if tt.wantStatus != 200 {
				if r.Code() != "guard.invalid_input" || !strings.Contains(string(r.Body), "corsAllowedOrigins") && tt.name != "NotAList" && tt.name != "NotStrings" {
					t.Errorf("PATCH %v: %s", tt.body, r.Body)
				}
				want = []string{"https://before.example"} // unchanged
			}
			var got struct {
				CORSAllowedOrigins []string `json:"corsAllowedOrigins"`
			}
			g := call(t, "GET", e.URL+"/system/tenants/acme", e.SystemToken(t), nil)
			g.JSON(t, &got)
			if !slices.Equal(got.CORSAllowedOrigins, want) || got.CORSAllowedOrigins == nil {
				t.Errorf("GET after PATCH %v: corsAllowedOrigins %q, want %q", tt.body, got.CORSAllowedOrigins, want)
			}
		})
	}
	// A new tenant has none, as a list.
	var created map[string]any
	r := call(t, "POST", e.URL+"/system/tenants", e.SystemToken(t), map[string]any{"id": "fresh"})
	r.JSON(t, &created)
	if got, ok := created["corsAllowedOrigins"].([]any); !ok || len(got) != 0 {
		t.Errorf("new tenant: corsAllowedOrigins %v", created["corsAllowedOrigins"])
	}
}
