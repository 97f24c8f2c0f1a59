package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

// TestConsole_SystemAPI: /console/system/... runs the system API routes for
// the console session of an instance administrator, and for no one else;
// the membership is checked at every request, and writes keep the
// console's origin and CSRF checks.
func TestConsole_SystemAPI(t *testing.T) {
	e := newEnv(t)
	sys := e.SystemToken(t)

	admin := newConsoleClient(t, e.URL)
	if s := admin.signIn(adminCreds(e.Server)); !sessionInstanceAdmin(t, admin) || s.ClientID != e.ClientID {
		t.Fatalf("the bootstrap admin's session %+v is not an instance administrator's", s)
	}

	t.Run("AdminAllowed", func(t *testing.T) {
		r := admin.send("GET", "/console/system/tenants?page=1&page_size=5", nil, nil)
		if r.Status != 200 || r.Header.Get("Total-Number") != "1" || !strings.Contains(string(r.Body), `"id":"default"`) {
			t.Fatalf("list tenants: %d %s total %q", r.Status, r.Body, r.Header.Get("Total-Number"))
		}
		if r := admin.send("POST", "/console/system/tenants", map[string]any{"id": "acme", "name": "Acme"}, nil); r.Status != 201 {
			t.Fatalf("create tenant: %d %s", r.Status, r.Body)
		}
		if r := admin.send("PATCH", "/console/system/tenants/acme", map[string]any{"rateLimit": map[string]int{"requests": 7, "perSeconds": 60}}, nil); r.Status != 200 {
			t.Fatalf("rate limit: %d %s", r.Status, r.Body)
		}
		// The change is the system API's own: a system token reads it.
		if r := call(t, "GET", e.URL+"/system/tenants/acme", sys, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"rateLimit":{"requests":7,"perSeconds":60}`) {
			t.Errorf("acme after the console's PATCH: %d %s", r.Status, r.Body)
		}
		// The API's refusals come through as they are.
		if r := admin.send("DELETE", "/console/system/tenants/default", nil, nil); r.Status != 422 || r.Code() != "tenant.default_not_deletable" {
			t.Errorf("delete default: %d %s", r.Status, r.Body)
		}
		if r := admin.send("GET", "/console/system/cluster", nil, nil); r.Status != 404 || r.Code() != "cluster.not_enabled" {
			t.Errorf("cluster without cluster mode: %d %s", r.Status, r.Body)
		}
		if r := admin.send("DELETE", "/console/system/tenants/acme", nil, nil); r.Status != 204 {
			t.Errorf("delete acme: %d %s", r.Status, r.Body)
		}
		// A path that leaves /system is not served, whatever it spells;
		// neither is a Management API path under /console/system.
		for _, p := range []string{"/console/system/../api/users", "/console/system/%2e%2e/api/users", "/console/api/../system/tenants"} {
			if r := admin.send("GET", p, nil, nil); r.Status != 404 {
				t.Errorf("GET %s: %d %s, want 404", p, r.Status, r.Body)
			}
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			headers map[string]string
		}{
			{"no token", map[string]string{"X-CSRF-Token": ""}},
			{"wrong token", map[string]string{"X-CSRF-Token": strings.Repeat("A", 43)}},
			{"other origin", map[string]string{"Origin": "https://evil.example"}},
			{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}},
		} {
			r := admin.send("POST", "/console/system/tenants", map[string]any{"id": "csrf-made"}, tc.headers)
			if r.Status != 403 || r.Code() != "auth.forbidden" {
				t.Errorf("%s: %d %s, want 403", tc.name, r.Status, r.Body)
			}
		}
		if r := call(t, "GET", e.URL+"/system/tenants/csrf-made", sys, nil); r.Status != 404 {
			t.Errorf("a refused write made the tenant: %d %s", r.Status, r.Body)
		}
	})

	t.Run("OthersRefused", func(t *testing.T) {
		// A client with every manager role of the tenant, but not an
		// instance administrator.
		bot := e.createAPIClient(t, "tenant-owner-bot")
		e.do(t, "POST", "/api/managers", map[string]any{"clientId": bot.ClientID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)
		owner := e.createUser(t, map[string]any{"username": "ada", "password": "correct horse battery"})
		e.do(t, "POST", "/api/managers", map[string]any{"userId": owner.ID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)
		for name, creds := range map[string]map[string]string{
			"non-admin client": {"clientId": bot.ClientID, "clientSecret": bot.ClientSecret},
			"manager password": {"username": "ada", "password": "correct horse battery"},
		} {
			c := newConsoleClient(t, e.URL)
			c.signIn(creds)
			if sessionInstanceAdmin(t, c) {
				t.Errorf("%s: the session says instanceAdmin", name)
			}
			if r := c.send("GET", "/console/api/users", nil, nil); r.Status != 200 {
				t.Errorf("%s: its Management API: %d %s", name, r.Status, r.Body)
			}
			for _, req := range [][2]string{{"GET", "/console/system/tenants"}, {"POST", "/console/system/tenants"},
				{"GET", "/console/system/cluster"}, {"GET", "/console/system/admins"}} {
				var body any
				if req[0] == "POST" {
					body = map[string]any{"id": "not-by-" + strings.ReplaceAll(name, " ", "-")}
				}
				if r := c.send(req[0], req[1], body, nil); r.Status != 403 || r.Code() != "auth.forbidden" {
					t.Errorf("%s: %s %s: %d %s, want 403", name, req[0], req[1], r.Status, r.Body)
				}
			}
		}
		if r := newConsoleClient(t, e.URL).send("GET", "/console/system/tenants", nil, nil); r.Status != 401 {
			t.Errorf("no session: %d %s, want 401", r.Status, r.Body)
		}
		// A system token is no console session either.
		if r := newConsoleClient(t, e.URL).send("GET", "/console/system/tenants", nil,
			map[string]string{"Authorization": "Bearer " + sys}); r.Status != 401 {
			t.Errorf("system token through the console: %d, want 401", r.Status)
		}
		if r := call(t, "GET", e.URL+"/system/tenants?page_size=100", sys, nil); strings.Contains(string(r.Body), "not-by-") {
			t.Errorf("a refused session made a tenant: %s", r.Body)
		}
	})

	t.Run("RemovalEndsPower", func(t *testing.T) {
		ops := e.createAPIClient(t, "ops-admin")
		e.do(t, "POST", "/api/managers", map[string]any{"clientId": ops.ClientID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)
		if r := call(t, "POST", e.URL+"/system/admins", sys, map[string]any{"applicationId": ops.ClientID}); r.Status != 201 {
			t.Fatalf("make ops-admin an instance administrator: %d %s", r.Status, r.Body)
		}
		c := newConsoleClient(t, e.URL)
		c.signIn(map[string]string{"clientId": ops.ClientID, "clientSecret": ops.ClientSecret})
		if !sessionInstanceAdmin(t, c) {
			t.Fatal("ops-admin's session is not an instance administrator's")
		}
		if r := c.send("GET", "/console/system/tenants", nil, nil); r.Status != 200 {
			t.Fatalf("ops-admin lists tenants: %d %s", r.Status, r.Body)
		}
		if r := call(t, "DELETE", e.URL+"/system/admins/"+ops.ClientID, sys, nil); r.Status != 204 {
			t.Fatalf("remove ops-admin: %d %s", r.Status, r.Body)
		}
		if r := c.send("GET", "/console/system/tenants", nil, nil); r.Status != 403 {
			t.Errorf("after removal: %d %s, want 403", r.Status, r.Body)
		}
		if sessionInstanceAdmin(t, c) {
			t.Error("after removal the session still says instanceAdmin")
		}
		// The session itself lives on for the Management API.
		if r := c.send("GET", "/console/api/users", nil, nil); r.Status != 200 {
			t.Errorf("after removal, its Management API: %d %s", r.Status, r.Body)
		}
	})
}

// sessionInstanceAdmin returns the instanceAdmin of GET /console/session.
func sessionInstanceAdmin(t testing.TB, c *consoleClient) bool {
	t.Helper()
	r := c.send("GET", "/console/session", nil, nil)
	var s struct {
		InstanceAdmin *bool `json:"instanceAdmin"`
	}
	r.JSON(t, &s)
	if r.Status != 200 || s.InstanceAdmin == nil {
		t.Fatalf("GET /console/session: %d %s", r.Status, r.Body)
	}
	return *s.InstanceAdmin
}

// TestConsole_SystemAPIForwardedByFollower: in cluster mode a follower hands
// the console's system API requests to the leader, as it does its
// Management API requests and sessions (the leader checks the session and
// writes); the console's files it serves itself.
func TestConsole_SystemAPIForwardedByFollower(t *testing.T) {
	follower := &fakeCluster{}
	srv := apitest.Start(t, apitest.Options{Cluster: follower})
	c := newConsoleClient(t, srv.URL)
	for _, req := range [][2]string{{"GET", "/console/system/cluster"}, {"DELETE", "/console/system/tenants/acme"}, {"GET", "/console/api/users"}} {
		if r := c.send(req[0], req[1], nil, nil); r.Status != http.StatusTeapot {
			t.Errorf("%s %s on a follower: %d %s, want the leader's answer", req[0], req[1], r.Status, r.Body)
		}
	}
	if r := c.send("GET", "/console/cluster", nil, nil); r.Status != 200 {
		t.Errorf("the Cluster page's file on a follower: %d", r.Status)
	}
	follower.mu.Lock()
	defer follower.mu.Unlock()
	if want := []string{"GET /console/system/cluster", "DELETE /console/system/tenants/acme", "GET /console/api/users"}; strings.Join(follower.forwarded, ",") != strings.Join(want, ",") {
		t.Errorf("forwarded %q, want %q", follower.forwarded, want)
	}
}

// BenchmarkConsole_SystemTenants compares GET /console/system/tenants
// (first page of 20, with the total) with a session cookie, which checks
// the session and the instance administrator's membership at every
// request, with GET /system/tenants and a system token, in one run, over
// 100 tenants: the ratio is what the console's checks cost.
func BenchmarkConsole_SystemTenants(b *testing.B) {
	srv := apitest.Start(b)
	sys := srv.SystemToken(b)
	for i := range 99 {
		r := httptest.NewRequest("POST", "/system/tenants", strings.NewReader(fmt.Sprintf(`{"id":"t%03d"}`, i)))
		r.Header.Set("Authorization", "Bearer "+sys)
		r.Header.Set("Content-Type", "application/json")
		serve(b, srv.Handler, r, http.StatusCreated)
	}
	signIn := httptest.NewRequest("POST", "/console/session",
		strings.NewReader(fmt.Sprintf(`{"clientId":%q,"clientSecret":%q}`, srv.ClientID, srv.ClientSecret)))
	signIn.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, signIn)
	if rec.Code != http.StatusCreated {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	cookie := rec.Result().Cookies()[0]
	for _, bc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"Bearer", func() *http.Request {
			r := httptest.NewRequest("GET", "/system/tenants?page=1&page_size=20", nil)
			r.Header.Set("Authorization", "Bearer "+sys)
			return r
		}},
		{"Console", func() *http.Request {
			r := httptest.NewRequest("GET", "/console/system/tenants?page=1&page_size=20", nil)
			r.AddCookie(cookie)
			return r
		}},
	} {
		check := httptest.NewRecorder()
		srv.Handler.ServeHTTP(check, bc.req())
		if got := check.Header().Get("Total-Number"); check.Code != http.StatusOK || got != "100" {
			b.Fatalf("%s: %d, Total-Number %q, want 100", bc.name, check.Code, got)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, srv.Handler, bc.req(), http.StatusOK)
			}
		})
	}
}
