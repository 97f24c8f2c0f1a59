package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun_Console: serve answers the console at /console on a fresh start,
// signs the bootstrap admin in, keeps the session across a restart, makes
// the cookie Secure when the public URL is https, and never writes the
// session id or the secret to its log.
func TestRun_Console(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv, "--base-url", "https://idbolt.test")
	get := func(url, cookie string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	if status, h, body := get(s.url+"/console", ""); status != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") ||
		!strings.Contains(body, "/console/app.js") {
		t.Fatalf("GET /console: %d %v", status, h)
	}
	if status, h, _ := get(s.url+"/", ""); status != http.StatusFound || h.Get("Location") != "/console" {
		t.Errorf("GET /: %d %q", status, h.Get("Location"))
	}
	resp, err := http.Post(s.url+"/console/session", "application/json",
		strings.NewReader(`{"clientId":"`+testClientID+`","clientSecret":"`+testSecret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	setCookie := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != http.StatusCreated || !strings.Contains(setCookie, "; Secure") || !strings.Contains(setCookie, "HttpOnly") {
		t.Fatalf("sign in: %d %q", resp.StatusCode, setCookie)
	}
	cookie := strings.SplitN(setCookie, ";", 2)[0]
	id := cookie[strings.LastIndexByte(cookie, '.')+1:]
	s.stop(t)
	for _, secret := range []string{id, testSecret} {
		if strings.Contains(s.log.String(), secret) {
			t.Errorf("the log holds a secret:\n%s", s.log)
		}
	}

	s2 := startRun(t, path, nil, "--base-url", "https://idbolt.test")
	if status, _, body := get(s2.url+"/console/api/users", cookie); status != 200 {
		t.Errorf("the session after a restart: %d %s", status, body)
	}
}
