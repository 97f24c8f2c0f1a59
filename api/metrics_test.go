package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// tenantSeries returns "family{labels}" of every series labelled tenant.
func (e *env) tenantSeries(t *testing.T, tenant string) []string {
	t.Helper()
	families, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "tenant" && l.GetValue() == tenant {
					out = append(out, f.GetName()+m.String())
				}
			}
		}
	}
	return out
}

// TestMetrics_DeletedTenantSeriesDropped checks that deleting a tenant
// removes every series that names it: requests, rate-limit hits, tokens
// issued, token failures, audit entries suppressed and JWT bearer
// assertions refused unverified.
func TestMetrics_DeletedTenantSeriesDropped(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	other := createTenant(t, e, "other")
	sys := e.SystemToken(t)
	if r := call(t, "PATCH", e.URL+"/system/tenants/acme", sys, map[string]any{"rateLimit": map[string]any{"requests": 3, "perSeconds": 3600}}); r.Status != http.StatusOK {
		t.Fatalf("rate limit: %d %s", r.Status, r.Body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://acme.logto.app/api"}, "scope": {"all"}}
	r := postForm(t, e.URL+"/t/acme/oidc/token", form, acme.Credentials.ClientID, acme.Credentials.ClientSecret)
	if r.Status != http.StatusOK {
		t.Fatalf("acme token: %d %s", r.Status, r.Body)
	}
	token := accessToken(t, r)
	postForm(t, e.URL+"/t/acme/oidc/token", form, acme.Credentials.ClientID, "wrong")
	for i := range 11 { // beyond the 10 a minute audited one by one
		postForm(t, e.URL+"/t/acme/oidc/token", form, "nobody-"+strconv.Itoa(i), "wrong")
	}
	postForm(t, e.URL+"/t/acme/oidc/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"assertion": {"e30.e30.e30"}}, "", "")
	for range 3 {
		call(t, "GET", e.URL+"/t/acme/api/users", token, nil)
	}
	otherForm := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://other.logto.app/api"}, "scope": {"all"}}
	r = postForm(t, e.URL+"/t/other/oidc/token", otherForm, other.Credentials.ClientID, other.Credentials.ClientSecret)
	call(t, "GET", e.URL+"/t/other/api/users", accessToken(t, r), nil)

	got := strings.Join(e.tenantSeries(t, "acme"), "\n")
	for _, name := range []string{"idbolt_http_requests_total", "idbolt_rate_limit_hits_total", "idbolt_tokens_issued_total",
		"idbolt_token_failures_total", "idbolt_audit_suppressed_total", "idbolt_jwt_bearer_unverified_total"} {
		if !strings.Contains(got, name) {
			t.Fatalf("acme has no %s series before the delete: %v", name, got)
		}
	}
	if r := call(t, "DELETE", e.URL+"/system/tenants/acme", sys, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if got := e.tenantSeries(t, "acme"); len(got) != 0 {
		t.Errorf("series of the deleted tenant: %v", got)
	}
	if got := e.tenantSeries(t, "other"); len(got) == 0 {
		t.Error("the other tenant's series went too")
	}
}
