package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// preflight sends a browser's CORS preflight and returns the origin the
// answer allows.
func preflight(t *testing.T, url, origin, method string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodOptions, url, nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight %s from %s: %d, credentials %q", url, origin, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Credentials"))
	}
	return resp.Header.Get("Access-Control-Allow-Origin")
}

func TestRun_CORSOrigins(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"Flag", bootstrapEnv, []string{"--cors-origins", "https://ops.example,HTTPS://Admin.Example:443/"}},
		{"Env", map[string]string{"IDBOLT_CORS_ORIGINS": "https://ops.example, https://admin.example",
			"IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startRun(t, t.TempDir()+"/idbolt.db", tc.env, tc.args...)
			for _, path := range []string{"/api/users", "/oidc/token", "/system/tenants"} {
				for _, origin := range []string{"https://ops.example", "https://admin.example"} {
					if got := preflight(t, s.url+path, origin, "POST"); got != origin {
						t.Errorf("%s from %s: Access-Control-Allow-Origin %q", path, origin, got)
					}
				}
				if got := preflight(t, s.url+path, "https://evil.example", "POST"); got != "" {
					t.Errorf("%s from another origin: Access-Control-Allow-Origin %q", path, got)
				}
			}
			if got := preflight(t, s.url+"/oidc/jwks", "https://evil.example", "GET"); got != "*" {
				t.Errorf("JWKS: Access-Control-Allow-Origin %q, want *", got)
			}
		})
	}
}

func TestRun_BadCORSOrigins(t *testing.T) {
	for _, v := range []string{"https://*.example.com", "https://admin.example.com/path", "admin.example.com", "null"} {
		err := run(context.Background(), []string{"serve", "--cors-origins", v}, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--cors-origins") {
			t.Errorf("--cors-origins %q: %v, want an error naming the flag", v, err)
		}
	}
}
