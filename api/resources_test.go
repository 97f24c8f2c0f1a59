package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// wireResource is an API resource on the wire.
type wireResource struct {
	TenantID       string       `json:"tenantId"`
	ID             string       `json:"id"`
	Name           string       `json:"name"`
	Indicator      string       `json:"indicator"`
	IsDefault      bool         `json:"isDefault"`
	AccessTokenTTL int          `json:"accessTokenTtl"`
	Scopes         *[]wireScope `json:"scopes"`
}

// wireScope is a scope on the wire; Resource is set in a role's scope list.
type wireScope struct {
	TenantID    string        `json:"tenantId"`
	ID          string        `json:"id"`
	ResourceID  string        `json:"resourceId"`
	Name        string        `json:"name"`
	Description *string       `json:"description"`
	CreatedAt   int64         `json:"createdAt"`
	Resource    *wireResource `json:"resource"`
}

// issued is a decoded token response.
type issued struct {
	ExpiresIn int
	Scope     string // the access token's scope claim
	Claims    map[string]any
	Token     string
}

// wantError fails the test unless r is an error with status and Logto code.
func wantError(t testing.TB, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Errorf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
}

// fail sends a request that must fail with status and Logto code.
func (e *env) fail(t testing.TB, method, path string, body any, status int, code string) {
	t.Helper()
	wantError(t, call(t, method, e.URL+path, e.token, body), status, code)
}

// inTenant creates tenant id and returns an env that talks to it with its
// own admin credentials; paths stay the same as in tenant default.
func (e *env) inTenant(t testing.TB, id string) *env {
	t.Helper()
	c := createTenant(t, e, id)
	srv := *e.Server
	srv.URL += apitest.TenantPrefix(id)
	srv.ClientID, srv.ClientSecret = c.Credentials.ClientID, c.Credentials.ClientSecret
	token := apitest.Token(t, e.URL, id, c.Credentials.ClientID, c.Credentials.ClientSecret, store.ManagementIndicator(id), "all")
	return &env{Server: &srv, token: token}
}

// ids lists path (status 200) and returns the ids it answers, comma-joined.
func (e *env) ids(t testing.TB, path string) string {
	t.Helper()
	var list []idName
	e.do(t, "GET", path, nil, http.StatusOK, &list)
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.ID
	}
	return strings.Join(out, ",")
}

func join(ids ...string) string { return strings.Join(ids, ",") }

// wantIDs fails the test unless GET path lists exactly ids, in this order.
func (e *env) wantIDs(t testing.TB, path string, ids ...string) {
	t.Helper()
	if got, want := e.ids(t, path), join(ids...); got != want {
		t.Errorf("GET %s: ids %q, want %q", path, got, want)
	}
}

// wantIDSet fails the test unless GET path lists exactly ids, in any order.
func (e *env) wantIDSet(t testing.TB, path string, ids ...string) {
	t.Helper()
	if got := e.ids(t, path); !sameIDs(got, ids...) {
		t.Errorf("GET %s: ids %q, want %q in any order", path, got, join(ids...))
	}
}

// createResource creates a resource with the default token lifetime.
func (e *env) createResource(t testing.TB, name, indicator string) wireResource {
	t.Helper()
	var r wireResource
	e.do(t, "POST", "/api/resources", map[string]any{"name": name, "indicator": indicator}, http.StatusCreated, &r)
	return r
}

// createScopes adds scopes names to resource resID and returns them.
func (e *env) createScopes(t testing.TB, resID string, names ...string) []wireScope {
	t.Helper()
	out := make([]wireScope, len(names))
	for i, n := range names {
		e.do(t, "POST", "/api/resources/"+resID+"/scopes", map[string]any{"name": n}, http.StatusCreated, &out[i])
	}
	return out
}

// scopeIDs returns the ids of scopes.
func scopeIDs(scopes ...wireScope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = s.ID
	}
	return out
}

// createRole creates a role of type roleType holding scopes.
func (e *env) createRole(t testing.TB, name, roleType string, scopes ...wireScope) wireRole {
	t.Helper()
	var r wireRole
	e.do(t, "POST", "/api/roles", map[string]any{"name": name, "description": name + " role", "type": roleType,
		"scopeIds": scopeIDs(scopes...)}, http.StatusOK, &r)
	return r
}

// createM2M creates a machine-to-machine application holding roles.
func (e *env) createM2M(t testing.TB, name string, roles ...wireRole) idName {
	t.Helper()
	var app idName
	e.do(t, "POST", "/api/applications", map[string]any{"name": name, "type": "MachineToMachine"}, http.StatusOK, &app)
	if len(roles) > 0 {
		ids := make([]string, len(roles))
		for i, r := range roles {
			ids[i] = r.ID
		}
		e.do(t, "POST", "/api/applications/"+app.ID+"/roles", map[string]any{"roleIds": ids}, http.StatusCreated, nil)
	}
	return app
}

// requestToken asks for a client_credentials token for app; an empty
// resource or scope leaves the parameter out.
func (e *env) requestToken(t testing.TB, app idName, resource, scope string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if resource != "" {
		form.Set("resource", resource)
	}
	if scope != "" {
		form.Set("scope", scope)
	}
	return postForm(t, e.URL+"/oidc/token", form, app.ID, app.Secret)
}

// issue gets a client_credentials token for app, which must be granted.
func (e *env) issue(t testing.TB, app idName, resource, scope string) issued {
	t.Helper()
	r := e.requestToken(t, app, resource, scope)
	if r.Status != http.StatusOK {
		t.Fatalf("token for %s %q: %d %s", resource, scope, r.Status, r.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.JSON(t, &body)
	claims := tokenClaims(t, body.AccessToken)
	s, _ := claims["scope"].(string)
	return issued{ExpiresIn: body.ExpiresIn, Scope: s, Claims: claims, Token: body.AccessToken}
}

// managementScope returns the id of the Management API's scope all.
func (e *env) managementScope(t testing.TB) wireScope {
	t.Helper()
	var scopes []wireScope
	e.do(t, "GET", "/api/resources/"+store.ManagementResourceID+"/scopes", nil, http.StatusOK, &scopes)
	if len(scopes) != 1 || scopes[0].Name != "all" {
		t.Fatalf("management scopes = %+v", scopes)
	}
	return scopes[0]
}

func TestResources_Create(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "POST", "/api/resources", map[string]any{"name": "Orders", "indicator": "https://orders.example.com/api"}, http.StatusCreated, nil)
	var got wireResource
	r.JSON(t, &got)
	if got.TenantID != "default" || got.ID == "" || got.Name != "Orders" || got.Indicator != "https://orders.example.com/api" ||
		got.IsDefault || got.AccessTokenTTL != 3600 {
		t.Errorf("created %+v", got)
	}
	if !strings.Contains(string(r.Body), `"scopes":[]`) {
		t.Errorf("create response has no empty scopes: %s", r.Body)
	}
	var fetched wireResource
	g := e.do(t, "GET", "/api/resources/"+got.ID, nil, http.StatusOK, &fetched)
	if fetched.ID != got.ID || fetched.Name != "Orders" || fetched.AccessTokenTTL != 3600 || strings.Contains(string(g.Body), "scopes") {
		t.Errorf("get: %s", g.Body)
	}
	var custom wireResource
	e.do(t, "POST", "/api/resources", map[string]any{"name": "Urn", "indicator": "urn:example:billing", "accessTokenTtl": 60}, http.StatusCreated, &custom)
	if custom.AccessTokenTTL != 60 {
		t.Errorf("accessTokenTtl = %d, want 60", custom.AccessTokenTTL)
	}
	e.fail(t, "GET", "/api/resources/nosuchresource", nil, 404, "entity.not_found")
}

func TestResources_CreateErrors(t *testing.T) {
	e := newEnv(t)
	e.createResource(t, "Taken", "https://taken.example.com")
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantCode   string
	}{
		{"RelativeIndicator", map[string]any{"name": "x", "indicator": "orders/api"}, 400, "guard.invalid_input"},
		{"PathIndicator", map[string]any{"name": "x", "indicator": "/api"}, 400, "guard.invalid_input"},
		{"Fragment", map[string]any{"name": "x", "indicator": "https://x.example.com/api#part"}, 400, "guard.invalid_input"},
		{"EmptyFragment", map[string]any{"name": "x", "indicator": "https://x.example.com/api#"}, 400, "guard.invalid_input"},
		{"EmptyIndicator", map[string]any{"name": "x", "indicator": ""}, 400, "guard.invalid_input"},
		{"MissingIndicator", map[string]any{"name": "x"}, 400, "guard.invalid_input"},
		{"MissingName", map[string]any{"indicator": "https://y.example.com"}, 400, "guard.invalid_input"},
		{"EmptyName", map[string]any{"name": "", "indicator": "https://y.example.com"}, 400, "guard.invalid_input"},
		{"TTLTooShort", map[string]any{"name": "x", "indicator": "https://y.example.com", "accessTokenTtl": 59}, 400, "guard.invalid_input"},
		{"TTLTooLong", map[string]any{"name": "x", "indicator": "https://y.example.com", "accessTokenTtl": 86401}, 400, "guard.invalid_input"},
		{"TTLZero", map[string]any{"name": "x", "indicator": "https://y.example.com", "accessTokenTtl": 0}, 400, "guard.invalid_input"},
		{"TTLNotNumber", map[string]any{"name": "x", "indicator": "https://y.example.com", "accessTokenTtl": "60"}, 400, "guard.invalid_input"},
		{"IndicatorInUse", map[string]any{"name": "x", "indicator": "https://taken.example.com"}, 422, "resource.resource_identifier_in_use"},
		{"ManagementIndicator", map[string]any{"name": "x", "indicator": mgmtResource}, 422, "resource.resource_identifier_in_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fail(t, "POST", "/api/resources", tt.body, tt.wantStatus, tt.wantCode)
		})
	}
	// None of the refused requests left a resource behind.
	if got := len(strings.Split(e.ids(t, "/api/resources"), ",")); got != 2 {
		t.Errorf("%d resources after refused creates, want the Management API and Taken", got)
	}
	// The bounds themselves are allowed.
	for i, ttl := range []int{60, 86400} {
		e.do(t, "POST", "/api/resources", map[string]any{"name": "b", "indicator": "https://bound.example.com/" + string(rune('a'+i)), "accessTokenTtl": ttl}, http.StatusCreated, nil)
	}
}

// TestResources_TokenTTL checks that a token for a resource lives as long as
// the resource says, before and after a change.
func TestResources_TokenTTL(t *testing.T) {
	e := newEnv(t)
	var res wireResource
	e.do(t, "POST", "/api/resources", map[string]any{"name": "Short", "indicator": "https://short.example.com", "accessTokenTtl": 120}, http.StatusCreated, &res)
	read := e.createScopes(t, res.ID, "read")
	plain := e.createResource(t, "Plain", "https://plain.example.com")
	app := e.createM2M(t, "ttl-app", e.createRole(t, "ttl-reader", "MachineToMachine", append(read, e.createScopes(t, plain.ID, "read")...)...))

	check := func(indicator string, want int) {
		t.Helper()
		tok := e.issue(t, app, indicator, "read")
		exp, _ := tok.Claims["exp"].(float64)
		iat, _ := tok.Claims["iat"].(float64)
		if tok.ExpiresIn != want || int(exp-iat) != want || tok.Scope != "read" {
			t.Errorf("%s: expires_in %d, exp-iat %v, scope %q; want %d and read", indicator, tok.ExpiresIn, exp-iat, tok.Scope, want)
		}
	}
	check("https://short.example.com", 120)
	check("https://plain.example.com", 3600)
	var updated wireResource
	e.do(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"accessTokenTtl": 900}, http.StatusOK, &updated)
	if updated.AccessTokenTTL != 900 || updated.Name != "Short" || updated.Indicator != "https://short.example.com" {
		t.Errorf("patched %+v", updated)
	}
	check("https://short.example.com", 900)
}

// managementResourceJSON is the Management API resource exactly as Logto
// lists it (logto-samples/13-list-resources.txt).
const managementResourceJSON = `{"tenantId":"default","id":"management-api","name":"Logto Management API","indicator":"https://default.logto.app/api","isDefault":false,"accessTokenTtl":3600}`

func TestResources_List(t *testing.T) {
	e := newEnv(t)
	a := e.createResource(t, "A", "https://a.example.com")
	b := e.createResource(t, "B", "https://b.example.com")
	c := e.createResource(t, "C", "https://c.example.com")
	aScopes := e.createScopes(t, a.ID, "a1", "a2")
	all := join(store.ManagementResourceID, a.ID, b.ID, c.ID)

	t.Run("Unpaged", func(t *testing.T) {
		r := e.do(t, "GET", "/api/resources", nil, http.StatusOK, nil)
		if r.Header.Get("Total-Number") != "" || len(r.Header.Values("Link")) != 0 {
			t.Errorf("paging headers without paging parameters: %v", r.Header)
		}
		var raw []json.RawMessage
		r.JSON(t, &raw)
		if string(raw[0]) != managementResourceJSON {
			t.Errorf("management resource\n got %s\nwant %s", raw[0], managementResourceJSON)
		}
		e.wantIDs(t, "/api/resources", all)
		if strings.Contains(string(r.Body), `"scopes"`) {
			t.Errorf("scopes without includeScopes: %s", r.Body)
		}
	})
	t.Run("Paged", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"page_size=2", join(store.ManagementResourceID, a.ID)},
			{"page=2&page_size=2", join(b.ID, c.ID)},
			{"page=3&page_size=2", ""},
			{"page=1", all},
		} {
			r := e.do(t, "GET", "/api/resources?"+tc.query, nil, http.StatusOK, nil)
			if r.Header.Get("Total-Number") != "4" || len(r.Header.Values("Link")) == 0 {
				t.Errorf("%s: headers %v", tc.query, r.Header)
			}
			e.wantIDs(t, "/api/resources?"+tc.query, tc.want)
		}
		e.fail(t, "GET", "/api/resources?page_size=0", nil, 400, "guard.invalid_pagination")
	})
	t.Run("IncludeScopes", func(t *testing.T) {
		var list []wireResource
		e.do(t, "GET", "/api/resources?includeScopes=true", nil, http.StatusOK, &list)
		want := map[string]string{store.ManagementResourceID: "all", a.ID: "a1,a2", b.ID: "", c.ID: ""}
		for _, res := range list {
			if res.Scopes == nil {
				t.Errorf("%s has no scopes", res.ID)
				continue
			}
			var names []string
			for _, s := range *res.Scopes {
				names = append(names, s.Name)
				if s.ResourceID != res.ID || s.TenantID != "default" {
					t.Errorf("scope %+v listed under %s", s, res.ID)
				}
			}
			if got := strings.Join(names, ","); got != want[res.ID] {
				t.Errorf("%s scopes %s, want %s", res.ID, got, want[res.ID])
			}
		}
		if len(list) != 4 || (*list[1].Scopes)[0].ID != aScopes[0].ID {
			t.Errorf("list %+v", list)
		}
		var paged []wireResource
		r := e.do(t, "GET", "/api/resources?includeScopes=true&page=2&page_size=1", nil, http.StatusOK, &paged)
		if len(paged) != 1 || paged[0].ID != a.ID || paged[0].Scopes == nil || r.Header.Get("Total-Number") != "4" {
			t.Errorf("paged with scopes: %s", r.Body)
		}
	})
}

// TestResources_ManagementAPIReadOnly checks that the built-in resource and
// its scope cannot be changed through the API.
func TestResources_ManagementAPIReadOnly(t *testing.T) {
	e := newEnv(t)
	all := e.managementScope(t)
	base := "/api/resources/" + store.ManagementResourceID
	const modify, remove = "resource.cannot_modify_management_api", "resource.cannot_delete_management_api"
	e.fail(t, "PATCH", base, map[string]any{"name": "Mine"}, 400, modify)
	e.fail(t, "PATCH", base, map[string]any{"accessTokenTtl": 60}, 400, modify)
	e.fail(t, "PATCH", base+"/is-default", map[string]any{"isDefault": true}, 400, modify)
	e.fail(t, "DELETE", base, nil, 400, remove)
	e.fail(t, "POST", base+"/scopes", map[string]any{"name": "extra"}, 400, modify)
	e.fail(t, "PATCH", base+"/scopes/"+all.ID, map[string]any{"name": "everything"}, 400, modify)
	e.fail(t, "DELETE", base+"/scopes/"+all.ID, nil, 400, modify) // as Logto: modify, for a scope

	r := e.do(t, "GET", base, nil, http.StatusOK, nil)
	if string(r.Body) != managementResourceJSON {
		t.Errorf("management resource after refused changes: %s", r.Body)
	}
	if got := e.managementScope(t); got.ID != all.ID {
		t.Errorf("scope all changed: %+v", got)
	}
	// The admin still gets scope all.
	if tok := e.issue(t, idName{ID: e.ClientID, Secret: e.ClientSecret}, mgmtResource, "all"); tok.Scope != "all" || tok.ExpiresIn != 3600 {
		t.Errorf("admin token %+v", tok)
	}
}

func TestResources_Update(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Before", "https://update.example.com")
	var got wireResource
	e.do(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"name": "After"}, http.StatusOK, &got)
	if got.Name != "After" || got.AccessTokenTTL != 3600 || got.Indicator != res.Indicator {
		t.Errorf("patched %+v", got)
	}
	e.do(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"name": "Both", "accessTokenTtl": 86400}, http.StatusOK, nil)
	e.do(t, "GET", "/api/resources/"+res.ID, nil, http.StatusOK, &got)
	if got.Name != "Both" || got.AccessTokenTTL != 86400 {
		t.Errorf("after patch: %+v", got)
	}
	e.fail(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"name": ""}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"accessTokenTtl": 59}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/resources/"+res.ID, map[string]any{"accessTokenTtl": 86401}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/resources/nosuchresource", map[string]any{"name": "x"}, 404, "entity.not_found")
	e.do(t, "GET", "/api/resources/"+res.ID, nil, http.StatusOK, &got)
	if got.Name != "Both" || got.AccessTokenTTL != 86400 {
		t.Errorf("after refused patches: %+v", got)
	}
}

// TestResources_IsDefault checks that at most one resource is the default
// and that a token request without resource gets it.
func TestResources_IsDefault(t *testing.T) {
	e := newEnv(t)
	a := e.createResource(t, "A", "https://a.example.com")
	b := e.createResource(t, "B", "https://b.example.com")
	app := e.createM2M(t, "default-user", e.createRole(t, "ab", "MachineToMachine",
		append(e.createScopes(t, a.ID, "read"), e.createScopes(t, b.ID, "read", "write")...)...))

	noResource := func() response { return e.requestToken(t, app, "", "read write") }
	wantDefault := func(want string) {
		t.Helper()
		var list []wireResource
		e.do(t, "GET", "/api/resources", nil, http.StatusOK, &list)
		var defaults []string
		for _, r := range list {
			if r.IsDefault {
				defaults = append(defaults, r.ID)
			}
		}
		if got := join(defaults...); got != want {
			t.Errorf("default resources %q, want %q", got, want)
		}
	}
	r := noResource()
	if r.Status != 400 || !strings.Contains(string(r.Body), `"error":"invalid_target"`) {
		t.Errorf("no resource, no default: %d %s", r.Status, r.Body)
	}

	var got wireResource
	e.do(t, "PATCH", "/api/resources/"+a.ID+"/is-default", map[string]any{"isDefault": true}, http.StatusOK, &got)
	if !got.IsDefault || got.ID != a.ID {
		t.Errorf("set default: %+v", got)
	}
	wantDefault(a.ID)
	if r := noResource(); r.Status != 200 {
		t.Fatalf("no resource with default A: %d %s", r.Status, r.Body)
	}
	if tok := e.issue(t, app, "", "read write"); tok.Claims["aud"] != a.Indicator || tok.Scope != "read" {
		t.Errorf("default A token: aud %v scope %q", tok.Claims["aud"], tok.Scope)
	}

	e.do(t, "PATCH", "/api/resources/"+b.ID+"/is-default", map[string]any{"isDefault": true}, http.StatusOK, nil)
	wantDefault(b.ID)
	e.do(t, "GET", "/api/resources/"+a.ID, nil, http.StatusOK, &got)
	if got.IsDefault {
		t.Error("A is still default after B became default")
	}
	if tok := e.issue(t, app, "", "read write"); tok.Claims["aud"] != b.Indicator || tok.Scope != "read write" {
		t.Errorf("default B token: aud %v scope %q", tok.Claims["aud"], tok.Scope)
	}
	// Unsetting a resource that is not the default leaves the default alone.
	e.do(t, "PATCH", "/api/resources/"+a.ID+"/is-default", map[string]any{"isDefault": false}, http.StatusOK, nil)
	wantDefault(b.ID)
	e.fail(t, "PATCH", "/api/resources/"+a.ID+"/is-default", map[string]any{}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/resources/nosuchresource/is-default", map[string]any{"isDefault": true}, 404, "entity.not_found")

	e.do(t, "PATCH", "/api/resources/"+b.ID+"/is-default", map[string]any{"isDefault": false}, http.StatusOK, nil)
	wantDefault("")
	if r := noResource(); r.Status != 400 {
		t.Errorf("no resource after unsetting: %d %s", r.Status, r.Body)
	}
	// Deleting the default resource leaves no default behind.
	e.do(t, "PATCH", "/api/resources/"+a.ID+"/is-default", map[string]any{"isDefault": true}, http.StatusOK, nil)
	e.do(t, "DELETE", "/api/resources/"+a.ID, nil, http.StatusNoContent, nil)
	wantDefault("")
	if r := noResource(); r.Status != 400 {
		t.Errorf("no resource after deleting the default: %d %s", r.Status, r.Body)
	}
}

// TestResources_Delete checks that deleting a resource takes its scopes and
// every role's grant of them along, and frees the indicator.
func TestResources_Delete(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Doomed", "https://doomed.example.com")
	keep := e.createResource(t, "Kept", "https://kept.example.com")
	doomed := e.createScopes(t, res.ID, "read", "write")
	kept := e.createScopes(t, keep.ID, "read")
	wide := e.createRole(t, "wide", "MachineToMachine", doomed[0], doomed[1], kept[0])
	narrow := e.createRole(t, "narrow", "MachineToMachine", doomed[1])
	app := e.createM2M(t, "deleter", wide, narrow)
	if tok := e.issue(t, app, res.Indicator, "read write"); tok.Scope != "read write" {
		t.Fatalf("before delete: scope %q", tok.Scope)
	}

	e.do(t, "DELETE", "/api/resources/"+res.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "GET", "/api/resources/"+res.ID, nil, 404, "entity.not_found")
	e.fail(t, "GET", "/api/resources/"+res.ID+"/scopes", nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/resources/"+res.ID, nil, 404, "entity.not_found")
	e.wantIDs(t, "/api/roles/"+wide.ID+"/scopes", kept[0].ID)
	e.wantIDs(t, "/api/roles/"+narrow.ID+"/scopes")
	// A role cannot be given a deleted scope.
	e.fail(t, "POST", "/api/roles/"+narrow.ID+"/scopes", map[string]any{"scopeIds": []string{doomed[0].ID}}, 404, "entity.not_found")
	r := e.clientCredentials(t, app.ID, app.Secret, res.Indicator, "read")
	if r.Status != 400 || !strings.Contains(string(r.Body), "invalid_target") {
		t.Errorf("token for deleted resource: %d %s", r.Status, r.Body)
	}
	if tok := e.issue(t, app, keep.Indicator, "read"); tok.Scope != "read" {
		t.Errorf("other resource after delete: scope %q", tok.Scope)
	}
	if got := e.ids(t, "/api/resources"); strings.Contains(got, res.ID) {
		t.Errorf("deleted resource still listed: %s", got)
	}

	// The indicator and the scope names are free again, and the new scopes
	// are not granted through the old ones.
	again := e.createResource(t, "Again", res.Indicator)
	e.createScopes(t, again.ID, "read", "write")
	if tok := e.issue(t, app, res.Indicator, "read write"); tok.Scope != "" {
		t.Errorf("recreated resource: scope %q, want none", tok.Scope)
	}
}

func TestScopes_Create(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	other := e.createResource(t, "Other", "https://other.example.com")
	path := "/api/resources/" + res.ID + "/scopes"

	var plain, described wireScope
	r := e.do(t, "POST", path, map[string]any{"name": "read:orders"}, http.StatusCreated, &plain)
	if plain.TenantID != "default" || plain.ID == "" || plain.ResourceID != res.ID || plain.Name != "read:orders" ||
		plain.CreatedAt == 0 || !strings.Contains(string(r.Body), `"description":null`) {
		t.Errorf("created %s", r.Body)
	}
	e.do(t, "POST", path, map[string]any{"name": "write:orders", "description": "Write orders"}, http.StatusCreated, &described)
	if described.Description == nil || *described.Description != "Write orders" {
		t.Errorf("description %v", described.Description)
	}
	// The same name is free on another resource.
	e.do(t, "POST", "/api/resources/"+other.ID+"/scopes", map[string]any{"name": "read:orders"}, http.StatusCreated, nil)

	tests := []struct {
		name       string
		path       string
		body       map[string]any
		wantStatus int
		wantCode   string
	}{
		{"NameInUse", path, map[string]any{"name": "read:orders"}, 422, "scope.name_exists"},
		{"Space", path, map[string]any{"name": "read orders"}, 400, "scope.name_with_space"},
		{"LeadingSpace", path, map[string]any{"name": " read"}, 400, "scope.name_with_space"},
		{"Tab", path, map[string]any{"name": "read\torders"}, 400, "scope.name_with_space"},
		{"Empty", path, map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"Missing", path, map[string]any{"description": "x"}, 400, "guard.invalid_input"},
		{"UnknownResource", "/api/resources/nosuchresource/scopes", map[string]any{"name": "x"}, 404, "entity.not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fail(t, "POST", tt.path, tt.body, tt.wantStatus, tt.wantCode)
		})
	}
	e.wantIDs(t, path, plain.ID, described.ID)
}

func TestScopes_Update(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	other := e.createResource(t, "Other", "https://other.example.com")
	scopes := e.createScopes(t, res.ID, "read", "write")
	read, write := scopes[0], scopes[1]
	path := "/api/resources/" + res.ID + "/scopes/"

	var got wireScope
	e.do(t, "PATCH", path+read.ID, map[string]any{"name": "view", "description": "View orders"}, http.StatusOK, &got)
	if got.ID != read.ID || got.Name != "view" || got.Description == nil || *got.Description != "View orders" || got.CreatedAt != read.CreatedAt {
		t.Errorf("renamed %+v", got)
	}
	// The old name is free, the new one taken; renaming to itself is fine.
	e.createScopes(t, res.ID, "read")
	e.fail(t, "PATCH", path+write.ID, map[string]any{"name": "view"}, 422, "scope.name_exists")
	e.do(t, "PATCH", path+read.ID, map[string]any{"name": "view"}, http.StatusOK, nil)
	e.fail(t, "POST", "/api/resources/"+res.ID+"/scopes", map[string]any{"name": "view"}, 422, "scope.name_exists")
	e.fail(t, "PATCH", path+write.ID, map[string]any{"name": "a b"}, 400, "scope.name_with_space")

	// Description null clears it; leaving it out keeps it.
	r := e.do(t, "PATCH", path+read.ID, map[string]any{"name": "view2"}, http.StatusOK, &got)
	if got.Description == nil {
		t.Errorf("description dropped by a patch without it: %s", r.Body)
	}
	r = e.do(t, "PATCH", path+read.ID, map[string]any{"description": nil}, http.StatusOK, &got)
	if got.Description != nil || got.Name != "view2" || !strings.Contains(string(r.Body), `"description":null`) {
		t.Errorf("description null: %s", r.Body)
	}

	// A scope is only reachable under its own resource.
	e.fail(t, "PATCH", "/api/resources/"+other.ID+"/scopes/"+write.ID, map[string]any{"name": "x"}, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/resources/"+other.ID+"/scopes/"+write.ID, nil, 404, "entity.not_found")
	e.fail(t, "PATCH", path+"nosuchscope", map[string]any{"name": "x"}, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/resources/nosuchresource/scopes/"+write.ID, nil, 404, "entity.not_found")
	var list []wireScope
	e.do(t, "GET", "/api/resources/"+res.ID+"/scopes", nil, http.StatusOK, &list)
	if len(list) != 3 || list[1].ID != write.ID || list[1].Name != "write" {
		t.Errorf("scopes after refused changes: %+v", list)
	}
	e.do(t, "DELETE", path+write.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", path+write.ID, nil, 404, "entity.not_found")
}

func TestScopes_List(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	s := e.createScopes(t, res.ID, "read:orders", "write:orders", "read:invoices", "admin", "read:users")
	e.do(t, "PATCH", "/api/resources/"+res.ID+"/scopes/"+s[3].ID, map[string]any{"description": "Reads nothing"}, http.StatusOK, nil)
	path := "/api/resources/" + res.ID + "/scopes"

	r := e.do(t, "GET", path, nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "" || len(r.Header.Values("Link")) != 0 {
		t.Errorf("paging headers without paging parameters: %v", r.Header)
	}
	tests := []struct {
		query, want, total string
	}{
		{"", join(scopeIDs(s...)...), ""},
		{"page_size=2", join(s[0].ID, s[1].ID), "5"},
		{"page=3&page_size=2", s[4].ID, "5"},
		{"search=%25read%25", join(s[0].ID, s[2].ID, s[3].ID, s[4].ID), ""}, // admin's description "Reads nothing" matches
		{"search=%25read%25&page=2&page_size=2", join(s[3].ID, s[4].ID), "4"},
		{"search.name=admin&mode.name=exact", s[3].ID, ""},
		{"search=%25nothing-matches%25&page_size=5", "", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do(t, "GET", path+"?"+tt.query, nil, http.StatusOK, nil)
			if got := r.Header.Get("Total-Number"); got != tt.total {
				t.Errorf("Total-Number %q, want %q", got, tt.total)
			}
			e.wantIDs(t, path+"?"+tt.query, tt.want)
		})
	}
	e.fail(t, "GET", "/api/resources/nosuchresource/scopes", nil, 404, "entity.not_found")
}

// TestResources_ManagementAPIFixedIDs: in every tenant the Management API
// is resource management-api with scope management-api-all, Logto's seeded
// ids, so a role made with the scope's literal id (as Logto's examples do)
// holds it; a User role still cannot.
func TestResources_ManagementAPIFixedIDs(t *testing.T) {
	e := newEnv(t)
	for _, te := range []*env{e, e.inTenant(t, "acme")} {
		if got := te.managementScope(t); got.ID != "management-api-all" || got.ResourceID != "management-api" {
			t.Errorf("%s: Management API scope %+v, want id management-api-all", te.URL, got)
		}
		var role wireRole
		te.do(t, "POST", "/api/roles", map[string]any{"name": "mapi", "description": "d", "type": "MachineToMachine",
			"scopeIds": []string{"management-api-all"}}, http.StatusOK, &role)
		var scopes []wireScope
		te.do(t, "GET", "/api/roles/"+role.ID+"/scopes", nil, http.StatusOK, &scopes)
		if len(scopes) != 1 || scopes[0].ID != "management-api-all" {
			t.Errorf("%s: role scopes %+v", te.URL, scopes)
		}
		var res struct {
			ID string `json:"id"`
		}
		te.do(t, "GET", "/api/resources/management-api", nil, http.StatusOK, &res)
		te.fail(t, "POST", "/api/roles", map[string]any{"name": "people", "description": "d", "type": "User",
			"scopeIds": []string{"management-api-all"}}, 422, "role.management_api_scopes_not_assignable_to_user_role")
	}
}
