package api_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestAuth_WWWAuthenticate checks the RFC 6750 challenge on every kind of
// 401 of the Management and system APIs.
func TestAuth_WWWAuthenticate(t *testing.T) {
	e := newEnv(t)
	createTenant(t, e, "acme")
	sys := e.SystemToken(t)
	c := e.createAPIClient(t, "challenge-bot")
	disabled := e.apiClientToken(t, c.ClientID, c.ClientSecret)
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/disable", nil, http.StatusOK, nil)

	const mgmt = `Bearer realm="https://default.logto.app/api"`
	cases := []struct {
		name, path, authorization string
		wantStatus                int
		want                      string
	}{
		{"no header", "/api/users", "", 401, mgmt},
		{"other scheme", "/api/users", "Basic YTpi", 401, mgmt},
		{"empty bearer", "/api/users", "Bearer ", 401, mgmt},
		{"garbage token", "/api/users", "Bearer not-a-jwt", 401, mgmt + `, error="invalid_token"`},
		{"token of another API", "/api/users", "Bearer " + sys, 401, mgmt + `, error="invalid_token"`},
		{"disabled client", "/api/users", "Bearer " + disabled, 401, mgmt + `, error="invalid_token"`},
		{"other tenant", "/t/acme/api/users", "Bearer " + e.token, 401, `Bearer realm="https://acme.logto.app/api", error="invalid_token"`},
		{"system, no header", "/system/tenants", "", 401, `Bearer realm="urn:idbolt:system"`},
		{"system, management token", "/system/tenants", "Bearer " + e.token, 401, `Bearer realm="urn:idbolt:system", error="invalid_token"`},
		{"valid token", "/api/users", "Bearer " + e.token, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", e.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if got := resp.Header.Values("WWW-Authenticate"); (tc.want == "" && len(got) != 0) || (tc.want != "" && (len(got) != 1 || got[0] != tc.want)) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.want)
			}
		})
	}

	// The token endpoint keeps RFC 6749's rule: a Basic challenge only to a
	// client that authenticated with Basic.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.ClientID}, "client_secret": {"wrong"}}
	if r := postForm(t, e.URL+"/oidc/token", form, "", ""); r.Status != 401 || r.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("token endpoint, secret in body: %d, WWW-Authenticate %q", r.Status, r.Header.Get("WWW-Authenticate"))
	}
}
