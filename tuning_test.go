package main

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestRun_PprofAddr: --pprof-addr serves the profiles on its own loopback
// listener and nowhere else.
func TestRun_PprofAddr(t *testing.T) {
	s := startRun(t, filepath.Join(t.TempDir(), "idbolt.db"), bootstrapEnv, "--pprof-addr", "127.0.0.1:0")
	re := regexp.MustCompile(`msg="profiles listening" addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(s.log.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("profiles listener not logged:\n%s", s.log)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("heap profile: %d %.200s", resp.StatusCode, body)
	}
	if resp, err := http.Get(s.url + "/debug/pprof/heap"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("profiles on the main listener: %v %v", resp, err)
	}
}

func TestCheckPprofAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:6060": true, "[::1]:6060": true, "localhost:6060": true, "127.0.0.2:0": true,
		":6060": false, "0.0.0.0:6060": false, "10.0.0.1:6060": false, "[::]:6060": false, "example.com:6060": false, "6060": false,
	} {
		if err := checkPprofAddr(addr); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", addr, err, ok)
		}
	}
}

// TestRun_GCPercent: serve sets the collector's target to defaultGCPercent
// unless GOGC is in the environment.
func TestRun_GCPercent(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	env := map[string]string{"GOGC": "100"}
	maps.Copy(env, bootstrapEnv)
	s := startRun(t, filepath.Join(t.TempDir(), "idbolt.db"), env)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set: %d", got)
	}
	s.stop(t)
	startRun(t, filepath.Join(t.TempDir(), "idbolt.db"), bootstrapEnv)
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Errorf("without GOGC: %d, want %d", got, defaultGCPercent)
	}
}

// TestAPIFirst: with the shortcut, every request gets what ServeMux alone
// gives it: the API for clean paths, the redirects of unclean ones, the
// mux's own paths.
func TestAPIFirst(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api "+r.URL.Path) })
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "metrics") }))
	mux.Handle("/", api)
	short := apiFirst(mux, api, "/metrics")
	tookShortcut := 0
	for _, method := range []string{"GET", "POST", "HEAD", "DELETE", "CONNECT"} {
		for _, target := range []string{"/", "/api/users/abc", "/api/users/", "/t/acme/oidc/token", "/.well-known/openid-configuration",
			"/a/.b/..c", "//api/users", "/api//users", "/a/./b", "/a/../b", "/a/.", "/a/..", "/..", "/metrics", "/metrics/", "/metric",
			"/a%2Fb", "/%2e%2e/x", "/a%20b", "/caf%C3%A9", "/api/users?x=1", "/a/../b?q=1"} {
			want, got := httptest.NewRecorder(), httptest.NewRecorder()
			mux.ServeHTTP(want, httptest.NewRequest(method, target, nil))
			short.ServeHTTP(got, httptest.NewRequest(method, target, nil))
			if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Location") != want.Header().Get("Location") {
				t.Errorf("%s %s: got %d %q %q, want %d %q %q", method, target, got.Code, got.Body, got.Header().Get("Location"),
					want.Code, want.Body, want.Header().Get("Location"))
			}
			if r := httptest.NewRequest(method, target, nil); r.Method != http.MethodConnect && r.URL.RawPath == "" && cleanPath(r.URL.Path) {
				tookShortcut++
			}
		}
	}
	if tookShortcut == 0 {
		t.Error("no request took the shortcut")
	}
}
