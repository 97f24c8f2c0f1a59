package main

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// minMetricsToken is the shortest metrics token accepted: anything shorter
// could be guessed, since /metrics has no rate limit.
const minMetricsToken = 32

// readMetricsToken returns the token in the file at path (surrounding
// whitespace, such as a final newline, removed), or "" when path is "".
// The same file can be Prometheus's authorization.credentials_file.
func readMetricsToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--metrics-token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if len(token) < minMetricsToken || strings.ContainsAny(token, " \t\r\n") {
		return "", fmt.Errorf("--metrics-token-file %s: want one token of at least %d characters (e.g. openssl rand -hex 32)", path, minMetricsToken)
	}
	return token, nil
}

// requireMetricsToken serves h only to requests with "Authorization: Bearer
// <token>", compared in constant time (the SHA-256 of both, so the length
// does not leak either); others get 401 and learn nothing of the tenants.
func requireMetricsToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, sent, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(sent))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idbolt metrics"`)
			http.Error(w, "/metrics needs the metrics token (--metrics-token-file).", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
