package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// apiClient is the wire shape of an API client.
type apiClient struct {
	ClientID      string   `json:"clientId"`
	ApplicationID string   `json:"applicationId"`
	UserID        string   `json:"userId"`
	Username      string   `json:"username"`
	Description   *string  `json:"description"`
	FirstName     string   `json:"firstName"`
	LastName      string   `json:"lastName"`
	Name          string   `json:"name"`
	RoleIDs       []string `json:"roleIds"`
	IsDisabled    bool     `json:"isDisabled"`
	ClientSecret  string   `json:"clientSecret"`
}

// createAPIClient creates an API client holding roles and returns it with
// its secret.
func (e *env) createAPIClient(t testing.TB, clientID string, roles ...wireRole) apiClient {
	t.Helper()
	ids := []string{}
	for _, r := range roles {
		ids = append(ids, r.ID)
	}
	var c apiClient
	e.do(t, "POST", "/api/api-clients", map[string]any{"clientId": clientID, "roleIds": ids,
		"firstName": "Bot", "lastName": clientID}, http.StatusCreated, &c)
	if c.ClientSecret == "" {
		t.Fatalf("create %s: no secret", clientID)
	}
	return c
}

// wantClientIDs fails the test unless GET path lists API clients ids, in
// this order.
func (e *env) wantClientIDs(t testing.TB, path string, ids ...string) {
	t.Helper()
	var list []apiClient
	e.do(t, "GET", path, nil, http.StatusOK, &list)
	got := make([]string, len(list))
	for i, c := range list {
		got[i] = c.ClientID
	}
	if join(got...) != join(ids...) {
		t.Errorf("GET %s: %v, want %v", path, got, ids)
	}
}

// adminRole creates a MachineToMachine role with the Management API's all.
func (e *env) adminRole(t testing.TB, name string) wireRole {
	t.Helper()
	return e.createRole(t, name, "MachineToMachine", e.managementScope(t))
}

// apiClientToken gets a Management API token for an API client.
func (e *env) apiClientToken(t testing.TB, id, secret string) string {
	t.Helper()
	return accessToken(t, e.managementToken(t, id, secret))
}

// wantTokenError fails the test unless r is an OAuth error of type typ whose
// description contains desc.
func wantTokenError(t testing.TB, r response, status int, typ, desc string) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	json.Unmarshal(r.Body, &body)
	if r.Status != status || body.Error != typ || !strings.Contains(body.Description, desc) {
		t.Errorf("token: %d %s, want %d %s with %q", r.Status, r.Body, status, typ, desc)
	}
}

func TestAPIClients_Lifecycle(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, apitest.Options{Now: clock})
	admin := e.adminRole(t, "admin")

	var c apiClient
	r := e.do(t, "POST", "/api/api-clients", map[string]any{"clientId": "ci-bot.prod_1", "roleIds": []string{admin.ID},
		"firstName": "CI", "lastName": "Bot", "description": "deploys"}, http.StatusCreated, &c)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("create: Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if c.ClientID != "ci-bot.prod_1" || c.ApplicationID != c.ClientID || c.UserID == "" || c.ClientSecret == "" ||
		c.Name != "CI Bot" || c.Username != "service-account-ci-bot.prod_1" || c.IsDisabled ||
		len(c.RoleIDs) != 1 || c.RoleIDs[0] != admin.ID || c.Description == nil || *c.Description != "deploys" {
		t.Fatalf("created %+v", c)
	}

	// The secret is shown once.
	got := e.do(t, "GET", "/api/api-clients/"+c.ClientID, nil, http.StatusOK, nil)
	if strings.Contains(string(got.Body), "clientSecret") || strings.Contains(string(got.Body), c.ClientSecret) {
		t.Errorf("GET shows the secret: %s", got.Body)
	}
	list := e.do(t, "GET", "/api/api-clients", nil, http.StatusOK, nil)
	if strings.Contains(string(list.Body), c.ClientSecret) || list.Header.Get("Total-Number") != "1" {
		t.Errorf("list: %s %v", list.Body, list.Header)
	}

	// The service-account user is a user of the tenant.
	var u user
	e.do(t, "GET", "/api/users/"+c.UserID, nil, http.StatusOK, &u)
	if u.Username == nil || *u.Username != "service-account-ci-bot.prod_1" || u.Name == nil || *u.Name != "CI Bot" ||
		u.Profile["givenName"] != "CI" || u.Profile["familyName"] != "Bot" || u.HasPassword {
		t.Errorf("user %+v", u)
	}
	e.wantIDs(t, "/api/users?search=%25service-account-ci-bot%25", c.UserID)

	token := e.apiClientToken(t, c.ClientID, c.ClientSecret)
	if call(t, "GET", e.URL+"/api/users", token, nil).Status != http.StatusOK {
		t.Fatal("the client's token does not work")
	}

	// Disabled: no new token, and the token it holds is refused at once.
	var d apiClient
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/disable", nil, http.StatusOK, &d)
	if !d.IsDisabled {
		t.Errorf("disable: %+v", d)
	}
	wantTokenError(t, e.managementToken(t, c.ClientID, c.ClientSecret), http.StatusUnauthorized, "invalid_client", "disabled")
	wantError(t, call(t, "GET", e.URL+"/api/users", token, nil), http.StatusUnauthorized, "auth.unauthorized")

	// Enabled again: new tokens work; the one issued before the disable
	// stays refused.
	now = now.Add(2 * time.Second)
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/enable", nil, http.StatusOK, &d)
	if d.IsDisabled {
		t.Errorf("enable: %+v", d)
	}
	wantError(t, call(t, "GET", e.URL+"/api/users", token, nil), http.StatusUnauthorized, "auth.unauthorized")
	token = e.apiClientToken(t, c.ClientID, c.ClientSecret)
	if r := call(t, "GET", e.URL+"/api/users", token, nil); r.Status != http.StatusOK {
		t.Fatalf("token after enable: %d %s", r.Status, r.Body)
	}

	// Deleted: client, application, user gone, token refused.
	e.do(t, "DELETE", "/api/api-clients/"+c.ClientID, nil, http.StatusNoContent, nil)
	wantError(t, call(t, "GET", e.URL+"/api/users", token, nil), http.StatusUnauthorized, "auth.unauthorized")
	e.fail(t, "GET", "/api/api-clients/"+c.ClientID, nil, http.StatusNotFound, "entity.not_found")
	e.fail(t, "GET", "/api/applications/"+c.ClientID, nil, http.StatusNotFound, "entity.not_found")
	e.do(t, "GET", "/api/users/"+c.UserID, nil, http.StatusNotFound, nil)
	expectInvalidClient(t, "deleted client", e.managementToken(t, c.ClientID, c.ClientSecret))

	// The id can be taken again, even in the same second, and the old
	// client's tokens do not count for the new one.
	again := e.createAPIClient(t, c.ClientID, admin)
	wantError(t, call(t, "GET", e.URL+"/api/users", token, nil), http.StatusUnauthorized, "auth.unauthorized")
	now = now.Add(time.Second)
	if r := call(t, "GET", e.URL+"/api/users", e.apiClientToken(t, again.ClientID, again.ClientSecret), nil); r.Status != http.StatusOK {
		t.Errorf("the new client's token: %d %s", r.Status, r.Body)
	}
	if again.UserID == c.UserID {
		t.Error("the new client reuses the old user")
	}
}

func TestAPIClients_ServiceAccountIsReadOnlyElsewhere(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "reporter")
	for _, tc := range []struct{ method, path string }{
		{"PATCH", "/api/users/" + c.UserID},
		{"PATCH", "/api/users/" + c.UserID + "/profile"},
		{"PATCH", "/api/users/" + c.UserID + "/custom-data"},
		{"PATCH", "/api/users/" + c.UserID + "/password"},
		{"PATCH", "/api/users/" + c.UserID + "/is-suspended"},
		{"DELETE", "/api/users/" + c.UserID},
	} {
		body := map[string]any{"name": "x", "profile": map[string]any{}, "customData": map[string]any{},
			"password": "a-long-password-1", "isSuspended": true}
		if tc.method == "DELETE" {
			body = nil
		}
		r := call(t, tc.method, e.URL+tc.path, e.token, body)
		wantError(t, r, http.StatusUnprocessableEntity, "user.managed_by_api_client")
		if !strings.Contains(string(r.Body), "/api/api-clients/reporter") {
			t.Errorf("%s %s: message does not point to /api/api-clients: %s", tc.method, tc.path, r.Body)
		}
	}
	for _, tc := range []struct{ method, path string }{
		{"PATCH", "/api/applications/reporter"},
		{"DELETE", "/api/applications/reporter"},
		{"POST", "/api/applications/reporter/secrets"},
		{"DELETE", "/api/applications/reporter/secrets/x"},
	} {
		wantError(t, call(t, tc.method, e.URL+tc.path, e.token, map[string]any{"name": "n"}),
			http.StatusUnprocessableEntity, "application.managed_by_api_client")
	}
	// Nothing changed.
	var got apiClient
	e.do(t, "GET", "/api/api-clients/reporter", nil, http.StatusOK, &got)
	if got.Name != "Bot reporter" {
		t.Errorf("after refused writes: %+v", got)
	}
}

func TestAPIClients_CreateErrors(t *testing.T) {
	e := newEnv(t)
	userRole := e.createRole(t, "viewer", "User")
	e.createAPIClient(t, "taken")
	app := e.newApp(t, "plain", "MachineToMachine")
	e.expectErrors(t, "POST", []errorCase{
		{"missing clientId", "/api/api-clients", map[string]any{}, 400, "guard.invalid_input"},
		{"too short", "/api/api-clients", map[string]any{"clientId": "ab"}, 400, "guard.invalid_input"},
		{"too long", "/api/api-clients", map[string]any{"clientId": strings.Repeat("a", 65)}, 400, "guard.invalid_input"},
		{"upper case", "/api/api-clients", map[string]any{"clientId": "Bot"}, 400, "guard.invalid_input"},
		{"slash", "/api/api-clients", map[string]any{"clientId": "a/b"}, 400, "guard.invalid_input"},
		{"not a string", "/api/api-clients", map[string]any{"clientId": 42}, 400, "guard.invalid_input"},
		{"taken", "/api/api-clients", map[string]any{"clientId": "taken"}, 422, "api_client.client_id_in_use"},
		{"an application's id", "/api/api-clients", map[string]any{"clientId": app.ID}, 422, "api_client.client_id_in_use"},
		{"unknown role", "/api/api-clients", map[string]any{"clientId": "fresh", "roleIds": []string{"nope"}}, 404, "entity.not_found"},
		{"user role", "/api/api-clients", map[string]any{"clientId": "fresh", "roleIds": []string{userRole.ID}}, 422, "application.invalid_role_type"},
		{"long name", "/api/api-clients", map[string]any{"clientId": "fresh", "firstName": strings.Repeat("x", 65)}, 400, "guard.invalid_input"},
	})
	// A refused create leaves nothing behind.
	e.fail(t, "GET", "/api/api-clients/fresh", nil, http.StatusNotFound, "entity.not_found")
	if n := e.countUsers(t); n != "1" {
		t.Errorf("users after refused creates: %s, want 1", n)
	}
	e.wantClientIDs(t, "/api/api-clients?page_size=100", "taken")
}

func TestAPIClients_ListAndSearch(t *testing.T) {
	e := newEnv(t)
	var want []string
	for _, id := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		e.createAPIClient(t, id)
		want = append([]string{id}, want...) // newest first
	}
	var page []apiClient
	r := e.do(t, "GET", "/api/api-clients?page=2&page_size=2", nil, http.StatusOK, &page)
	if r.Header.Get("Total-Number") != "5" || len(page) != 2 || page[0].ClientID != want[2] || page[1].ClientID != want[3] {
		t.Errorf("page 2: %v %+v", r.Header, page)
	}
	if link := strings.Join(r.Header.Values("Link"), ", "); !strings.Contains(link, `page=3&page_size=2>; rel="next"`) {
		t.Errorf("Link %q", link)
	}
	r = e.do(t, "GET", "/api/api-clients?search=%25lt%25", nil, http.StatusOK, &page)
	if r.Header.Get("Total-Number") != "1" || len(page) != 1 || page[0].ClientID != "delta" {
		t.Errorf("search: %v %+v", r.Header, page)
	}
}

func TestAPIClients_Update(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	scopes := e.createScopes(t, res.ID, "read", "write")
	reader := e.createRole(t, "reader", "MachineToMachine", scopes[0])
	writer := e.createRole(t, "writer", "MachineToMachine", scopes[1])
	c := e.createAPIClient(t, "orders-sync", reader)
	app := idName{ID: c.ClientID, Secret: c.ClientSecret}
	if got := e.issue(t, app, res.Indicator, "read write").Scope; got != "read" {
		t.Errorf("scope before: %q", got)
	}
	var upd apiClient
	e.do(t, "PATCH", "/api/api-clients/orders-sync", map[string]any{"roleIds": []string{writer.ID},
		"firstName": "Order", "lastName": "Sync", "description": nil}, http.StatusOK, &upd)
	if upd.Name != "Order Sync" || upd.Description != nil || len(upd.RoleIDs) != 1 || upd.RoleIDs[0] != writer.ID {
		t.Errorf("updated %+v", upd)
	}
	if got := e.issue(t, app, res.Indicator, "read write").Scope; got != "write" {
		t.Errorf("scope after the role change: %q", got)
	}
	var u user
	e.do(t, "GET", "/api/users/"+c.UserID, nil, http.StatusOK, &u)
	if u.Name == nil || *u.Name != "Order Sync" || u.Profile["givenName"] != "Order" {
		t.Errorf("user after update: %+v", u)
	}
	e.fail(t, "PATCH", "/api/api-clients/orders-sync", map[string]any{"roleIds": []string{"nope"}}, 404, "entity.not_found")
	e.fail(t, "PATCH", "/api/api-clients/nope", map[string]any{}, 404, "entity.not_found")
	e.fail(t, "PATCH", "/api/api-clients/orders-sync", map[string]any{"clientId": "other"}, 400, "guard.invalid_input")
}

func TestAPIClients_SecretRotation(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, apitest.Options{Now: func() time.Time { return now }})
	admin := e.adminRole(t, "admin")
	c := e.createAPIClient(t, "rotator", admin)

	// Without grace the old secret stops at once.
	var rot struct {
		ClientSecret            string `json:"clientSecret"`
		PreviousSecretExpiresAt *int64 `json:"previousSecretExpiresAt"`
	}
	e.do(t, "POST", "/api/api-clients/rotator/secret", nil, http.StatusCreated, &rot)
	if rot.ClientSecret == "" || rot.ClientSecret == c.ClientSecret || rot.PreviousSecretExpiresAt != nil {
		t.Fatalf("rotate: %+v", rot)
	}
	expectInvalidClient(t, "old secret", e.managementToken(t, "rotator", c.ClientSecret))
	e.apiClientToken(t, "rotator", rot.ClientSecret)

	// With grace both work until it ends.
	first := rot.ClientSecret
	e.do(t, "POST", "/api/api-clients/rotator/secret", map[string]any{"graceSeconds": 60}, http.StatusCreated, &rot)
	if rot.PreviousSecretExpiresAt == nil || *rot.PreviousSecretExpiresAt != now.Add(time.Minute).UnixMilli() {
		t.Fatalf("rotate with grace: %+v", rot)
	}
	e.apiClientToken(t, "rotator", first)
	e.apiClientToken(t, "rotator", rot.ClientSecret)
	now = now.Add(61 * time.Second)
	expectInvalidClient(t, "old secret after grace", e.managementToken(t, "rotator", first))
	e.apiClientToken(t, "rotator", rot.ClientSecret)

	// Rotating again and again within a grace keeps only the newest three
	// old secrets.
	var secrets []string
	for range 5 {
		e.do(t, "POST", "/api/api-clients/rotator/secret", map[string]any{"graceSeconds": 600}, http.StatusCreated, &rot)
		secrets = append(secrets, rot.ClientSecret)
	}
	expectInvalidClient(t, "fifth-newest secret", e.managementToken(t, "rotator", secrets[0]))
	for _, s := range secrets[1:] {
		e.apiClientToken(t, "rotator", s)
	}

	e.fail(t, "POST", "/api/api-clients/rotator/secret", map[string]any{"graceSeconds": -1}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/api-clients/rotator/secret", map[string]any{"graceSeconds": store.MaxSecretGrace + 1}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/api-clients/nope/secret", nil, 404, "entity.not_found")
}

func TestAPIClients_TenantIsolation(t *testing.T) {
	e := newEnv(t)
	c := e.createAPIClient(t, "shared-name", e.adminRole(t, "admin"))
	other := e.inTenant(t, "acme")
	other.fail(t, "GET", "/api/api-clients/shared-name", nil, 404, "entity.not_found")
	other.wantClientIDs(t, "/api/api-clients")
	// The same client id is free in another tenant, and tokens stay apart.
	oc := other.createAPIClient(t, "shared-name")
	if oc.UserID == c.UserID {
		t.Error("tenants share a user id")
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {store.ManagementIndicator("acme")}, "scope": {"all"}}
	expectInvalidClient(t, "default's client in acme", postForm(t, other.URL+"/oidc/token", form, c.ClientID, c.ClientSecret))
}

// TestAPIClients_EnableSameSecond checks the disable/enable cut-off to the
// sub-second: a token issued before a disable stays refused and one issued
// after the enable works, all within one second of the clock.
func TestAPIClients_EnableSameSecond(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 100e6, time.UTC)}
	e := newEnv(t, apitest.Options{Now: clk.Now})
	c := e.createAPIClient(t, "same-second-bot", e.adminRole(t, "admin"))
	before := e.apiClientToken(t, c.ClientID, c.ClientSecret)
	if r := call(t, "GET", e.URL+"/api/users", before, nil); r.Status != http.StatusOK {
		t.Fatalf("token before the disable: %d %s", r.Status, r.Body)
	}
	// Disabled at the very instant the token was issued: the token is out.
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/disable", nil, http.StatusOK, nil)
	clk.Add(100 * time.Millisecond)
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/enable", nil, http.StatusOK, nil)
	clk.Add(time.Millisecond)
	after := e.apiClientToken(t, c.ClientID, c.ClientSecret)
	if iat, _ := tokenClaims(t, after)["iat"].(float64); int64(iat) != clk.Now().Unix() {
		t.Fatalf("iat %v, want whole seconds %d", iat, clk.Now().Unix())
	}
	if r := call(t, "GET", e.URL+"/api/users", after, nil); r.Status != http.StatusOK {
		t.Errorf("token issued after the enable, same second: %d %s", r.Status, r.Body)
	}
	wantError(t, call(t, "GET", e.URL+"/api/users", before, nil), http.StatusUnauthorized, "auth.unauthorized")

	// A token issued after the enable but before a second disable, same
	// second: refused once the client is disabled, and after the next enable.
	clk.Add(time.Millisecond)
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/disable", nil, http.StatusOK, nil)
	clk.Add(time.Millisecond)
	e.do(t, "POST", "/api/api-clients/"+c.ClientID+"/enable", nil, http.StatusOK, nil)
	wantError(t, call(t, "GET", e.URL+"/api/users", after, nil), http.StatusUnauthorized, "auth.unauthorized")
	if clk.Now().Unix() != time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC).Unix() {
		t.Fatal("the test left its second")
	}
}
