package api_test

import (
	"net/http"
	"testing"
)

// TestSecrets_NoStore checks that every response carrying a secret value
// tells caches not to keep it, and that ordinary responses are untouched.
func TestSecrets_NoStore(t *testing.T) {
	e := newEnv(t)
	sys := e.SystemToken(t)
	app := e.newApp(t, "worker", "MachineToMachine")
	c := e.createAPIClient(t, "nostore-bot")
	cases := []struct {
		name, method, path, token string
		body                      any
		wantStatus                int
		secret                    string // a field of the answer that must be set
		wantNoStore               bool
	}{
		{"application create", "POST", "/api/applications", e.token,
			map[string]any{"name": "m2m", "type": "MachineToMachine"}, http.StatusOK, "secret", true},
		{"application secret create", "POST", "/api/applications/" + app.ID + "/secrets", e.token,
			map[string]any{"name": "second"}, http.StatusCreated, "value", true},
		{"API client create", "POST", "/api/api-clients", e.token,
			map[string]any{"clientId": "another-bot"}, http.StatusCreated, "clientSecret", true},
		{"API client secret rotate", "POST", "/api/api-clients/" + c.ClientID + "/secret", e.token,
			map[string]any{}, http.StatusCreated, "clientSecret", true},
		{"service user key file", "POST", "/api/users/" + c.UserID + "/keys", e.token,
			map[string]any{"type": "json", "algorithm": "ES256"}, http.StatusCreated, "key", true},
		{"tenant create", "POST", "/system/tenants", sys,
			map[string]any{"id": "nostore", "name": "No store"}, http.StatusCreated, "credentials", true},
		{"tenant webhook signing key", "PATCH", "/system/tenants/default", sys,
			map[string]any{"emailWebhookUrl": "https://mailer.example.com/hook"}, http.StatusOK, "emailWebhookSigningKey", true},
		{"tenant update without key", "PATCH", "/system/tenants/default", sys,
			map[string]any{"name": "Default"}, http.StatusOK, "", false},
		{"application get", "GET", "/api/applications/" + app.ID, e.token, nil, http.StatusOK, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, e.URL+tc.path, tc.token, tc.body)
			if r.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.wantStatus, r.Body)
			}
			if tc.secret != "" {
				if _, ok := objectKeys(t, r.Body)[tc.secret]; !ok {
					t.Fatalf("answer has no %q: %s", tc.secret, r.Body)
				}
			}
			got := r.Header.Get("Cache-Control")
			if tc.wantNoStore && (got != "no-store" || r.Header.Get("Pragma") != "no-cache") {
				t.Errorf("Cache-Control %q, Pragma %q; want no-store, no-cache", got, r.Header.Get("Pragma"))
			} else if !tc.wantNoStore && got != "" {
				t.Errorf("Cache-Control %q on an answer without a secret", got)
			}
		})
	}
}
