package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
)

// BenchmarkConsole_UsersPage compares the Users page's request, GET
// /console/api/users (first page of 20, with the total) with a session
// cookie, with the same list through /api/users and a bearer token, in one
// run, in a tenant of 100,000 users: the ratio is what the console's
// session check and hand-off to the route cost.
func BenchmarkConsole_UsersPage(b *testing.B) {
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	for batch := range 100 {
		users := make([]map[string]any, 1000)
		for i := range users {
			n := batch*1000 + i
			users[i] = map[string]any{"username": fmt.Sprintf("user%06d", n), "primaryEmail": fmt.Sprintf("user%06d@example.com", n)}
		}
		body, _ := json.Marshal(map[string]any{"users": users})
		req := httptest.NewRequest("POST", "/api/users/batch", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		serve(b, srv.Handler, req, http.StatusCreated)
	}
	signIn, _ := json.Marshal(map[string]string{"clientId": srv.ClientID, "clientSecret": srv.ClientSecret})
	req := httptest.NewRequest("POST", "/console/session", bytes.NewReader(signIn))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	cookie := rec.Result().Cookies()[0]
	check := httptest.NewRequest("GET", "/console/api/users?page_size=1", nil)
	check.AddCookie(cookie)
	rec = httptest.NewRecorder()
	srv.Handler.ServeHTTP(rec, check)
	if got := rec.Header().Get("Total-Number"); got != "100000" {
		b.Fatalf("the console lists %q users, want 100000", got)
	}

	for _, bc := range []struct {
		name string
		req  func() *http.Request
	}{
		{"Bearer", func() *http.Request {
			r := httptest.NewRequest("GET", "/api/users?page=1&page_size=20", nil)
			r.Header.Set("Authorization", "Bearer "+token)
			return r
		}},
		{"Console", func() *http.Request {
			r := httptest.NewRequest("GET", "/console/api/users?page=1&page_size=20", nil)
			r.AddCookie(cookie)
			return r
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, srv.Handler, bc.req(), http.StatusOK)
			}
		})
	}
}
