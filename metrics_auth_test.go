package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// getMetrics fetches /metrics with an optional bearer token.
func getMetrics(t *testing.T, base, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// getSwagger fetches the OpenAPI document, which needs no token.
func getSwagger(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/api/swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/swagger.json: %d %.300s", resp.StatusCode, body)
	}
	return string(body)
}

// TestRun_MetricsNeedTokenOnMainListener checks that /metrics, which names
// every tenant, is not public on the main listener: absent without a
// metrics token, and behind it with one.
func TestRun_MetricsNeedTokenOnMainListener(t *testing.T) {
	dir := t.TempDir()

	open := startRun(t, filepath.Join(dir, "open.db"), bootstrapEnv)
	if status, _, body := getMetrics(t, open.url, ""); status != http.StatusNotFound || strings.Contains(body, "idbolt_") {
		t.Errorf("no metrics token: /metrics on the main listener answers %d\n%.300s", status, body)
	}
	if doc := getSwagger(t, open.url); strings.Contains(doc, `"/metrics"`) {
		t.Error("no metrics token: the OpenAPI document names /metrics")
	}
	open.stop(t)

	const token = "metrics-token-0123456789abcdef0123456789abcdef"
	tokenFile := filepath.Join(dir, "metrics-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"IDBOLT_METRICS_TOKEN_FILE": tokenFile}
	for k, v := range bootstrapEnv {
		env[k] = v
	}
	s := startRun(t, filepath.Join(dir, "guarded.db"), env)
	for _, bad := range []string{"", "wrong", token + "x", strings.ToUpper(token)} {
		status, h, body := getMetrics(t, s.url, bad)
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer ") || strings.Contains(body, "idbolt_") {
			t.Errorf("token %q: %d %q\n%.300s", bad, status, h.Get("WWW-Authenticate"), body)
		}
	}
	if status, _, body := getMetrics(t, s.url, token); status != http.StatusOK || !strings.Contains(body, "idbolt_tenants 1") {
		t.Errorf("right token: %d\n%.300s", status, body)
	}
	if doc := getSwagger(t, s.url); !strings.Contains(doc, `"/metrics"`) || !strings.Contains(doc, `"metricsToken"`) {
		t.Error("metrics on the main listener: the OpenAPI document does not name /metrics and its token")
	}

	// A token too short to resist guessing is refused at start-up.
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("secret\n"), 0o600)
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "x.db"), "--metrics-token-file", short},
		func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "metrics-token-file") {
		t.Errorf("short token: %v", err)
	}
}
