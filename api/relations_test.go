package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// scopeFields is the field order of a scope, as Logto answers it.
const scopeFields = "tenantId,id,resourceId,name,description,createdAt"

// rbacFixture is a resource with scopes read, write and admin, a second
// resource with scope read, and one role of each type.
type rbacFixture struct {
	res, other            wireResource
	read, write, admin    wireScope
	otherRead             wireScope
	userRole, machineRole wireRole
}

func newRBACFixture(t testing.TB, e *env) rbacFixture {
	t.Helper()
	var f rbacFixture
	f.res = e.createResource(t, "Orders", "https://orders.example.com")
	f.other = e.createResource(t, "Billing", "https://billing.example.com")
	s := e.createScopes(t, f.res.ID, "read", "write", "admin")
	f.read, f.write, f.admin = s[0], s[1], s[2]
	f.otherRead = e.createScopes(t, f.other.ID, "read")[0]
	f.userRole = e.createRole(t, "people", "User")
	f.machineRole = e.createRole(t, "machines", "MachineToMachine")
	return f
}

func TestRoleScopes_AssignListRemove(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	base := "/api/roles/" + f.machineRole.ID + "/scopes"

	r := e.do(t, "POST", base, map[string]any{"scopeIds": []string{f.read.ID, f.otherRead.ID}}, http.StatusCreated, nil)
	var added []wireScope
	r.JSON(t, &added)
	if len(added) != 2 {
		t.Fatalf("assigned %s", r.Body)
	}
	for _, s := range added {
		if want := map[string]wireScope{f.read.ID: f.read, f.otherRead.ID: f.otherRead}[s.ID]; s.Resource != nil ||
			s.ResourceID != want.ResourceID || s.Name != want.Name || s.CreatedAt != want.CreatedAt || s.TenantID != "default" {
			t.Errorf("assigned %+v", s)
		}
	}
	var raw []json.RawMessage
	r.JSON(t, &raw)
	if got := fieldNames(t, raw[0]); got != scopeFields {
		t.Errorf("scope fields %s, want %s", got, scopeFields)
	}

	// An id already held refuses the whole request.
	e.fail(t, "POST", base, map[string]any{"scopeIds": []string{f.read.ID}}, 422, "role.scope_exists")
	e.fail(t, "POST", base, map[string]any{"scopeIds": []string{f.write.ID, f.read.ID}}, 422, "role.scope_exists")
	e.fail(t, "POST", base, map[string]any{"scopeIds": []string{f.write.ID, "nosuchscope"}}, 404, "entity.not_found")
	e.fail(t, "POST", base, map[string]any{}, 400, "guard.invalid_input")
	e.fail(t, "POST", "/api/roles/nosuchrole/scopes", map[string]any{"scopeIds": []string{f.write.ID}}, 404, "entity.not_found")
	e.wantIDSet(t, base, f.read.ID, f.otherRead.ID)
	e.fail(t, "POST", "/api/roles/"+f.userRole.ID+"/scopes", map[string]any{"scopeIds": []string{e.managementScope(t).ID}},
		422, "role.management_api_scopes_not_assignable_to_user_role")

	e.fail(t, "POST", base, map[string]any{"scopeIds": []string{}}, 400, "guard.invalid_input")
	// As in Logto, the answer lists every scope the role now holds.
	e.do(t, "POST", base, map[string]any{"scopeIds": []string{f.write.ID}}, http.StatusCreated, &added)
	if got := join(scopeIDs(added...)...); !sameIDs(got, f.read.ID, f.otherRead.ID, f.write.ID) {
		t.Errorf("second assignment answered %s, want all three held scopes", got)
	}

	// The list carries each scope's resource and pages on request.
	var list []wireScope
	r = e.do(t, "GET", base, nil, http.StatusOK, &list)
	if len(list) != 3 {
		t.Fatalf("list %s", r.Body)
	}
	for _, s := range list {
		want := f.res
		if s.ID == f.otherRead.ID {
			want = f.other
		}
		if s.Resource == nil || s.Resource.ID != want.ID || s.Resource.Indicator != want.Indicator || s.Resource.AccessTokenTTL != 3600 ||
			s.Resource.TenantID != "default" || s.ResourceID != want.ID {
			t.Errorf("scope %s with resource %+v, want %s", s.Name, s.Resource, want.ID)
		}
	}
	r = e.do(t, "GET", base+"?page=2&page_size=2", nil, http.StatusOK, &list)
	if r.Header.Get("Total-Number") != "3" || len(list) != 1 {
		t.Errorf("page 2: %v %s", r.Header, r.Body)
	}
	r = e.do(t, "GET", base+"?search=%25write%25&page_size=5", nil, http.StatusOK, &list)
	if r.Header.Get("Total-Number") != "1" || len(list) != 1 || list[0].ID != f.write.ID {
		t.Errorf("search: %v %s", r.Header, r.Body)
	}
	e.fail(t, "GET", "/api/roles/nosuchrole/scopes", nil, 404, "entity.not_found")

	e.do(t, "DELETE", base+"/"+f.read.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+f.read.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/"+f.admin.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchscope", nil, 404, "entity.not_found")
	e.wantIDSet(t, base, f.write.ID, f.otherRead.ID)
}

func TestRoleUsers_AssignListRemove(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	alice := e.createUser(t, map[string]any{"username": "alice", "primaryEmail": "alice@example.com", "name": "Alice", "customData": map[string]any{"k": "v"}})
	bob := e.createUser(t, map[string]any{"username": "bob"})
	carol := e.createUser(t, map[string]any{"username": "carol"})
	base := "/api/roles/" + f.userRole.ID + "/users"

	e.do(t, "POST", base, map[string]any{"userIds": []string{alice.ID, bob.ID}}, http.StatusCreated, nil)
	// Logto's database, not its route, refuses a user for a machine role.
	e.fail(t, "POST", "/api/roles/"+f.machineRole.ID+"/users", map[string]any{"userIds": []string{carol.ID}}, 422, "entity.db_constraint_violated")
	e.fail(t, "POST", "/api/roles/"+f.machineRole.ID+"/users", map[string]any{"userIds": []string{carol.ID, "nosuchuser"}}, 404, "entity.not_found")
	e.fail(t, "POST", "/api/users/"+carol.ID+"/roles", map[string]any{"roleIds": []string{f.machineRole.ID}}, 422, "user.invalid_role_type")
	e.fail(t, "POST", base, map[string]any{"userIds": []string{carol.ID, "nosuchuser"}}, 404, "entity.not_found")
	e.fail(t, "POST", "/api/roles/nosuchrole/users", map[string]any{"userIds": []string{carol.ID}}, 404, "entity.not_found")
	e.wantIDs(t, "/api/users/"+carol.ID+"/roles")
	if got := e.roles(t, "")[f.userRole.ID].UsersCount; got != 2 {
		t.Errorf("usersCount %d, want 2", got)
	}
	// Assigning a holder again is not an error.
	e.do(t, "POST", base, map[string]any{"userIds": []string{alice.ID}}, http.StatusCreated, nil)

	r := e.do(t, "GET", base, nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "2" {
		t.Errorf("Total-Number %q, want 2 without paging parameters", r.Header.Get("Total-Number"))
	}
	var list []user
	r.JSON(t, &list)
	if !sameIDs(join(list[0].ID, list[1].ID), alice.ID, bob.ID) {
		t.Fatalf("users %s", r.Body)
	}
	for _, u := range list {
		if u.ID == alice.ID && (*u.Username != "alice" || *u.PrimaryEmail != "alice@example.com" || *u.Name != "Alice" ||
			u.CustomData["k"] != "v" || u.Profile == nil || u.CreatedAt != alice.CreatedAt) {
			t.Errorf("alice listed as %+v", u)
		}
	}
	for _, field := range []string{`"primaryPhone":`, `"avatar":`, `"identities":`, `"lastSignInAt":`, `"isSuspended":`, `"applicationId":`} {
		if !strings.Contains(string(r.Body), field) {
			t.Errorf("user list lacks %s: %s", field, r.Body)
		}
	}
	if strings.Contains(strings.ToLower(string(r.Body)), "password") && !strings.Contains(string(r.Body), `"hasPassword"`) {
		t.Errorf("user list shows password data: %s", r.Body)
	}
	e.wantIDs(t, base+"?search=%25alice%25", alice.ID)
	// The list takes the same user search as GET /api/users, customData included.
	e.wantIDs(t, base+"?search.customData.k=v&mode.customData.k=exact", alice.ID)
	e.wantIDs(t, "/api/users/"+alice.ID+"/roles", f.userRole.ID)

	e.do(t, "DELETE", base+"/"+alice.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+alice.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchuser", nil, 404, "entity.not_found")
	e.wantIDs(t, base, bob.ID)
	e.wantIDs(t, "/api/users/"+alice.ID+"/roles")
}

func TestRoleApplications_AssignListRemove(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	e.do(t, "POST", "/api/roles/"+f.machineRole.ID+"/scopes", map[string]any{"scopeIds": []string{f.read.ID}}, http.StatusCreated, nil)
	one, two := e.createM2M(t, "one"), e.createM2M(t, "two")
	var spa idName
	e.do(t, "POST", "/api/applications", map[string]any{"name": "web", "type": "SPA",
		"oidcClientMetadata": map[string]any{"redirectUris": []string{"https://web.example.com/cb"}, "postLogoutRedirectUris": []string{}}}, http.StatusOK, &spa)
	base := "/api/roles/" + f.machineRole.ID + "/applications"

	e.do(t, "POST", base, map[string]any{"applicationIds": []string{one.ID}}, http.StatusCreated, nil)
	// On the role's side Logto's database refuses what does not fit.
	e.fail(t, "POST", "/api/roles/"+f.userRole.ID+"/applications", map[string]any{"applicationIds": []string{two.ID}}, 422, "entity.db_constraint_violated")
	e.fail(t, "POST", base, map[string]any{"applicationIds": []string{two.ID, spa.ID}}, 422, "entity.db_constraint_violated")
	e.fail(t, "POST", "/api/applications/"+spa.ID+"/roles", map[string]any{"roleIds": []string{f.machineRole.ID}}, 422, "application.invalid_type")
	e.fail(t, "POST", base, map[string]any{"applicationIds": []string{two.ID, "nosuchapp"}}, 404, "entity.not_found")
	e.fail(t, "POST", "/api/applications/"+two.ID+"/roles", map[string]any{"roleIds": []string{f.userRole.ID}}, 422, "application.invalid_role_type")
	e.wantIDs(t, base, one.ID)
	e.wantIDs(t, "/api/applications/"+two.ID+"/roles")
	if tok := e.issue(t, two, f.res.Indicator, "read"); tok.Scope != "" {
		t.Errorf("two's token scope %q", tok.Scope)
	}

	var list []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type string `json:"type"`
	}
	r := e.do(t, "GET", base, nil, http.StatusOK, &list)
	if r.Header.Get("Total-Number") != "1" || len(list) != 1 || list[0].ID != one.ID || list[0].Name != "one" || list[0].Type != "MachineToMachine" {
		t.Errorf("list: %v %s", r.Header, r.Body)
	}
	e.wantIDs(t, "/api/applications/"+one.ID+"/roles", f.machineRole.ID)
	if tok := e.issue(t, one, f.res.Indicator, "read"); tok.Scope != "read" {
		t.Errorf("one's token scope %q", tok.Scope)
	}

	e.do(t, "DELETE", base+"/"+one.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+one.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchapp", nil, 404, "entity.not_found")
	e.wantIDs(t, base)
	e.wantIDs(t, "/api/applications/"+one.ID+"/roles")
	if tok := e.issue(t, one, f.res.Indicator, "read"); tok.Scope != "" {
		t.Errorf("one's token after removal: scope %q", tok.Scope)
	}
}

func TestUserRoles_AssignReplaceRemove(t *testing.T) {
	e := newEnv(t)
	// Names with "-", which no id holds, so that a search for one matches no id.
	r1, r2, r3 := e.createRole(t, "r-1", "User"), e.createRole(t, "r-2", "User"), e.createRole(t, "r-3", "User")
	m := e.createRole(t, "m", "MachineToMachine")
	u := e.createUser(t, map[string]any{"username": "holder"})
	base := "/api/users/" + u.ID + "/roles"
	type assigned struct {
		RoleIDs      []string  `json:"roleIds"`
		AddedRoleIDs *[]string `json:"addedRoleIds"`
	}

	r := e.do(t, "GET", base, nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "0" || string(r.Body) != "[]" {
		t.Errorf("empty list: %v %s", r.Header, r.Body)
	}
	var got assigned
	e.do(t, "POST", base, map[string]any{"roleIds": []string{r1.ID, r2.ID}}, http.StatusCreated, &got)
	if join(got.RoleIDs...) != join(r1.ID, r2.ID) || got.AddedRoleIDs == nil || !sameIDs(join(*got.AddedRoleIDs...), r1.ID, r2.ID) {
		t.Errorf("first assign: %+v", got)
	}
	e.do(t, "POST", base, map[string]any{"roleIds": []string{r2.ID, r3.ID}}, http.StatusCreated, &got)
	if join(got.RoleIDs...) != join(r2.ID, r3.ID) || got.AddedRoleIDs == nil || join(*got.AddedRoleIDs...) != r3.ID {
		t.Errorf("second assign: %+v", got)
	}
	e.wantIDSet(t, base, r1.ID, r2.ID, r3.ID)
	r = e.do(t, "GET", base+"?page_size=2", nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "3" || strings.Count(string(r.Body), `"id"`) != 2 {
		t.Errorf("paged: %v %s", r.Header, r.Body)
	}
	e.wantIDs(t, base+"?search=%25r-2%25", r2.ID)

	// Refused requests change nothing.
	e.fail(t, "POST", base, map[string]any{"roleIds": []string{m.ID}}, 422, "user.invalid_role_type")
	e.fail(t, "PUT", base, map[string]any{"roleIds": []string{r1.ID, m.ID}}, 422, "user.invalid_role_type")
	e.fail(t, "POST", base, map[string]any{"roleIds": []string{"nosuchrole"}}, 404, "entity.not_found")
	e.fail(t, "PUT", base, map[string]any{"roleIds": []string{r1.ID, "nosuchrole"}}, 404, "entity.not_found")
	e.fail(t, "POST", base, map[string]any{}, 400, "guard.invalid_input")
	e.wantIDSet(t, base, r1.ID, r2.ID, r3.ID)

	r = e.do(t, "PUT", base, map[string]any{"roleIds": []string{r1.ID}}, http.StatusOK, &got)
	if join(got.RoleIDs...) != r1.ID || strings.Contains(string(r.Body), "addedRoleIds") {
		t.Errorf("replace: %s", r.Body)
	}
	e.wantIDs(t, base, r1.ID)
	counts := e.roles(t, "type=User")
	if counts[r1.ID].UsersCount != 1 || counts[r2.ID].UsersCount != 0 || counts[r3.ID].UsersCount != 0 {
		t.Errorf("counts after replace: r1 %d r2 %d r3 %d", counts[r1.ID].UsersCount, counts[r2.ID].UsersCount, counts[r3.ID].UsersCount)
	}
	e.wantIDs(t, "/api/roles/"+r2.ID+"/users")

	e.do(t, "DELETE", base+"/"+r1.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+r1.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchrole", nil, 404, "entity.not_found")
	e.wantIDs(t, "/api/roles/"+r1.ID+"/users")

	unknown := "/api/users/nosuchuser/roles"
	e.fail(t, "GET", unknown, nil, 404, "entity.not_found")
	e.fail(t, "POST", unknown, map[string]any{"roleIds": []string{r1.ID}}, 404, "entity.not_found")
	e.fail(t, "PUT", unknown, map[string]any{"roleIds": []string{r1.ID}}, 404, "entity.not_found")
	e.fail(t, "DELETE", unknown+"/"+r1.ID, nil, 404, "entity.not_found")
	e.wantIDs(t, "/api/roles/"+r1.ID+"/users")
}

// TestRelations_DeleteUser checks that a deleted user leaves no role
// holding it.
func TestRelations_DeleteUser(t *testing.T) {
	e := newEnv(t)
	r1, r2 := e.createRole(t, "r1", "User"), e.createRole(t, "r2", "User")
	gone := e.createUser(t, map[string]any{"username": "gone"})
	stays := e.createUser(t, map[string]any{"username": "stays"})
	e.do(t, "POST", "/api/users/"+gone.ID+"/roles", map[string]any{"roleIds": []string{r1.ID, r2.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/users/"+stays.ID+"/roles", map[string]any{"roleIds": []string{r1.ID}}, http.StatusCreated, nil)

	e.do(t, "DELETE", "/api/users/"+gone.ID, nil, http.StatusNoContent, nil)
	roles := e.roles(t, "")
	if c := roles[r1.ID]; c.UsersCount != 1 || len(c.FeaturedUsers) != 1 || c.FeaturedUsers[0].ID != stays.ID {
		t.Errorf("r1 after user deletion: %+v", c)
	}
	if c := roles[r2.ID]; c.UsersCount != 0 || len(c.FeaturedUsers) != 0 {
		t.Errorf("r2 after user deletion: %+v", c)
	}
	e.wantIDs(t, "/api/roles/"+r1.ID+"/users", stays.ID)
	e.wantIDs(t, "/api/roles/"+r2.ID+"/users")
	e.fail(t, "GET", "/api/users/"+gone.ID+"/roles", nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/roles/"+r1.ID+"/users/"+gone.ID, nil, 404, "entity.not_found")
	e.wantIDSet(t, "/api/roles?excludeUserId="+gone.ID+"&type=User", r1.ID, r2.ID)
}

// TestRelations_DeleteRole checks that a deleted role leaves no user, app or
// scope pointing at it, and that tokens lose its scopes at once.
func TestRelations_DeleteRole(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	u := e.createUser(t, map[string]any{"username": "holder"})
	e.do(t, "POST", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{f.userRole.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/roles/"+f.machineRole.ID+"/scopes", map[string]any{"scopeIds": []string{f.read.ID, f.write.ID}}, http.StatusCreated, nil)
	reader := e.createRole(t, "reader", "MachineToMachine", f.read)
	app := e.createM2M(t, "worker", f.machineRole, reader)
	if tok := e.issue(t, app, f.res.Indicator, "read write"); tok.Scope != "read write" {
		t.Fatalf("before: scope %q", tok.Scope)
	}

	e.do(t, "DELETE", "/api/roles/"+f.userRole.ID, nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", "/api/roles/"+f.machineRole.ID, nil, http.StatusNoContent, nil)
	for _, id := range []string{f.userRole.ID, f.machineRole.ID} {
		for _, sub := range []string{"", "/scopes", "/users", "/applications"} {
			e.fail(t, "GET", "/api/roles/"+id+sub, nil, 404, "entity.not_found")
		}
		e.fail(t, "DELETE", "/api/roles/"+id, nil, 404, "entity.not_found")
	}
	e.fail(t, "DELETE", "/api/users/"+u.ID+"/roles/"+f.userRole.ID, nil, 404, "entity.not_found")
	e.wantIDs(t, "/api/users/"+u.ID+"/roles")
	e.wantIDs(t, "/api/applications/"+app.ID+"/roles", reader.ID)
	if tok := e.issue(t, app, f.res.Indicator, "read write"); tok.Scope != "read" {
		t.Errorf("after deletion: scope %q, want read", tok.Scope)
	}
	e.wantIDs(t, "/api/resources/"+f.res.ID+"/scopes", f.read.ID, f.write.ID, f.admin.ID)
	e.wantIDs(t, "/api/roles/"+reader.ID+"/scopes", f.read.ID)
	// The names are free, and a new role of the same name inherits nothing.
	again := e.createRole(t, "machines", "MachineToMachine")
	if c := e.roles(t, "")[again.ID]; c.ApplicationsCount != 0 || c.UsersCount != 0 {
		t.Errorf("recreated role has holders: %+v", c)
	}
	e.wantIDs(t, "/api/roles/"+again.ID+"/scopes")
}

// TestRelations_DeleteScope checks that a deleted scope leaves every role
// that held it at once.
func TestRelations_DeleteScope(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	both := e.createRole(t, "both", "MachineToMachine", f.read, f.write)
	writer := e.createRole(t, "writer", "MachineToMachine", f.write)
	app := e.createM2M(t, "worker", writer)

	e.do(t, "DELETE", "/api/resources/"+f.res.ID+"/scopes/"+f.write.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/roles/"+both.ID+"/scopes", f.read.ID)
	e.wantIDs(t, "/api/roles/"+writer.ID+"/scopes")
	e.wantIDs(t, "/api/resources/"+f.res.ID+"/scopes", f.read.ID, f.admin.ID)
	e.fail(t, "DELETE", "/api/roles/"+writer.ID+"/scopes/"+f.write.ID, nil, 404, "entity.not_found")
	// A new scope of the same name is not granted through the old one.
	e.createScopes(t, f.res.ID, "write")
	if tok := e.issue(t, app, f.res.Indicator, "write"); tok.Scope != "" {
		t.Errorf("token after scope deletion: %q", tok.Scope)
	}
}

// TestRelations_DeleteApplication checks that a deleted app leaves no role
// holding it.
func TestRelations_DeleteApplication(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	gone, stays := e.createM2M(t, "gone", f.machineRole), e.createM2M(t, "stays", f.machineRole)
	e.do(t, "DELETE", "/api/applications/"+gone.ID, nil, http.StatusNoContent, nil)
	if c := e.roles(t, "")[f.machineRole.ID]; c.ApplicationsCount != 1 || len(c.FeaturedApplications) != 1 || c.FeaturedApplications[0].ID != stays.ID {
		t.Errorf("role after app deletion: %+v", c)
	}
	e.wantIDs(t, "/api/roles/"+f.machineRole.ID+"/applications", stays.ID)
	e.fail(t, "GET", "/api/applications/"+gone.ID+"/roles", nil, 404, "entity.not_found")
	e.fail(t, "POST", "/api/roles/"+f.machineRole.ID+"/applications", map[string]any{"applicationIds": []string{gone.ID}}, 404, "entity.not_found")
}

// TestRelations_TokenScopes checks that a token carries the requested scopes
// that the app's roles grant on the requested resource, and nothing else.
func TestRelations_TokenScopes(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	ro := e.createRole(t, "ro", "MachineToMachine", f.read)
	rw := e.createRole(t, "rw", "MachineToMachine", f.read, f.write)
	// admin on the other resource: the same name must not leak across.
	otherAdmin := e.createScopes(t, f.other.ID, "admin")[0]
	billing := e.createRole(t, "billing-admin", "MachineToMachine", otherAdmin)
	app := e.createM2M(t, "worker", ro, rw, billing)

	tests := []struct{ resource, scope, want string }{
		{f.res.Indicator, "read write", "read write"},
		{f.res.Indicator, "write read", "write read"},
		{f.res.Indicator, "read read write read", "read write"},
		{f.res.Indicator, "admin", ""},
		{f.res.Indicator, "read nosuchscope admin", "read"},
		{f.res.Indicator, "", ""},
		{f.res.Indicator, "all", ""},
		{f.other.Indicator, "admin read write", "admin"},
		{mgmtResource, "all read", ""},
	}
	for _, tt := range tests {
		t.Run(tt.resource+"/"+tt.scope, func(t *testing.T) {
			tok := e.issue(t, app, tt.resource, tt.scope)
			if tok.Scope != tt.want || tok.Claims["aud"] != tt.resource {
				t.Errorf("scope %q aud %v, want %q", tok.Scope, tok.Claims["aud"], tt.want)
			}
		})
	}
	// Management API tokens still need all: a token without it is refused.
	tok := e.issue(t, app, mgmtResource, "all")
	for _, path := range []string{"/api/users", "/api/roles", "/api/resources"} {
		wantError(t, call(t, "GET", e.URL+path, tok.Token, nil), 403, "auth.forbidden")
	}
	// A token for a custom resource is no Management API token either.
	tok = e.issue(t, app, f.res.Indicator, "read")
	if r := call(t, "GET", e.URL+"/api/users", tok.Token, nil); r.Status != 401 && r.Status != 403 {
		t.Errorf("custom-resource token on the Management API: %d %s", r.Status, r.Body)
	}
}

// TestRelations_TenantIsolation checks that resources, scopes and roles of
// one tenant are invisible and unusable in another.
func TestRelations_TenantIsolation(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	acme := e.inTenant(t, "acme")

	// Indicators, scope names and role names are per tenant.
	res := acme.createResource(t, "Orders", f.res.Indicator)
	read := acme.createScopes(t, res.ID, "read")[0]
	role := acme.createRole(t, "machines", "MachineToMachine", read)
	u := acme.createUser(t, map[string]any{"username": "acme_user"})
	app := acme.createM2M(t, "acme-worker", role)
	if tok := acme.issue(t, app, f.res.Indicator, "read"); tok.Scope != "read" || !strings.Contains(tok.Claims["iss"].(string), "/t/acme") {
		t.Errorf("acme token: %+v", tok.Claims)
	}

	// Lists do not leak.
	acme.wantIDs(t, "/api/resources", "management-api", res.ID)
	var mgmt wireResource
	acme.do(t, "GET", "/api/resources/management-api", nil, http.StatusOK, &mgmt)
	if mgmt.TenantID != "acme" || mgmt.Indicator != "https://acme.logto.app/api" {
		t.Errorf("acme management resource %+v", mgmt)
	}
	acme.wantIDs(t, "/api/roles", role.ID, acme.managementRole(t).ID)
	if ids := e.ids(t, "/api/resources"); strings.Contains(ids, res.ID) {
		t.Errorf("default lists acme's resource: %s", ids)
	}
	if ids := e.ids(t, "/api/roles"); strings.Contains(ids, role.ID) {
		t.Errorf("default lists acme's role: %s", ids)
	}

	// Ids of default are unknown in acme, and the other way round.
	for _, tc := range []struct {
		name   string
		e      *env
		method string
		path   string
		body   any
	}{
		{"GetResource", acme, "GET", "/api/resources/" + f.res.ID, nil},
		{"PatchResource", acme, "PATCH", "/api/resources/" + f.res.ID, map[string]any{"name": "x"}},
		{"DeleteResource", acme, "DELETE", "/api/resources/" + f.res.ID, nil},
		{"ListScopes", acme, "GET", "/api/resources/" + f.res.ID + "/scopes", nil},
		{"PatchScopeUnderOwnResource", acme, "PATCH", "/api/resources/" + res.ID + "/scopes/" + f.read.ID, map[string]any{"name": "x"}},
		{"GetRole", acme, "GET", "/api/roles/" + f.machineRole.ID, nil},
		{"DeleteRole", acme, "DELETE", "/api/roles/" + f.machineRole.ID, nil},
		{"RoleScopes", acme, "GET", "/api/roles/" + f.machineRole.ID + "/scopes", nil},
		{"ForeignScopeToRole", acme, "POST", "/api/roles/" + role.ID + "/scopes", map[string]any{"scopeIds": []string{f.write.ID}}},
		{"ForeignScopeOnCreate", acme, "POST", "/api/roles", map[string]any{"name": "n", "description": "d", "scopeIds": []string{f.read.ID}}},
		{"ForeignRoleToUser", acme, "POST", "/api/users/" + u.ID + "/roles", map[string]any{"roleIds": []string{f.userRole.ID}}},
		{"ForeignRoleToApp", acme, "POST", "/api/applications/" + app.ID + "/roles", map[string]any{"roleIds": []string{f.machineRole.ID}}},
		{"ForeignAppToRole", e, "POST", "/api/roles/" + f.machineRole.ID + "/applications", map[string]any{"applicationIds": []string{app.ID}}},
		{"ForeignUserToRole", e, "POST", "/api/roles/" + f.userRole.ID + "/users", map[string]any{"userIds": []string{u.ID}}},
		{"AcmeResourceInDefault", e, "GET", "/api/resources/" + res.ID, nil},
		{"AcmeRoleInDefault", e, "GET", "/api/roles/" + role.ID, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.fail(t, tc.method, tc.path, tc.body, 404, "entity.not_found")
		})
	}
	acme.wantIDs(t, "/api/roles/"+role.ID+"/scopes", read.ID)
	acme.wantIDs(t, "/api/users/"+u.ID+"/roles")
	// Default's app gets nothing from acme's grants on the same indicator.
	defaultApp := e.createM2M(t, "default-worker")
	if tok := e.issue(t, defaultApp, f.res.Indicator, "read"); tok.Scope != "" {
		t.Errorf("default app got %q", tok.Scope)
	}
}

// TestRelations_Audit checks that role and resource writes are audited, and
// refused ones are not.
func TestRelations_Audit(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	role := e.createRole(t, "audited", "User")
	e.fail(t, "POST", "/api/roles", map[string]any{"name": "audited", "description": "again"}, 422, "role.name_in_use")
	e.do(t, "DELETE", "/api/roles/"+role.ID, nil, http.StatusNoContent, nil)

	for _, tc := range []struct{ key, kind, id string }{
		{"Management.Role.Create", "role", role.ID},
		{"Management.Role.Delete", "role", role.ID},
		{"Management.Resource.Create", "resource", res.ID},
	} {
		entries, _ := e.logs(t, "logKey="+tc.key)
		if len(entries) != 1 {
			t.Errorf("%s: %d entries, want 1: %+v", tc.key, len(entries), entries)
			continue
		}
		target, _ := entries[0].Payload["target"].(map[string]any)
		if entries[0].Key != tc.key || target["type"] != tc.kind || target["id"] != tc.id ||
			entries[0].Payload["applicationId"] != e.ClientID || entries[0].Payload["result"] != "Success" {
			t.Errorf("%s: %+v", tc.key, entries[0])
		}
	}
}

// TestRoleAssign_EmptyListsRefused: assigning a role to no users or no
// applications is 400 guard.invalid_input, as Logto's nonempty guard answers,
// and changes nothing.
func TestRoleAssign_EmptyListsRefused(t *testing.T) {
	e := newEnv(t)
	f := newRBACFixture(t, e)
	for _, tc := range []struct {
		name, path string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"NoUsers", "/api/roles/" + f.userRole.ID + "/users", map[string]any{"userIds": []string{}}, 400, "guard.invalid_input"},
		{"NoApplications", "/api/roles/" + f.machineRole.ID + "/applications", map[string]any{"applicationIds": []string{}}, 400, "guard.invalid_input"},
		{"UsersMissing", "/api/roles/" + f.userRole.ID + "/users", map[string]any{}, 400, "guard.invalid_input"},
		{"ApplicationsNull", "/api/roles/" + f.machineRole.ID + "/applications", map[string]any{"applicationIds": nil}, 400, "guard.invalid_input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fail(t, "POST", tc.path, tc.body, tc.wantStatus, tc.wantCode)
		})
	}
	e.wantIDs(t, "/api/roles/"+f.userRole.ID+"/users")
	e.wantIDs(t, "/api/roles/"+f.machineRole.ID+"/applications")
}
