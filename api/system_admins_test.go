package api_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// legacySystemRoleName is the name of the role that, before issue 12, made
// an application of tenant default an instance administrator.
const legacySystemRoleName = "idbolt system administration"

// systemAdmin is an entry of GET /system/admins.
type systemAdmin struct {
	ApplicationID string `json:"applicationId"`
	Name          string `json:"name"`
	CreatedAt     int64  `json:"createdAt"`
}

// systemAdminIDs lists GET /system/admins with token sys and returns the
// application ids, in answer order.
func systemAdminIDs(t testing.TB, baseURL, sys string) []string {
	t.Helper()
	r := call(t, "GET", baseURL+"/system/admins", sys, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /system/admins: %d %s", r.Status, r.Body)
	}
	var list []systemAdmin
	r.JSON(t, &list)
	ids := make([]string, len(list))
	for i, a := range list {
		ids[i] = a.ApplicationID
	}
	return ids
}

// systemTokenRequest asks tenant's token endpoint for a system token.
func systemTokenRequest(t testing.TB, baseURL, tenant, id, secret string) response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {store.SystemIndicator}, "scope": {"all"}}
	return postForm(t, baseURL+apitest.TenantPrefix(tenant)+"/oidc/token", form, url.QueryEscape(id), url.QueryEscape(secret))
}

// wantNoSystemToken fails the test unless client id of tenant is refused a
// system token; if one is issued anyway it also reports whether it opens
// the system API, which is what the attack was after.
func wantNoSystemToken(t testing.TB, e *env, tenant, id, secret string) {
	t.Helper()
	r := systemTokenRequest(t, e.URL, tenant, id, secret)
	if r.Status == http.StatusOK {
		tok := accessToken(t, r)
		list := call(t, "GET", e.URL+"/system/tenants", tok, nil)
		t.Errorf("client %s of tenant %s got a system token (system API answers %d)", id, tenant, list.Status)
		return
	}
	wantTokenError(t, r, http.StatusBadRequest, "invalid_target", "")
}

// visibleSystemRoles returns the ids of roles of tenant default that token
// sees and that grant instance administration. There must be none; the
// attack uses whatever is found.
func visibleSystemRoles(t testing.TB, e *env, token string) []string {
	t.Helper()
	var ids []string
	for _, q := range []string{"page_size=100", "search=%25system%25", "search=%25idbolt%25"} {
		var roles []wireRole
		r := call(t, "GET", e.URL+"/api/roles?"+q, token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/roles?%s: %d %s", q, r.Status, r.Body)
		}
		r.JSON(t, &roles)
		for _, role := range roles {
			if role.Name == legacySystemRoleName && !slices.Contains(ids, role.ID) {
				t.Errorf("GET /api/roles?%s lists %q (%s)", q, role.Name, role.ID)
				ids = append(ids, role.ID)
			}
		}
	}
	var resources []wireResource
	r := call(t, "GET", e.URL+"/api/resources?includeScopes=true", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/resources: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &resources)
	for _, res := range resources {
		if res.Indicator == store.SystemIndicator || res.ID == store.SystemResourceID {
			t.Errorf("GET /api/resources lists the system resource %+v", res)
		}
	}
	if r := call(t, "GET", e.URL+"/api/resources/"+store.SystemResourceID, token, nil); r.Status != http.StatusNotFound {
		t.Errorf("GET /api/resources/%s: %d %s", store.SystemResourceID, r.Status, r.Body)
	}
	return ids
}

// TestSystemAdmins_TenantAdminCannotEscalate is the attack of issue 12: an
// API client with only IAM_OWNER in tenant default creates a
// machine-to-machine app, gives it instance administration through the
// Management API and asks for a system token. Every way in is closed: the
// role and resource are not listed, there is nothing to assign, and the
// token endpoint refuses the system resource to anyone who is not an
// instance administrator.
func TestSystemAdmins_TenantAdminCannotEscalate(t *testing.T) {
	e := newEnv(t)
	iam := e.createAPIClient(t, "iam-bot")
	e.do(t, "POST", "/api/managers", map[string]any{"clientId": iam.ClientID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)
	owner := &env{Server: e.Server, token: e.apiClientToken(t, iam.ClientID, iam.ClientSecret)}

	found := visibleSystemRoles(t, owner, owner.token)
	found = append(found, visibleSystemRoles(t, e, e.token)...)

	var app idName
	owner.do(t, "POST", "/api/applications", map[string]any{"name": "escalator", "type": "MachineToMachine"}, http.StatusOK, &app)
	for _, id := range found {
		call(t, "POST", e.URL+"/api/applications/"+app.ID+"/roles", owner.token, map[string]any{"roleIds": []string{id}})
	}
	// The API client's own roles, set by itself.
	if len(found) > 0 {
		call(t, "PATCH", e.URL+"/api/api-clients/"+iam.ClientID, owner.token, map[string]any{"roleIds": found})
	}
	// An app with the Management API role `all` (isAdmin) is no instance
	// administrator either.
	var mgmtApp idName
	e.do(t, "POST", "/api/applications", map[string]any{"name": "tenant-admin", "type": "MachineToMachine"}, http.StatusOK, &mgmtApp)
	e.do(t, "PATCH", "/api/applications/"+mgmtApp.ID, map[string]any{"isAdmin": true}, http.StatusOK, nil)

	t.Run("Token", func(t *testing.T) {
		wantNoSystemToken(t, e, store.DefaultTenant, app.ID, app.Secret)
		wantNoSystemToken(t, e, store.DefaultTenant, iam.ClientID, iam.ClientSecret)
		wantNoSystemToken(t, e, store.DefaultTenant, mgmtApp.ID, mgmtApp.Secret)
	})

	t.Run("OldRoleIDs", func(t *testing.T) {
		// Naming the system resource's id where a scope or role is expected
		// finds nothing either.
		owner.fail(t, "GET", "/api/resources/"+store.SystemResourceID+"/scopes", nil, http.StatusNotFound, "entity.not_found")
		owner.fail(t, "PATCH", "/api/resources/"+store.SystemResourceID+"/is-default", map[string]any{"isDefault": true},
			http.StatusNotFound, "entity.not_found")
	})

	t.Run("ReservedIndicator", func(t *testing.T) {
		// A tenant cannot make its own resource with the system indicator,
		// which would make its roles mint system tokens.
		owner.fail(t, "POST", "/api/resources", map[string]any{"name": "mine", "indicator": store.SystemIndicator},
			http.StatusBadRequest, "guard.invalid_input")
		acme := e.inTenant(t, "acme")
		acme.fail(t, "POST", "/api/resources", map[string]any{"name": "mine", "indicator": store.SystemIndicator},
			http.StatusBadRequest, "guard.invalid_input")
		// Tenant acme's own admin is refused at its own token endpoint.
		wantNoSystemToken(t, e, "acme", acme.ClientID, acme.ClientSecret)
	})

	t.Run("AdminCredentials", func(t *testing.T) {
		// A new secret for an instance administrator's app would be a
		// system credential made by a tenant admin; removing its secret or
		// disabling it, a lockout of the instance.
		owner.fail(t, "POST", "/api/applications/"+e.ClientID+"/secrets", map[string]any{"name": "mine"},
			http.StatusUnprocessableEntity, "application.instance_administrator")
		owner.fail(t, "DELETE", "/api/applications/"+e.ClientID+"/secrets/Default%20secret", nil,
			http.StatusUnprocessableEntity, "application.instance_administrator")
		ops := e.createAPIClient(t, "ops-admin")
		if r := call(t, "POST", e.URL+"/system/admins", e.SystemToken(t), map[string]any{"applicationId": ops.ClientID}); r.Status != http.StatusCreated {
			t.Fatalf("make ops-admin an instance administrator: %d %s", r.Status, r.Body)
		}
		owner.fail(t, "POST", "/api/api-clients/ops-admin/secret", nil, http.StatusUnprocessableEntity, "application.instance_administrator")
		owner.fail(t, "POST", "/api/api-clients/ops-admin/disable", nil, http.StatusUnprocessableEntity, "application.instance_administrator")
		// Harmless changes stay possible, and so does enabling.
		owner.do(t, "POST", "/api/api-clients/ops-admin/enable", nil, http.StatusOK, nil)
		owner.do(t, "PATCH", "/api/applications/"+e.ClientID, map[string]any{"description": "instance admin"}, http.StatusOK, nil)
		// The bootstrap admin's secret still works.
		if r := systemTokenRequest(t, e.URL, store.DefaultTenant, e.ClientID, e.ClientSecret); r.Status != http.StatusOK {
			t.Errorf("bootstrap admin's system token: %d %s", r.Status, r.Body)
		}
	})

	if t.Failed() {
		return
	}
	// The bootstrap admin is still an instance administrator.
	if r := call(t, "GET", e.URL+"/system/tenants", e.SystemToken(t), nil); r.Status != http.StatusOK {
		t.Errorf("bootstrap admin on /system/tenants: %d %s", r.Status, r.Body)
	}
}

// TestSystemAdmins_JWTBearerCannotEscalate asks for a system token with the
// JWT bearer grant: service users are tenant-level, so never.
func TestSystemAdmins_JWTBearerCannotEscalate(t *testing.T) {
	b := newBearerEnv(t)
	for _, id := range visibleSystemRoles(t, b.env, b.token) {
		b.do(t, "POST", "/api/applications/"+b.client.ClientID+"/roles", map[string]any{"roleIds": []string{id}}, http.StatusCreated, nil)
	}
	a := signAssertion(t, b.signer, jose.RS256, b.key.KeyID, b.claims(b.client.UserID))
	r := b.bearer(t, a, url.Values{"resource": {store.SystemIndicator}, "scope": {"all"}})
	if r.Status == http.StatusOK {
		t.Fatalf("jwt-bearer issued a system token: %s", r.Body)
	}
	wantTokenError(t, r, http.StatusBadRequest, "invalid_target", "")
}

// TestSystemAdmins_CRUD manages instance administrators through the system
// API: list, add, remove, and the rules that keep at least one.
func TestSystemAdmins_CRUD(t *testing.T) {
	e := newEnv(t)
	sys := e.SystemToken(t)
	base := e.URL + "/system/admins"

	if got := systemAdminIDs(t, e.URL, sys); !slices.Equal(got, []string{e.ClientID}) {
		t.Fatalf("admins %v, want the bootstrap app %s", got, e.ClientID)
	}
	var second idName
	e.do(t, "POST", "/api/applications", map[string]any{"name": "second", "type": "MachineToMachine"}, http.StatusOK, &second)

	t.Run("Access", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{{"GET", ""}, {"POST", ""}, {"DELETE", "/" + e.ClientID}} {
			if r := call(t, tc.method, base+tc.path, e.token, map[string]any{"applicationId": second.ID}); r.Status != http.StatusUnauthorized {
				t.Errorf("%s with a Management API token: %d %s", tc.method, r.Status, r.Body)
			}
			if r := call(t, tc.method, base+tc.path, "", map[string]any{"applicationId": second.ID}); r.Status != http.StatusUnauthorized {
				t.Errorf("%s without a token: %d %s", tc.method, r.Status, r.Body)
			}
		}
		wantNoSystemToken(t, e, store.DefaultTenant, second.ID, second.Secret)
	})

	t.Run("AddErrors", func(t *testing.T) {
		var spa idName
		e.do(t, "POST", "/api/applications", map[string]any{"name": "web", "type": "SPA"}, http.StatusOK, &spa)
		for _, tc := range []struct {
			name   string
			body   any
			status int
			code   string
		}{
			{"Missing", map[string]any{}, 400, "guard.invalid_input"},
			{"NotAString", map[string]any{"applicationId": 7}, 400, "guard.invalid_input"},
			{"Unknown", map[string]any{"applicationId": "nope"}, 422, "entity.relation_foreign_key_not_found"},
			{"NotMachineToMachine", map[string]any{"applicationId": spa.ID}, 422, "system.admin_invalid_application_type"},
			{"AlreadyAdmin", map[string]any{"applicationId": e.ClientID}, 422, "system.admin_already_exists"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, call(t, "POST", base, sys, tc.body), tc.status, tc.code)
			})
		}
	})

	// Add the second app: it gets system tokens at once.
	var added systemAdmin
	r := call(t, "POST", base, sys, map[string]any{"applicationId": second.ID})
	if r.Status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &added)
	if added.ApplicationID != second.ID || added.Name != "second" || added.CreatedAt == 0 {
		t.Errorf("added %+v", added)
	}
	secondSys := apitest.Token(t, e.URL, store.DefaultTenant, second.ID, second.Secret, store.SystemIndicator, "all")
	if r := call(t, "GET", e.URL+"/system/tenants", secondSys, nil); r.Status != http.StatusOK {
		t.Fatalf("new admin on /system/tenants: %d %s", r.Status, r.Body)
	}
	want := []string{e.ClientID, second.ID}
	slices.Sort(want)
	if got := systemAdminIDs(t, e.URL, sys); !slices.Equal(got, want) {
		t.Errorf("admins %v, want %v", got, want)
	}
	r = call(t, "GET", base+"?page=2&page_size=1", sys, nil)
	if r.Status != http.StatusOK || r.Header.Get("Total-Number") != "2" {
		t.Errorf("page 2: %d %v %s", r.Status, r.Header, r.Body)
	}
	var page []systemAdmin
	r.JSON(t, &page)
	if len(page) != 1 || page[0].ApplicationID != want[1] {
		t.Errorf("page 2 = %+v", page)
	}
	wantError(t, call(t, "GET", base+"?page_size=1000", sys, nil), 400, "guard.invalid_pagination")

	// Removing it stops its system token at once, not when it expires.
	if r := call(t, "DELETE", base+"/"+second.ID, sys, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", e.URL+"/system/tenants", secondSys, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("removed admin's token on /system/tenants: %d %s", r.Status, r.Body)
	}
	wantNoSystemToken(t, e, store.DefaultTenant, second.ID, second.Secret)
	wantError(t, call(t, "DELETE", base+"/"+second.ID, sys, nil), 404, "entity.not_found")

	// The last administrator cannot be removed, through either API.
	wantError(t, call(t, "DELETE", base+"/"+e.ClientID, sys, nil), 422, "system.last_admin")
	e.fail(t, "DELETE", "/api/applications/"+e.ClientID, nil, 422, "application.instance_administrator")
	if got := systemAdminIDs(t, e.URL, sys); !slices.Equal(got, []string{e.ClientID}) {
		t.Errorf("admins after refused removals %v", got)
	}

	// Removing an administrator is instance administration: a tenant admin
	// cannot do it by deleting the app (an API client's through
	// /api/api-clients), not even when it is not the last one.
	bot := e.createAPIClient(t, "ops-bot")
	for _, id := range []string{second.ID, bot.ClientID} {
		if r := call(t, "POST", base, sys, map[string]any{"applicationId": id}); r.Status != http.StatusCreated {
			t.Fatalf("add %s: %d %s", id, r.Status, r.Body)
		}
	}
	e.fail(t, "DELETE", "/api/applications/"+second.ID, nil, 422, "application.instance_administrator")
	e.fail(t, "DELETE", "/api/api-clients/"+bot.ClientID, nil, 422, "application.instance_administrator")
	want = []string{e.ClientID, second.ID, bot.ClientID}
	slices.Sort(want) // the list is in application id order
	if got := systemAdminIDs(t, e.URL, sys); !slices.Equal(got, want) {
		t.Errorf("admins after refused deletes %v, want %v", got, want)
	}
	// Once removed through the system API, the app is an ordinary one.
	if r := call(t, "DELETE", base+"/"+second.ID, sys, nil); r.Status != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.Status, r.Body)
	}
	e.do(t, "DELETE", "/api/applications/"+second.ID, nil, http.StatusNoContent, nil)

	// Each change is in tenant default's audit log, with the caller.
	for key, n := range map[string]int{"System.Admin.Create": 3, "System.Admin.Delete": 2} {
		entries, _ := e.logs(t, "logKey="+key)
		if len(entries) != n {
			t.Errorf("%s: %d entries, want %d", key, len(entries), n)
			continue
		}
		for _, l := range entries {
			if l.Payload["applicationId"] != e.ClientID {
				t.Errorf("%s by %v, want %s", key, l.Payload["applicationId"], e.ClientID)
			}
		}
	}
}

// TestSystemAdmins_UpgradeFromMain opens a data file written by main before
// issue 12: the apps that held the old system role keep getting system
// tokens, and the role and resource are gone from tenant default.
func TestSystemAdmins_UpgradeFromMain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	copyFile(t, filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"), path)
	srv := apitest.Start(t, apitest.Options{Path: path})
	admins := map[string]string{"admin": "fixture-secret-0123456789abcdefghijklmnop",
		"wsn4iz1s90l0gtagmmhk6": "N7uCB0QxzrCYHkIKBIyazkLFSLVqlmeBUNk4qKLwIPw"}
	var sys string
	for id, secret := range admins {
		sys = apitest.Token(t, srv.URL, store.DefaultTenant, id, secret, store.SystemIndicator, "all")
		if r := call(t, "GET", srv.URL+"/system/tenants", sys, nil); r.Status != http.StatusOK {
			t.Errorf("%s on /system/tenants after the upgrade: %d %s", id, r.Status, r.Body)
		}
	}
	want := []string{"admin", "wsn4iz1s90l0gtagmmhk6"}
	if got := systemAdminIDs(t, srv.URL, sys); !slices.Equal(got, want) {
		t.Errorf("admins %v, want %v", got, want)
	}
	e := &env{Server: srv, token: apitest.Token(t, srv.URL, store.DefaultTenant, "admin", admins["admin"],
		store.ManagementIndicator(store.DefaultTenant), "all")}
	visibleSystemRoles(t, e, e.token)
	e.fail(t, "GET", "/api/roles/hov79xzej8dodfoowjjvt", nil, http.StatusNotFound, "entity.not_found")
	e.fail(t, "POST", "/api/applications/wsn4iz1s90l0gtagmmhk6/roles", map[string]any{"roleIds": []string{"hov79xzej8dodfoowjjvt"}},
		http.StatusNotFound, "entity.not_found")
	e.fail(t, "POST", "/api/api-clients", map[string]any{"clientId": "escalator", "roleIds": []string{"hov79xzej8dodfoowjjvt"}},
		http.StatusNotFound, "entity.not_found")
	// Tenant acme's admin is still no instance administrator.
	wantNoSystemToken(t, e, "acme", "0jad7mjgod5d0qun0rkvk", "IJNpoH-MkN-nR5BKsivOJNwC-R4enM5QNSb_ZAvZYSM")
}
