package api

import (
	"bytes"
	"crypto/tls"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestConsole_OutsideOpenAPI: the console's routes are served beside the
// router on purpose (console.go), so the OpenAPI document, which lists the
// Management API, has none of them and the router itself answers 404.
func TestConsole_OutsideOpenAPI(t *testing.T) {
	s := newServer(Config{BaseURL: "http://idbolt.test"})
	for _, rt := range s.registered {
		if strings.HasPrefix(rt.path, "/console") {
			t.Errorf("route %s %s is registered through handle", rt.method, rt.path)
		}
	}
	if bytes.Contains(s.openapi.forTenant("http://idbolt.test"), []byte(`"/console`)) {
		t.Error("the OpenAPI document names a console path")
	}
	if h, _, _ := s.router.Lookup("POST", "/console/session"); h != nil {
		t.Error("the router serves /console/session")
	}
}

// TestConsole_CookieSecure: the session cookie is Secure when the request
// came over TLS or the public URL is https (TLS ending at a proxy).
func TestConsole_CookieSecure(t *testing.T) {
	for _, tc := range []struct {
		base string
		tls  bool
		want bool
	}{
		{"http://localhost:3001", false, false},
		{"http://localhost:3001", true, true},
		{"https://id.example.com", false, true},
	} {
		s := &Server{baseURL: tc.base}
		r := httptest.NewRequest("POST", "http://localhost:3001/console/session", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := s.consoleSecure(r); got != tc.want {
			t.Errorf("base %s, TLS %v: Secure %v, want %v", tc.base, tc.tls, got, tc.want)
		}
	}
}

// TestConsole_SameOrigin: which Origin and Sec-Fetch-Site a write may
// carry.
func TestConsole_SameOrigin(t *testing.T) {
	s := &Server{baseURL: "https://id.example.com"}
	for _, tc := range []struct {
		origin, site string
		want         bool
	}{
		{"", "", true}, // not a browser: the CSRF token guards it
		{"https://127.0.0.1:3001", "same-origin", true},
		{"https://id.example.com", "", true},            // the public URL, behind a proxy
		{"https://127.0.0.1:3001", "", true},            // https because the public URL is
		{"http://127.0.0.1:3001", "same-origin", false}, // http while the public URL is https: the cookie is Secure too
		{"http://127.0.0.1:4000", "same-site", false},
		{"https://evil.example", "cross-site", false},
		{"", "cross-site", false},
		{"null", "", false},
	} {
		r := httptest.NewRequest("POST", "http://127.0.0.1:3001/console/session", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.site != "" {
			r.Header.Set("Sec-Fetch-Site", tc.site)
		}
		if got := s.consoleSameOrigin(r); got != tc.want {
			t.Errorf("Origin %q, Sec-Fetch-Site %q: %v, want %v", tc.origin, tc.site, got, tc.want)
		}
	}
}

// FuzzParseConsoleCookie: the session cookie's value comes from the
// client; whatever it is, a parse that succeeds gives two non-empty parts
// that rebuild it, the id without a dot.
func FuzzParseConsoleCookie(f *testing.F) {
	for _, seed := range []string{"default.abc", "t.x.y", ".abc", "default.", "", ".", "a.b", "acme.AAAA_-"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tenant, id, ok := parseConsoleCookie(v)
		if !ok {
			if tenant != "" || id != "" {
				t.Fatalf("%q: refused with parts %q %q", v, tenant, id)
			}
			return
		}
		if tenant == "" || id == "" || strings.Contains(id, ".") || tenant+"."+id != v {
			t.Fatalf("%q: parsed as %q %q", v, tenant, id)
		}
	})
}
