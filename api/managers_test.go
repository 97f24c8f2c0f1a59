package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/store"
)

// managerFixture is a tenant with two organizations, two resources and one
// API client per manager role, each holding a Management API token without
// scope all.
type managerFixture struct {
	*env
	o1, o2         string // organizations; u1 is a member of o1, u2 of o2
	r1, r2         wireResource
	u1, u2, u3     user   // u3 is in no organization
	within, beyond string // organization roles: only r1's scopes / an organization scope
	empty          string // an organization role with no scope
	tokens         map[string]string
}

// managerKinds names the callers of the matrix: one per manager role, and
// one with no role.
var managerKinds = []string{"iam", "iamView", "org", "orgView", "proj", "projView", "grant", "none"}

func newManagerFixture(t *testing.T) *managerFixture {
	t.Helper()
	f := &managerFixture{env: newEnv(t), tokens: map[string]string{}}
	f.o1, f.o2 = f.orgCreate(t, "O1").ID, f.orgCreate(t, "O2").ID
	f.r1 = f.createResource(t, "R1", "https://r1.example.com")
	f.r2 = f.createResource(t, "R2", "https://r2.example.com")
	r1Scopes := f.createScopes(t, f.r1.ID, "read")
	f.u1 = f.createUser(t, map[string]any{"username": "u1"})
	f.u2 = f.createUser(t, map[string]any{"username": "u2"})
	f.u3 = f.createUser(t, map[string]any{"username": "u3"})
	f.orgAddUsers(t, f.o1, f.u1.ID)
	f.orgAddUsers(t, f.o2, f.u2.ID)
	f.within = f.orgCreateRole(t, map[string]any{"name": "r1-reader", "resourceScopeIds": []string{r1Scopes[0].ID}}).ID
	f.beyond = f.orgCreateRole(t, map[string]any{"name": "org-admin",
		"organizationScopeIds": []string{f.orgCreateScope(t, "manage").ID}}).ID
	f.empty = f.orgCreateRole(t, map[string]any{"name": "admin"}).ID

	grants := map[string]struct {
		path  string
		body  map[string]any
		roles []string
	}{
		"iam":      {"/api/managers", nil, []string{"IAM_OWNER"}},
		"iamView":  {"/api/managers", nil, []string{"IAM_OWNER_VIEWER"}},
		"org":      {"/api/organizations/" + f.o1 + "/managers", nil, []string{"ORG_OWNER"}},
		"orgView":  {"/api/organizations/" + f.o1 + "/managers", nil, []string{"ORG_OWNER_VIEWER"}},
		"proj":     {"/api/resources/" + f.r1.ID + "/managers", nil, []string{"PROJECT_OWNER"}},
		"projView": {"/api/resources/" + f.r1.ID + "/managers", nil, []string{"PROJECT_OWNER_VIEWER"}},
		"grant":    {"/api/resources/" + f.r1.ID + "/managers", map[string]any{"organizationId": f.o1}, []string{"PROJECT_GRANT_OWNER"}},
		"none":     {},
	}
	for _, kind := range managerKinds {
		c := f.createAPIClient(t, strings.ToLower(kind)+"-bot")
		if g := grants[kind]; g.path != "" {
			body := map[string]any{"clientId": c.ClientID, "roles": g.roles}
			for k, v := range g.body {
				body[k] = v
			}
			f.do(t, "POST", g.path, body, http.StatusCreated, nil)
		}
		r := f.managementToken(t, c.ClientID, c.ClientSecret)
		f.tokens[kind] = accessToken(t, r)
		if s, _ := tokenClaims(t, f.tokens[kind])["scope"].(string); strings.Contains(s, "all") {
			t.Fatalf("%s: token has scope all", kind)
		}
	}
	return f
}

func TestManagers_PermissionMatrix(t *testing.T) {
	f := newManagerFixture(t)
	tv := []string{"iam", "iamView"}
	orgReaders := append(slices.Clone(tv), "org", "orgView", "grant")
	resReaders := append(slices.Clone(tv), "proj", "projView", "grant")
	o1, o2, r1, r2 := "/api/organizations/"+f.o1, "/api/organizations/"+f.o2, "/api/resources/"+f.r1.ID, "/api/resources/"+f.r2.ID
	cases := []struct {
		group, method, path string
		body                any
		allowed             []string
	}{
		{"users", "GET", "/api/users", nil, orgReaders},
		{"users", "GET", "/api/users/" + f.u1.ID, nil, orgReaders},
		{"users", "GET", "/api/users/" + f.u3.ID, nil, tv},
		{"users", "PATCH", "/api/users/" + f.u3.ID, map[string]any{"name": "n"}, []string{"iam"}},
		{"users", "DELETE", "/api/users/nope", nil, []string{"iam"}},
		{"users", "GET", "/api/users/" + f.u1.ID + "/organizations", nil, tv},
		{"applications", "GET", "/api/applications", nil, tv},
		{"applications", "POST", "/api/applications", map[string]any{}, []string{"iam"}},
		{"applications", "GET", "/api/applications/" + f.ClientID + "/secrets", nil, []string{"iam"}},
		{"roles", "GET", "/api/roles", nil, tv},
		{"roles", "POST", "/api/roles", map[string]any{}, []string{"iam"}},
		{"resources", "GET", "/api/resources", nil, resReaders},
		{"resources", "GET", r1, nil, resReaders},
		{"resources", "GET", r1 + "/scopes", nil, resReaders},
		{"resources", "GET", r2, nil, tv},
		{"resources", "PATCH", r1, map[string]any{"name": "R1"}, []string{"iam", "proj"}},
		{"resources", "PATCH", r2, map[string]any{"name": "R2"}, []string{"iam"}},
		// A PROJECT_OWNER renames its resource and changes nothing else.
		{"resources", "PATCH", r1, map[string]any{"accessTokenTtl": 7200}, []string{"iam"}},
		{"resources", "PATCH", r1, map[string]any{"name": "R1", "accessTokenTtl": 7200}, []string{"iam"}},
		{"resources", "PATCH", r1, map[string]any{"name": "R1", "accessTokenTtl": nil}, []string{"iam"}},
		{"resources", "PATCH", r1, map[string]any{"name": "R1", "indicator": "https://x.example.com"}, []string{"iam"}},
		{"resources", "POST", r1 + "/scopes", map[string]any{}, []string{"iam", "proj"}},
		{"resources", "DELETE", r1 + "/scopes/nope", nil, []string{"iam", "proj"}},
		{"resources", "DELETE", "/api/resources/nope", nil, []string{"iam"}},
		{"resources", "PATCH", r1 + "/is-default", map[string]any{}, []string{"iam"}},
		{"resource managers", "GET", r1 + "/managers", nil, append(slices.Clone(tv), "proj", "projView")},
		{"resource managers", "POST", r1 + "/managers", map[string]any{}, []string{"iam", "proj"}},
		{"resource managers", "DELETE", r1 + "/managers/nope", nil, []string{"iam", "proj"}},
		// A resource grant needs write access to the organization as well.
		{"resource managers", "POST", r1 + "/managers", map[string]any{"userId": f.u3.ID, "roles": []string{"BAD"}, "organizationId": f.o1}, []string{"iam"}},
		{"resource managers", "POST", r1 + "/managers", map[string]any{"userId": f.u3.ID, "roles": []string{"BAD"}, "organizationId": f.o2}, []string{"iam"}},
		{"resource managers", "DELETE", r1 + "/managers/nope?organizationId=" + f.o2, nil, []string{"iam"}},
		{"organizations", "GET", "/api/organizations", nil, orgReaders},
		{"organizations", "GET", o1, nil, orgReaders},
		{"organizations", "GET", o2, nil, tv},
		{"organizations", "POST", "/api/organizations", map[string]any{}, []string{"iam"}},
		{"organizations", "PATCH", o1, map[string]any{"name": strings.Repeat("x", 200)}, []string{"iam"}},
		{"organizations", "DELETE", "/api/organizations/nope", nil, []string{"iam"}},
		{"members", "GET", o1 + "/users", nil, orgReaders},
		{"members", "GET", o2 + "/users", nil, tv},
		{"members", "POST", o1 + "/users", map[string]any{"userIds": []string{"nope"}}, []string{"iam", "org"}},
		{"members", "PUT", o1 + "/users", map[string]any{}, []string{"iam", "org"}},
		{"members", "DELETE", o1 + "/users/nope", nil, []string{"iam", "org"}},
		{"members", "GET", o1 + "/users/" + f.u1.ID + "/roles", nil, orgReaders},
		{"members", "POST", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleIds": []string{f.within}}, []string{"iam", "org", "grant"}},
		{"members", "POST", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleIds": []string{f.beyond}}, []string{"iam", "org"}},
		{"members", "POST", o1 + "/users/roles", map[string]any{"userIds": []string{f.u1.ID}, "organizationRoleIds": []string{f.within}}, []string{"iam", "org", "grant"}},
		{"members", "POST", o1 + "/users/roles", map[string]any{"userIds": []string{f.u1.ID}, "organizationRoleIds": []string{f.beyond}}, []string{"iam", "org"}},
		{"members", "POST", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleNames": []string{"org-admin"}}, []string{"iam", "org"}},
		{"members", "POST", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleNames": []string{"r1-reader"}}, []string{"iam", "org", "grant"}},
		{"members", "POST", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleIds": []string{f.empty}}, []string{"iam", "org"}},
		{"members", "PUT", o1 + "/users/" + f.u1.ID + "/roles", map[string]any{"organizationRoleIds": []string{f.within}}, []string{"iam", "org"}},
		{"members", "DELETE", o1 + "/users/" + f.u1.ID + "/roles/" + f.beyond, nil, []string{"iam", "org"}},
		{"members", "POST", o2 + "/users/" + f.u2.ID + "/roles", map[string]any{"organizationRoleIds": []string{f.within}}, []string{"iam"}},
		{"members", "GET", o1 + "/applications", nil, orgReaders},
		{"members", "POST", o1 + "/applications", map[string]any{"applicationIds": []string{"nope"}}, []string{"iam", "org"}},
		{"organization managers", "GET", o1 + "/managers", nil, append(slices.Clone(tv), "org", "orgView")},
		{"organization managers", "POST", o1 + "/managers", map[string]any{}, []string{"iam", "org"}},
		{"organization managers", "GET", o2 + "/managers", nil, tv},
		{"template", "GET", "/api/organization-roles", nil, orgReaders},
		{"template", "GET", "/api/organization-scopes", nil, orgReaders},
		{"template", "POST", "/api/organization-roles", map[string]any{}, []string{"iam"}},
		{"invitations", "GET", "/api/organization-invitations", nil, append(slices.Clone(tv), "org", "orgView")},
		{"invitations", "POST", "/api/organization-invitations", map[string]any{"organizationId": f.o1, "invitee": "bad"}, []string{"iam", "org"}},
		{"invitations", "POST", "/api/organization-invitations", map[string]any{"organizationId": f.o2, "invitee": "bad"}, []string{"iam"}},
		{"invitations", "GET", "/api/organization-invitations/nope", nil, tv},
		{"tenant managers", "GET", "/api/managers", nil, tv},
		{"tenant managers", "POST", "/api/managers", map[string]any{}, []string{"iam"}},
		{"api clients", "GET", "/api/api-clients", nil, tv},
		{"api clients", "POST", "/api/api-clients", map[string]any{}, []string{"iam"}},
		{"logs", "GET", "/api/logs", nil, tv},
		{"configs", "GET", "/api/configs/oidc/private-keys", nil, []string{"iam"}},
	}
	for _, tc := range cases {
		for _, kind := range managerKinds {
			r := call(t, tc.method, f.URL+tc.path, f.tokens[kind], tc.body)
			allowed := slices.Contains(tc.allowed, kind)
			if allowed && (r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized || r.Status >= 500) {
				t.Errorf("%s: %s %s as %s: %d %s, want allowed", tc.group, tc.method, tc.path, kind, r.Status, r.Body)
			} else if !allowed && (r.Status != http.StatusForbidden || r.Code() != "auth.forbidden") {
				t.Errorf("%s: %s %s as %s: %d %s, want 403 auth.forbidden", tc.group, tc.method, tc.path, kind, r.Status, r.Body)
			}
		}
	}
}

// listAs lists path with token and returns the ids and Total-Number.
func (f *managerFixture) listAs(t *testing.T, kind, path, field string) ([]string, string) {
	t.Helper()
	r := call(t, "GET", f.URL+path, f.tokens[kind], nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s as %s: %d %s", path, kind, r.Status, r.Body)
	}
	var items []map[string]any
	r.JSON(t, &items)
	ids := []string{}
	for _, it := range items {
		id, _ := it[field].(string)
		ids = append(ids, id)
	}
	return ids, r.Header.Get("Total-Number")
}

func TestManagers_ListsShowOnlyTheGrant(t *testing.T) {
	f := newManagerFixture(t)
	// A user in both organizations is listed once, and newest first.
	both := f.createUser(t, map[string]any{"username": "both"})
	f.orgAddUsers(t, f.o2, both.ID)
	f.orgAddUsers(t, f.o1, both.ID)
	var c apiClient
	f.do(t, "GET", "/api/api-clients/org-bot", nil, http.StatusOK, &c)
	f.do(t, "POST", "/api/organizations/"+f.o2+"/managers", map[string]any{"userId": c.UserID, "roles": []string{"ORG_OWNER_VIEWER"}}, http.StatusCreated, nil)
	if ids, total := f.listAs(t, "org", "/api/users", "id"); !slices.Equal(ids, []string{both.ID, f.u2.ID, f.u1.ID}) || total != "3" {
		t.Errorf("users of two organizations: %v (%s)", ids, total)
	}
	f.do(t, "DELETE", "/api/organizations/"+f.o2+"/managers/"+c.UserID, nil, http.StatusNoContent, nil)
	f.do(t, "DELETE", "/api/organizations/"+f.o1+"/users/"+both.ID, nil, http.StatusNoContent, nil)
	for _, org := range []string{f.o1, f.o2} {
		f.do(t, "POST", "/api/organization-invitations", map[string]any{"organizationId": org,
			"invitee": "x@example.com", "expiresAt": 4102444800000}, http.StatusCreated, nil)
	}
	for _, tc := range []struct {
		kind, path, field string
		want              []string
		total             string
	}{
		{"org", "/api/organizations", "id", []string{f.o1}, "1"},
		{"orgView", "/api/organizations?page_size=1", "id", []string{f.o1}, "1"},
		{"grant", "/api/organizations", "id", []string{f.o1}, "1"},
		{"org", "/api/users", "id", []string{f.u1.ID}, "1"},
		{"org", "/api/users?search=%25u%25", "id", []string{f.u1.ID}, "1"},
		{"org", "/api/users?search=u2", "id", []string{}, "0"},
		{"grant", "/api/users?page_size=1", "id", []string{f.u1.ID}, "1"},
		{"proj", "/api/resources?page_size=5", "id", []string{f.r1.ID}, "1"},
		{"grant", "/api/resources?page_size=5", "id", []string{f.r1.ID}, "1"},
		{"iamView", "/api/organizations", "id", nil, "2"},
	} {
		ids, total := f.listAs(t, tc.kind, tc.path, tc.field)
		if (tc.want != nil && !slices.Equal(ids, tc.want)) || total != tc.total {
			t.Errorf("GET %s as %s: %v (Total-Number %s), want %v (%s)", tc.path, tc.kind, ids, total, tc.want, tc.total)
		}
	}
	r := call(t, "GET", f.URL+"/api/organization-invitations", f.tokens["org"], nil)
	var invs []map[string]any
	r.JSON(t, &invs)
	if len(invs) != 1 || invs[0]["organizationId"] != f.o1 {
		t.Errorf("invitations as org owner: %s", r.Body)
	}
}

func TestManagers_ChangesApplyAtOnce(t *testing.T) {
	f := newManagerFixture(t)
	path := "/api/organizations/" + f.o1
	if r := call(t, "GET", f.URL+path, f.tokens["org"], nil); r.Status != http.StatusOK {
		t.Fatalf("before: %d %s", r.Status, r.Body)
	}
	var c apiClient
	f.do(t, "GET", "/api/api-clients/org-bot", nil, http.StatusOK, &c)
	f.do(t, "DELETE", path+"/managers/"+c.UserID, nil, http.StatusNoContent, nil)
	wantError(t, call(t, "GET", f.URL+path, f.tokens["org"], nil), http.StatusForbidden, "auth.forbidden")

	// A viewer raised to owner may write with the token it already has.
	f.do(t, "GET", "/api/api-clients/orgview-bot", nil, http.StatusOK, &c)
	body := map[string]any{"userIds": []string{f.u3.ID}}
	wantError(t, call(t, "POST", f.URL+path+"/users", f.tokens["orgView"], body), http.StatusForbidden, "auth.forbidden")
	var m struct {
		Roles []string `json:"roles"`
	}
	f.do(t, "POST", path+"/managers", map[string]any{"userId": c.UserID, "roles": []string{"ORG_OWNER"}}, http.StatusOK, &m)
	if !slices.Equal(m.Roles, []string{"ORG_OWNER"}) {
		t.Errorf("roles after replace: %v", m.Roles)
	}
	if r := call(t, "POST", f.URL+path+"/users", f.tokens["orgView"], body); r.Status != http.StatusCreated {
		t.Errorf("after raise: %d %s", r.Status, r.Body)
	}
	// Disabling the client ends its manager access with its token.
	f.do(t, "POST", "/api/api-clients/orgview-bot/disable", nil, http.StatusOK, nil)
	wantError(t, call(t, "GET", f.URL+path, f.tokens["orgView"], nil), http.StatusUnauthorized, "auth.unauthorized")
}

func TestManagers_Routes(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "alice"})
	org := e.orgCreate(t, "O").ID
	res := e.createResource(t, "R", "https://r.example.com")

	// Any user can be a manager; POST answers 201, then 200 on replace.
	var m map[string]any
	e.do(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{"IAM_OWNER_VIEWER"}}, http.StatusCreated, &m)
	e.do(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{"IAM_OWNER"}}, http.StatusOK, &m)
	e.do(t, "POST", "/api/resources/"+res.ID+"/managers", map[string]any{"userId": u.ID, "roles": []string{"PROJECT_GRANT_OWNER"},
		"organizationId": org}, http.StatusCreated, &m)
	if m["organizationId"] != org || m["resourceId"] != res.ID {
		t.Errorf("grant: %v", m)
	}
	var list []map[string]any
	r := e.do(t, "GET", "/api/resources/"+res.ID+"/managers", nil, http.StatusOK, &list)
	if len(list) != 1 || r.Header.Get("Total-Number") != "1" || list[0]["organizationId"] != org {
		t.Errorf("resource managers: %s", r.Body)
	}
	e.fail(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{"ORG_OWNER"}}, 400, "manager.invalid_role")
	e.fail(t, "POST", "/api/organizations/"+org+"/managers", map[string]any{"userId": u.ID, "roles": []string{"IAM_OWNER"}}, 400, "manager.invalid_role")
	e.fail(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{}}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/managers", map[string]any{"roles": []string{"IAM_OWNER"}}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/managers", map[string]any{"userId": "nope", "roles": []string{"IAM_OWNER"}}, 404, "entity.not_found")
	e.fail(t, "POST", "/api/managers", map[string]any{"clientId": "nope", "roles": []string{"IAM_OWNER"}}, 404, "entity.not_found")
	e.fail(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{"IAM_OWNER"}, "organizationId": org}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/organizations/nope/managers", map[string]any{"userId": u.ID, "roles": []string{"ORG_OWNER"}}, 404, "entity.not_found")
	e.do(t, "DELETE", "/api/resources/"+res.ID+"/managers/"+u.ID+"?organizationId="+org, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", "/api/resources/"+res.ID+"/managers/"+u.ID+"?organizationId="+org, nil, 404, "manager.not_found")
	e.do(t, "DELETE", "/api/managers/"+u.ID, nil, http.StatusNoContent, nil)
	r = e.do(t, "GET", "/api/managers", nil, http.StatusOK, &list)
	if len(list) != 0 || r.Header.Get("Total-Number") != "0" {
		t.Errorf("after delete: %s", r.Body)
	}
	// Managers are per tenant.
	other := e.inTenant(t, "acme")
	other.fail(t, "POST", "/api/managers", map[string]any{"userId": u.ID, "roles": []string{store.ManagerIAMOwner}}, 404, "entity.not_found")
}

// TestManagers_OrganizationTokenNeverManages: an organization role can carry
// the Management API's scope all, and an organization manager hands out
// organization roles, so an organization token must not be accepted by the
// Management API, whatever its scopes.
func TestManagers_OrganizationTokenNeverManages(t *testing.T) {
	e := newEnv(t)
	org := e.orgCreate(t, "O").ID
	role := e.orgCreateRole(t, map[string]any{"name": "sneaky", "type": "MachineToMachine",
		"resourceScopeIds": []string{e.managementScope(t).ID}}).ID
	app := e.createM2M(t, "member")
	e.orgAddApps(t, org, app.ID)
	e.do(t, "POST", "/api/organizations/"+org+"/applications/"+app.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{role}}, http.StatusCreated, nil)
	tok := accessToken(t, e.orgToken(t, app, org, mgmtResource, "all"))
	if s, _ := tokenClaims(t, tok)["scope"].(string); s != "all" {
		t.Fatalf("organization token scope %q", s)
	}
	wantError(t, call(t, "GET", e.URL+"/api/users", tok, nil), http.StatusUnauthorized, "auth.unauthorized")
}
