package main

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)
	addr := strings.TrimPrefix(s.url, "http://")
	check := func(env map[string]string, args ...string) error {
		return run(context.Background(), append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &strings.Builder{}, &strings.Builder{})
	}
	if err := check(nil, "--url", s.url); err != nil {
		t.Errorf("--url of a running server: %v", err)
	}
	if err := check(map[string]string{"IDBOLT_HEALTHCHECK_URL": s.url}); err != nil {
		t.Errorf("IDBOLT_HEALTHCHECK_URL of a running server: %v", err)
	}
	if err := check(map[string]string{"IDBOLT_ADDR": addr}); err != nil {
		t.Errorf("URL from IDBOLT_ADDR %s: %v", addr, err)
	}
	s.stop(t)
	if err := check(nil, "--url", s.url); err == nil {
		t.Error("a stopped server passed")
	}
}

// TestHealthcheck_Answers: only 204 from /api/status/ready passes; a
// redirect is not followed.
func TestHealthcheck_Answers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ok     bool
	}{{"Ready", 204, true}, {"NotReady", 503, false}, {"Redirect", 302, false}, {"OKIsNotTheContract", 200, false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/status/ready" {
					w.WriteHeader(404)
					return
				}
				if tc.status == 302 {
					w.Header().Set("Location", "/api/status")
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			_, err := runCmd("healthcheck", "--url", srv.URL)
			if (err == nil) != tc.ok {
				t.Errorf("status %d: err %v", tc.status, err)
			}
		})
	}
}

func TestHealthcheck_CAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	if _, err := runCmd("healthcheck", "--url", srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server whose CA is unknown passed: %v", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd("healthcheck", "--url", srv.URL, "--ca-file", ca); err != nil {
		t.Errorf("with --ca-file: %v %s", err, out)
	}
	if _, err := runCmd("healthcheck", "--url", srv.URL, "--ca-file", filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("a missing --ca-file passed")
	}
}

func TestLocalURL(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		https bool
		want  string
	}{
		{":3001", false, "http://127.0.0.1:3001"},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080"},
		{"[::]:3001", true, "https://[::1]:3001"},
		{"10.1.2.3:3001", false, "http://10.1.2.3:3001"},
		{"idbolt.internal:443", true, "https://idbolt.internal:443"},
		{"3001", false, ""},
		{":0", false, ""},
	} {
		got, err := localURL(tc.addr, tc.https)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("localURL(%q, %v) = %q, %v; want %q", tc.addr, tc.https, got, err, tc.want)
		}
	}
}
