package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
)

// consoleClient is a browser-like client of the console: a cookie jar, the
// console's Origin on writes, and the session's CSRF token once signed in.
type consoleClient struct {
	t    testing.TB
	base string
	http *http.Client
	csrf string
}

func newConsoleClient(t testing.TB, base string) *consoleClient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send makes a request; headers override the defaults (a value "" removes
// the header).
func (c *consoleClient) send(method, path string, body any, headers map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" && method != "HEAD" {
		req.Header.Set("Origin", c.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if c.csrf != "" {
			req.Header.Set("X-CSRF-Token", c.csrf)
		}
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// consoleSession is the wire shape of GET and POST /console/session.
type consoleSession struct {
	Tenant      string `json:"tenant"`
	ClientID    string `json:"clientId"`
	UserID      string `json:"userId"`
	CSRFToken   string `json:"csrfToken"`
	IdleTimeout int    `json:"idleTimeout"`
}

// signIn signs in with creds and fails the test unless the answer is 201.
func (c *consoleClient) signIn(creds map[string]string) consoleSession {
	c.t.Helper()
	r := c.send("POST", "/console/session", creds, nil)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	var s consoleSession
	r.JSON(c.t, &s)
	if s.CSRFToken == "" {
		c.t.Fatal("sign in: no CSRF token")
	}
	c.csrf = s.CSRFToken
	return s
}

// adminCreds are the bootstrap admin's sign-in.
func adminCreds(s *apitest.Server) map[string]string {
	return map[string]string{"clientId": s.ClientID, "clientSecret": s.ClientSecret}
}

func TestConsole_Files(t *testing.T) {
	srv := apitest.Start(t)
	c := newConsoleClient(t, srv.URL)
	for _, path := range []string{"/console", "/console/", "/console/users", "/console/audit-logs"} {
		r := c.send("GET", path, nil, nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!bytes.Contains(r.Body, []byte(`<script type="module" src="/console/app.js">`)) {
			t.Fatalf("GET %s: %d %s %.80s", path, r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		wantHeaders := map[string]string{
			"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
				"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-cache",
		}
		for k, v := range wantHeaders {
			if got := r.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	js := c.send("GET", "/console/app.js", nil, nil)
	if js.Status != 200 || js.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || js.Header.Get("ETag") == "" {
		t.Fatalf("app.js: %d %v", js.Status, js.Header)
	}
	again := c.send("GET", "/console/app.js", nil, map[string]string{"If-None-Match": js.Header.Get("ETag")})
	if again.Status != http.StatusNotModified || len(again.Body) != 0 {
		t.Errorf("app.js revalidated: %d, %d bytes, want 304 and none", again.Status, len(again.Body))
	}
	for _, path := range []string{"/console/missing.js", "/console/../go.mod.js"} {
		if r := c.send("GET", path, nil, nil); r.Status != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.Status)
		}
	}
	if r := c.send("POST", "/console/users", nil, nil); r.Status != 405 {
		t.Errorf("POST a page: %d, want 405", r.Status)
	}
	root := c.send("GET", "/", nil, nil)
	if root.Status != http.StatusFound || root.Header.Get("Location") != "/console" {
		t.Errorf("GET /: %d to %q, want 302 to /console", root.Status, root.Header.Get("Location"))
	}
	// The Management API's own 404s stay Logto's.
	wantError(t, call(t, "GET", srv.URL+"/api/nope", "", nil), 404, "guard.route_not_found")
	wantError(t, call(t, "POST", srv.URL+"/", "", nil), 404, "guard.route_not_found")
}

func TestConsole_SignInWithClient(t *testing.T) {
	srv := apitest.Start(t)
	token := srv.ManagementToken(t, "default")
	c := newConsoleClient(t, srv.URL)
	if r := c.send("GET", "/console/api/users", nil, nil); r.Status != 401 {
		t.Fatalf("before sign-in: %d, want 401", r.Status)
	}
	r := c.send("POST", "/console/session", adminCreds(srv), nil)
	if r.Status != 201 {
		t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	var sess consoleSession
	r.JSON(t, &sess)
	c.csrf = sess.CSRFToken
	if sess.Tenant != "default" || sess.ClientID != srv.ClientID || sess.IdleTimeout != 1800 {
		t.Errorf("session %+v", sess)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("sign-in Cache-Control %q", got)
	}
	cookies := r.Header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q", cookies)
	}
	ck := cookies[0]
	for _, want := range []string{"idbolt_console=default.", "Path=/console", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %q", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("cookie %q is Secure over plain http", ck)
	}
	id := strings.TrimPrefix(strings.SplitN(ck, ";", 2)[0], "idbolt_console=default.")
	if len(id) != 43 {
		t.Errorf("session id of %d characters, want 43 (32 bytes)", len(id))
	}

	// The console API answers what the Management API does.
	direct := call(t, "GET", srv.URL+"/api/users?page_size=1", token, nil)
	list := c.send("GET", "/console/api/users?page_size=1", nil, nil)
	if list.Status != 200 || list.Header.Get("Total-Number") != direct.Header.Get("Total-Number") {
		t.Fatalf("console list: %d %s total %q", list.Status, list.Body, list.Header.Get("Total-Number"))
	}
	created := c.send("POST", "/console/api/users", map[string]any{"username": "made_in_console"}, nil)
	if created.Status != 200 {
		t.Fatalf("create through the console: %d %s", created.Status, created.Body)
	}
	// The write is audited as the client's, as with its token.
	var logs []map[string]any
	call(t, "GET", srv.URL+"/api/logs?logKey=Management.User.Create", token, nil).JSON(t, &logs)
	if len(logs) == 0 || !strings.Contains(mustJSON(t, logs[0]), srv.ClientID) {
		t.Errorf("create not audited as %s: %s", srv.ClientID, mustJSON(t, logs))
	}

	// A second sign-in gets a new session id and token.
	again := newConsoleClient(t, srv.URL).signIn(adminCreds(srv))
	if again.CSRFToken == sess.CSRFToken {
		t.Error("two sign-ins share a CSRF token")
	}

	// Sign out, then the cookie opens nothing.
	out := c.send("DELETE", "/console/session", nil, nil)
	if out.Status != 204 || !strings.Contains(out.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign out: %d %q", out.Status, out.Header.Get("Set-Cookie"))
	}
	replay := newConsoleClient(t, srv.URL)
	if r := replay.send("GET", "/console/api/users", nil, map[string]string{"Cookie": "idbolt_console=default." + id}); r.Status != 401 {
		t.Errorf("the signed-out session id still works: %d", r.Status)
	}
	if r := c.send("GET", "/console/session", nil, nil); r.Status != 401 {
		t.Errorf("GET /console/session after sign-out: %d", r.Status)
	}
}

func TestConsole_CSRF(t *testing.T) {
	srv := apitest.Start(t)
	c := newConsoleClient(t, srv.URL)
	c.signIn(adminCreds(srv))
	body := map[string]any{"username": "csrf_victim"}
	for _, tc := range []struct {
		name    string
		headers map[string]string
	}{
		{"no token", map[string]string{"X-CSRF-Token": ""}},
		{"wrong token", map[string]string{"X-CSRF-Token": strings.Repeat("A", 43)}},
		{"other origin", map[string]string{"Origin": "https://evil.example"}},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://sub.example"}},
		{"null origin", map[string]string{"Origin": "null"}},
	} {
		r := c.send("POST", "/console/api/users", body, tc.headers)
		if r.Status != 403 || r.Code() != "auth.forbidden" {
			t.Errorf("%s: %d %s, want 403", tc.name, r.Status, r.Body)
		}
		if r := c.send("DELETE", "/console/session", nil, tc.headers); r.Status != 403 {
			t.Errorf("%s: sign out %d, want 403", tc.name, r.Status)
		}
	}
	// A cross-site sign-in is refused too (login CSRF).
	other := newConsoleClient(t, srv.URL)
	if r := other.send("POST", "/console/session", adminCreds(srv), map[string]string{"Origin": "https://evil.example"}); r.Status != 403 {
		t.Errorf("cross-site sign-in: %d, want 403", r.Status)
	}
	// GETs need no token; the user was never created.
	r := c.send("GET", "/console/api/users?search=csrf_victim&mode=exact", nil, nil)
	if r.Status != 200 || r.Header.Get("Total-Number") != "0" {
		t.Errorf("after refused writes: %d total %s", r.Status, r.Header.Get("Total-Number"))
	}
	// A path that leaves /api is not served, whatever it spells.
	for _, p := range []string{"/console/api/../system/tenants", "/console/api/%2e%2e/system/tenants"} {
		if r := c.send("GET", p, nil, nil); r.Status != 404 {
			t.Errorf("GET %s: %d %s, want 404", p, r.Status, r.Body)
		}
	}
	// An Authorization header does not replace the session.
	if r := newConsoleClient(t, srv.URL).send("GET", "/console/api/users", nil,
		map[string]string{"Authorization": "Bearer " + srv.ManagementToken(t, "default")}); r.Status != 401 {
		t.Errorf("bearer token through the console: %d, want 401", r.Status)
	}
}

func TestConsole_SignInFailuresThrottledAndAudited(t *testing.T) {
	srv := apitest.Start(t, apitest.Options{SourceFailures: limits.Rate{Requests: 3, Per: time.Hour}})
	c := newConsoleClient(t, srv.URL)
	wrong := map[string]string{"clientId": srv.ClientID, "clientSecret": "wrong"}
	for i := range 3 {
		r := c.send("POST", "/console/session", wrong, nil)
		if r.Status != 401 || r.Code() != "session.invalid_credentials" || r.Header.Get("Set-Cookie") != "" {
			t.Fatalf("attempt %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The budget is spent: even the right secret waits.
	r := c.send("POST", "/console/session", adminCreds(srv), nil)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d %s", r.Status, r.Body)
	}

	fresh := apitest.Start(t)
	token := fresh.ManagementToken(t, "default")
	fc := newConsoleClient(t, fresh.URL)
	fc.send("POST", "/console/session", map[string]string{"clientId": fresh.ClientID, "clientSecret": "wrong-secret-value"}, nil)
	fc.send("POST", "/console/session", map[string]string{"username": "nobody", "password": "pw-guess-1"}, nil)
	fc.send("POST", "/console/session", map[string]string{"clientId": strings.Repeat("x", 5000), "clientSecret": "s"},
		map[string]string{"User-Agent": strings.Repeat("y", 5000)})
	fc.signIn(adminCreds(fresh))
	fc.send("DELETE", "/console/session", nil, nil)
	var logs []struct {
		Key     string         `json:"key"`
		Payload map[string]any `json:"payload"`
	}
	call(t, "GET", fresh.URL+"/api/logs?page_size=50", token, nil).JSON(t, &logs)
	seen := map[string]int{}
	for _, l := range logs {
		if strings.HasPrefix(l.Key, "Console") {
			seen[l.Key+" "+l.Payload["result"].(string)]++
		}
		if s := mustJSON(t, l); len(s) > 1024 {
			t.Errorf("an anonymous failure's entry takes %d bytes: %s", len(s), s)
		}
		if s := mustJSON(t, l); strings.Contains(s, "wrong-secret-value") || strings.Contains(s, "pw-guess-1") ||
			strings.Contains(s, fresh.ClientSecret) {
			t.Errorf("a secret reached the audit log: %s", s)
		}
	}
	want := map[string]int{"ConsoleSignIn.ClientSecret Error": 2, "ConsoleSignIn.Password Error": 1,
		"ConsoleSignIn.ClientSecret Success": 1, "ConsoleSignOut Success": 1}
	for k, n := range want {
		if seen[k] != n {
			t.Errorf("audit %q: %d entries, want %d (all: %v)", k, seen[k], n, seen)
		}
	}
}

func TestConsole_IdleAndAbsoluteTimeout(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	c := newConsoleClient(t, srv.URL)
	c.signIn(adminCreds(srv))
	get := func() int { return c.send("GET", "/console/api/users?page_size=1", nil, nil).Status }
	// Sliding: each request within 30 minutes keeps it alive, past the
	// first 30 minutes.
	for range 3 {
		clk.Add(25 * time.Minute)
		if s := get(); s != 200 {
			t.Fatalf("active session refused: %d", s)
		}
	}
	clk.Add(31 * time.Minute)
	if s := get(); s != 401 {
		t.Fatalf("idle 31 minutes: %d, want 401", s)
	}

	// Absolute: 12 hours, however active.
	c.signIn(adminCreds(srv))
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		clk.Add(20 * time.Minute)
		if s := get(); s != 200 {
			t.Fatalf("active session refused after %v: %d", elapsed, s)
		}
	}
	clk.Add(20 * time.Minute)
	if s := get(); s != 401 {
		t.Fatalf("after 12 hours: %d, want 401", s)
	}
}

func TestConsole_SessionSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/idbolt.db"
	srv := apitest.Start(t, apitest.Options{Path: path})
	c := newConsoleClient(t, srv.URL)
	c.signIn(adminCreds(srv))
	var ck string
	for _, k := range c.http.Jar.Cookies(mustURL(t, srv.URL+"/console/")) {
		ck = k.Name + "=" + k.Value
	}
	srv.Close()
	again := apitest.Start(t, apitest.Options{Path: path})
	r := newConsoleClient(t, again.URL).send("GET", "/console/session", nil, map[string]string{"Cookie": ck})
	if r.Status != 200 {
		t.Fatalf("after restart: %d %s", r.Status, r.Body)
	}
	var sess consoleSession
	r.JSON(t, &sess)
	if sess.CSRFToken != c.csrf {
		t.Error("the CSRF token changed across the restart")
	}
}

func TestConsole_ManagerUserSeesOnlyItsRoles(t *testing.T) {
	e := newEnv(t)
	var orgA, orgB struct {
		ID string `json:"id"`
	}
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "A"}, http.StatusCreated, &orgA)
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "B"}, http.StatusCreated, &orgB)
	owner := e.createUser(t, map[string]any{"username": "ada", "password": "correct horse battery"})
	e.createUser(t, map[string]any{"username": "plain", "password": "correct horse battery"})
	e.do(t, "POST", "/api/organizations/"+orgA.ID+"/managers", map[string]any{"userId": owner.ID, "roles": []string{"ORG_OWNER"}},
		http.StatusCreated, nil)

	c := newConsoleClient(t, e.URL)
	for _, creds := range []map[string]string{
		{"username": "plain", "password": "correct horse battery"}, // no manager roles
		{"username": "ada", "password": "wrong"},
		{"username": "nobody", "password": "correct horse battery"},
	} {
		if r := c.send("POST", "/console/session", creds, nil); r.Status != 401 || r.Code() != "session.invalid_credentials" {
			t.Errorf("sign in %v: %d %s", creds["username"], r.Status, r.Body)
		}
	}
	sess := c.signIn(map[string]string{"username": "ada", "password": "correct horse battery"})
	if sess.UserID != owner.ID || sess.ClientID != "" {
		t.Errorf("session %+v", sess)
	}
	var orgs []struct {
		ID string `json:"id"`
	}
	r := c.send("GET", "/console/api/organizations", nil, nil)
	r.JSON(t, &orgs)
	if r.Status != 200 || len(orgs) != 1 || orgs[0].ID != orgA.ID {
		t.Errorf("organizations: %d %s, want only A", r.Status, r.Body)
	}
	if r := c.send("GET", "/console/api/organizations/"+orgB.ID, nil, nil); r.Status != 403 {
		t.Errorf("other organization: %d, want 403", r.Status)
	}
	if r := c.send("PATCH", "/console/api/organizations/"+orgA.ID, map[string]any{"name": "A2"}, nil); r.Status != 403 {
		t.Errorf("rename (tenant write): %d, want 403", r.Status)
	}
	if r := c.send("GET", "/console/api/applications", nil, nil); r.Status != 403 {
		t.Errorf("applications: %d, want 403", r.Status)
	}
	if r := c.send("POST", "/console/api/organizations/"+orgA.ID+"/users", map[string]any{"userIds": []string{owner.ID}}, nil); r.Status != 201 {
		t.Errorf("add a member to its organization: %d %s", r.Status, r.Body)
	}
	// Suspending the user ends the session at its next request.
	e.do(t, "PATCH", "/api/users/"+owner.ID+"/is-suspended", map[string]any{"isSuspended": true}, http.StatusOK, nil)
	if r := c.send("GET", "/console/api/organizations", nil, nil); r.Status != 401 {
		t.Errorf("after suspension: %d, want 401", r.Status)
	}
}

func TestConsole_ClientDisabledEndsSession(t *testing.T) {
	e := newEnv(t)
	bot := e.createAPIClient(t, "console-bot")
	creds := map[string]string{"clientId": bot.ClientID, "clientSecret": bot.ClientSecret}
	c := newConsoleClient(t, e.URL)
	// Neither scope all nor manager roles: nothing to manage.
	if r := c.send("POST", "/console/session", creds, nil); r.Status != 401 {
		t.Fatalf("client without roles: %d %s", r.Status, r.Body)
	}
	e.do(t, "POST", "/api/managers", map[string]any{"clientId": bot.ClientID, "roles": []string{"IAM_OWNER_VIEWER"}}, http.StatusCreated, nil)
	c.signIn(creds)
	if r := c.send("GET", "/console/api/users", nil, nil); r.Status != 200 {
		t.Errorf("viewer lists users: %d %s", r.Status, r.Body)
	}
	if r := c.send("POST", "/console/api/users", map[string]any{"username": "x_by_viewer"}, nil); r.Status != 403 {
		t.Errorf("viewer creates a user: %d, want 403", r.Status)
	}
	e.do(t, "POST", "/api/api-clients/"+bot.ClientID+"/disable", nil, http.StatusOK, nil)
	if r := c.send("GET", "/console/api/users", nil, nil); r.Status != 401 {
		t.Errorf("after disable: %d, want 401", r.Status)
	}
}

func mustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
