package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// wireRole is a role on the wire; the counts are set in GET /api/roles.
type wireRole struct {
	TenantID             string         `json:"tenantId"`
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	Description          string         `json:"description"`
	Type                 string         `json:"type"`
	IsDefault            bool           `json:"isDefault"`
	UsersCount           int            `json:"usersCount"`
	FeaturedUsers        []featuredUser `json:"featuredUsers"`
	ApplicationsCount    int            `json:"applicationsCount"`
	FeaturedApplications []featuredApp  `json:"featuredApplications"`
}

type featuredUser struct {
	ID     string  `json:"id"`
	Avatar *string `json:"avatar"`
	Name   *string `json:"name"`
}

type featuredApp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Field orders of Logto's answers (logto-samples/09-list-roles.txt).
const (
	roleFields         = "tenantId,id,name,description,type,isDefault"
	roleListFields     = roleFields + ",usersCount,featuredUsers,applicationsCount,featuredApplications"
	featuredUserFields = "id,avatar,name"
	featuredAppFields  = "id,name,type"
	managementRoleName = "Logto Management API access"
)

// fieldNames returns the keys of the JSON object raw, in order.
func fieldNames(t testing.TB, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", raw)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return join(keys...)
}

// sameIDs reports whether the comma-joined id lists hold the same ids.
func sameIDs(got string, want ...string) bool {
	g := strings.Split(got, ",")
	if got == "" {
		g = nil
	}
	w := slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

// roles lists the roles of tenant default that query selects, with counts,
// keyed by id.
func (e *env) roles(t testing.TB, query string) map[string]wireRole {
	t.Helper()
	var list []wireRole
	e.do(t, "GET", "/api/roles?page_size=100&"+query, nil, http.StatusOK, &list)
	out := make(map[string]wireRole, len(list))
	for _, r := range list {
		out[r.ID] = r
	}
	return out
}

// managementRole returns the built-in Management API access role.
func (e *env) managementRole(t testing.TB) wireRole {
	t.Helper()
	for _, r := range e.roles(t, "type=MachineToMachine") {
		if r.Name == managementRoleName {
			return r
		}
	}
	t.Fatal("no built-in management role")
	return wireRole{}
}

func TestRoles_Create(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "POST", "/api/roles", map[string]any{"name": "editor", "description": "Edits things"}, http.StatusOK, nil)
	if got := fieldNames(t, r.Body); got != roleFields {
		t.Errorf("fields %s, want %s", got, roleFields)
	}
	var editor wireRole
	r.JSON(t, &editor)
	if editor.TenantID != "default" || editor.ID == "" || editor.Name != "editor" || editor.Description != "Edits things" ||
		editor.Type != "User" || editor.IsDefault {
		t.Errorf("created %s", r.Body)
	}
	var bot, def wireRole
	e.do(t, "POST", "/api/roles", map[string]any{"name": "bot", "description": "", "type": "MachineToMachine"}, http.StatusOK, &bot)
	e.do(t, "POST", "/api/roles", map[string]any{"name": "newcomer", "description": "d", "type": "User", "isDefault": true}, http.StatusOK, &def)
	if bot.Type != "MachineToMachine" || bot.IsDefault || def.Type != "User" || !def.IsDefault {
		t.Errorf("bot %+v, default %+v", bot, def)
	}
	g := e.do(t, "GET", "/api/roles/"+editor.ID, nil, http.StatusOK, nil)
	if !bytes.Equal(g.Body, r.Body) {
		t.Errorf("get %s, create answered %s", g.Body, r.Body)
	}
	e.fail(t, "GET", "/api/roles/nosuchrole", nil, 404, "entity.not_found")
}

// TestRoles_DefaultForNewUsers checks that, as in Logto, a user created
// through the Management API gets every User role marked isDefault.
func TestRoles_DefaultForNewUsers(t *testing.T) {
	e := newEnv(t)
	var def wireRole
	e.do(t, "POST", "/api/roles", map[string]any{"name": "newcomer", "description": "d", "isDefault": true}, http.StatusOK, &def)
	e.createRole(t, "plain", "User") // not default: the user must not get it
	u := e.createUser(t, map[string]any{"username": "fresh"})
	e.wantIDs(t, "/api/users/"+u.ID+"/roles", def.ID)
	if c := e.roles(t, "")[def.ID]; c.UsersCount != 1 {
		t.Errorf("default role usersCount %d, want 1", c.UsersCount)
	}
}

func TestRoles_CreateErrors(t *testing.T) {
	e := newEnv(t)
	e.createRole(t, "taken", "User")
	res := e.createResource(t, "Orders", "https://orders.example.com")
	read := e.createScopes(t, res.ID, "read")[0]
	all := e.managementScope(t)
	long := strings.Repeat("r", 129)
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantCode   string
	}{
		{"MissingDescription", map[string]any{"name": "x"}, 400, "guard.invalid_input"},
		{"MissingName", map[string]any{"description": "x"}, 400, "guard.invalid_input"},
		{"EmptyName", map[string]any{"name": "", "description": "x"}, 400, "guard.invalid_input"},
		{"LongName", map[string]any{"name": long, "description": "x"}, 400, "guard.invalid_input"},
		{"BadType", map[string]any{"name": "x", "description": "x", "type": "Admin"}, 400, "guard.invalid_input"},
		{"EmptyType", map[string]any{"name": "x", "description": "x", "type": ""}, 400, "guard.invalid_input"},
		{"DefaultM2M", map[string]any{"name": "x", "description": "x", "type": "MachineToMachine", "isDefault": true}, 400, "guard.invalid_input"},
		{"NameInUse", map[string]any{"name": "taken", "description": "x"}, 422, "role.name_in_use"},
		{"BuiltInName", map[string]any{"name": managementRoleName, "description": "x", "type": "MachineToMachine"}, 422, "role.name_in_use"},
		{"UnknownScope", map[string]any{"name": "x", "description": "x", "scopeIds": []string{read.ID, "nosuchscope"}}, 404, "entity.not_found"},
		{"EmptyScopeID", map[string]any{"name": "x", "description": "x", "scopeIds": []string{""}}, 400, "guard.invalid_input"},
		{"ManagementScopeOnUserRole", map[string]any{"name": "x", "description": "x", "scopeIds": []string{read.ID, all.ID}},
			422, "role.management_api_scopes_not_assignable_to_user_role"},
		{"ManagementScopeOnDefaultType", map[string]any{"name": "x", "description": "x", "type": "User", "scopeIds": []string{all.ID}},
			422, "role.management_api_scopes_not_assignable_to_user_role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.fail(t, "POST", "/api/roles", tt.body, tt.wantStatus, tt.wantCode)
		})
	}
	// No refused request created a role or granted a scope: x is free and
	// the only holder of read is nobody.
	r := e.do(t, "GET", "/api/roles", nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "2" {
		t.Errorf("%s roles after refused creates, want the Management API role and taken", r.Header.Get("Total-Number"))
	}
	x := e.createRole(t, "x", "User")
	e.wantIDs(t, "/api/roles/"+x.ID+"/scopes")
	// A machine-to-machine role may hold the Management API scope.
	admin := e.createRole(t, "second-admin", "MachineToMachine", all, read)
	e.wantIDSet(t, "/api/roles/"+admin.ID+"/scopes", all.ID, read.ID)
	// Duplicate ids in scopeIds collapse.
	dup := e.createRole(t, "dup", "MachineToMachine", read, read)
	e.wantIDs(t, "/api/roles/"+dup.ID+"/scopes", read.ID)
}

func TestRoles_Update(t *testing.T) {
	e := newEnv(t)
	role := e.createRole(t, "before", "User")
	e.createRole(t, "other", "User")
	m2m := e.createRole(t, "machine", "MachineToMachine")
	var got wireRole
	r := e.do(t, "PATCH", "/api/roles/"+role.ID, map[string]any{"name": "after", "description": "new", "isDefault": true}, http.StatusOK, &got)
	if got.ID != role.ID || got.Name != "after" || got.Description != "new" || !got.IsDefault || got.Type != "User" ||
		fieldNames(t, r.Body) != roleFields {
		t.Errorf("patched %s", r.Body)
	}
	// The old name is free; a taken name is refused; the own name is fine.
	e.createRole(t, "before", "User")
	e.fail(t, "PATCH", "/api/roles/"+role.ID, map[string]any{"name": "other"}, 422, "role.name_in_use")
	e.fail(t, "PATCH", "/api/roles/"+role.ID, map[string]any{"name": managementRoleName}, 422, "role.name_in_use")
	e.do(t, "PATCH", "/api/roles/"+role.ID, map[string]any{"name": "after"}, http.StatusOK, nil)
	e.fail(t, "PATCH", "/api/roles/"+role.ID, map[string]any{"name": ""}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/roles/"+m2m.ID, map[string]any{"isDefault": true}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/roles/nosuchrole", map[string]any{"name": "x"}, 404, "entity.not_found")
	e.do(t, "GET", "/api/roles/"+role.ID, nil, http.StatusOK, &got)
	if got.Name != "after" || got.Description != "new" {
		t.Errorf("after refused patches: %+v", got)
	}
}

func TestRoles_List(t *testing.T) {
	e := newEnv(t)
	mgmt := e.managementRole(t)
	alpha := e.createRole(t, "alpha-reader", "User")
	beta := e.createRole(t, "beta-writer", "MachineToMachine")
	gamma := e.createRole(t, "gamma-reader", "User")
	u := e.createUser(t, map[string]any{"username": "holder"})
	e.do(t, "POST", "/api/users/"+u.ID+"/roles", map[string]any{"roleIds": []string{alpha.ID}}, http.StatusCreated, nil)
	app := e.createM2M(t, "holder-app", beta)

	r := e.do(t, "GET", "/api/roles", nil, http.StatusOK, nil)
	if r.Header.Get("Total-Number") != "4" || len(r.Header.Values("Link")) == 0 {
		t.Errorf("GET /api/roles without paging parameters: headers %v", r.Header)
	}
	tests := []struct {
		query, want, total string
	}{
		{"", join(gamma.ID, beta.ID, alpha.ID, mgmt.ID), "4"},
		{"page_size=2", join(gamma.ID, beta.ID), "4"},
		{"page=2&page_size=2", join(alpha.ID, mgmt.ID), "4"},
		{"page=3&page_size=2", "", "4"},
		{"type=User", join(gamma.ID, alpha.ID), "2"},
		{"type=MachineToMachine", join(beta.ID, mgmt.ID), "2"},
		{"type=User&excludeUserId=" + u.ID, gamma.ID, "1"},
		{"excludeUserId=" + u.ID, join(gamma.ID, beta.ID, mgmt.ID), "3"},
		{"excludeApplicationId=" + app.ID, join(gamma.ID, alpha.ID, mgmt.ID), "3"},
		{"type=MachineToMachine&excludeApplicationId=" + e.ClientID, beta.ID, "1"},
		{"search=%25reader%25", join(gamma.ID, alpha.ID), "2"},
		{"search=%25READER%25&page_size=1", gamma.ID, "2"},
		{"search.name=beta-writer&mode.name=exact", beta.ID, "1"},
		{"search=%25reader%25&type=MachineToMachine", "", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do(t, "GET", "/api/roles?"+tt.query, nil, http.StatusOK, nil)
			if got := r.Header.Get("Total-Number"); got != tt.total {
				t.Errorf("Total-Number %q, want %q", got, tt.total)
			}
			e.wantIDs(t, "/api/roles?"+tt.query, tt.want)
		})
	}
	e.fail(t, "GET", "/api/roles?type=Admin", nil, 400, "guard.invalid_input")
	e.fail(t, "GET", "/api/roles?page_size=101", nil, 400, "guard.invalid_pagination")
}

// TestRoles_ListCounts checks usersCount, applicationsCount and the featured
// holders against Logto's shape.
func TestRoles_ListCounts(t *testing.T) {
	e := newEnv(t)
	crowd := e.createRole(t, "crowd", "User")
	bots := e.createRole(t, "bots", "MachineToMachine")
	users := map[string]user{}
	var userIDs []string
	for i := range 5 {
		body := map[string]any{"username": fmt.Sprintf("member%d", i), "name": fmt.Sprintf("Member %d", i)}
		if i%2 == 0 {
			body["avatar"] = fmt.Sprintf("https://img.example.com/%d.png", i)
		}
		u := e.createUser(t, body)
		users[u.ID] = u
		userIDs = append(userIDs, u.ID)
	}
	e.do(t, "POST", "/api/roles/"+crowd.ID+"/users", map[string]any{"userIds": userIDs}, http.StatusCreated, nil)
	a1, a2 := e.createM2M(t, "bot-one", bots), e.createM2M(t, "bot-two", bots)

	var raw []json.RawMessage
	e.do(t, "GET", "/api/roles", nil, http.StatusOK, &raw)
	mgmt := e.managementRole(t)
	wantMgmt := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"Logto Management API access","description":"This default role grants access to the Logto management API.","type":"MachineToMachine","isDefault":false,"usersCount":0,"featuredUsers":[],"applicationsCount":1,"featuredApplications":[{"id":%q,"name":"Tenant admin","type":"MachineToMachine"}]}`,
		mgmt.ID, e.ClientID)
	for _, item := range raw {
		if got := fieldNames(t, item); got != roleListFields {
			t.Errorf("fields %s, want %s", got, roleListFields)
		}
		var r wireRole
		if err := json.Unmarshal(item, &r); err != nil {
			t.Fatal(err)
		}
		switch r.ID {
		case mgmt.ID:
			if string(item) != wantMgmt {
				t.Errorf("built-in role\n got %s\nwant %s", item, wantMgmt)
			}
		case crowd.ID:
			if r.UsersCount != 5 || len(r.FeaturedUsers) != 3 || r.ApplicationsCount != 0 || !bytes.Contains(item, []byte(`"featuredApplications":[]`)) {
				t.Errorf("crowd: %s", item)
			}
			for _, f := range r.FeaturedUsers {
				u, ok := users[f.ID]
				if !ok || *f.Name != *u.Name || (f.Avatar == nil) != (u.Avatar == nil) || (f.Avatar != nil && *f.Avatar != *u.Avatar) {
					t.Errorf("featured user %+v, user %+v", f, u)
				}
			}
			var first struct{ FeaturedUsers []json.RawMessage }
			json.Unmarshal(item, &first)
			if got := fieldNames(t, first.FeaturedUsers[0]); got != featuredUserFields {
				t.Errorf("featured user fields %s", got)
			}
		case bots.ID:
			if r.UsersCount != 0 || r.ApplicationsCount != 2 || len(r.FeaturedApplications) != 2 || !bytes.Contains(item, []byte(`"featuredUsers":[]`)) {
				t.Errorf("bots: %s", item)
			}
			want := map[string]string{a1.ID: "bot-one", a2.ID: "bot-two"}
			for _, f := range r.FeaturedApplications {
				if want[f.ID] != f.Name || f.Type != "MachineToMachine" {
					t.Errorf("featured app %+v", f)
				}
			}
			var first struct{ FeaturedApplications []json.RawMessage }
			json.Unmarshal(item, &first)
			if got := fieldNames(t, first.FeaturedApplications[0]); got != featuredAppFields {
				t.Errorf("featured app fields %s", got)
			}
		}
	}
	// Counts follow removals.
	e.do(t, "DELETE", "/api/roles/"+crowd.ID+"/users/"+userIDs[0], nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", "/api/applications/"+a1.ID+"/roles/"+bots.ID, nil, http.StatusNoContent, nil)
	got := e.roles(t, "")
	if c := got[crowd.ID]; c.UsersCount != 4 || len(c.FeaturedUsers) != 3 || slices.ContainsFunc(c.FeaturedUsers, func(f featuredUser) bool { return f.ID == userIDs[0] }) {
		t.Errorf("crowd after removal: %+v", c)
	}
	if b := got[bots.ID]; b.ApplicationsCount != 1 || len(b.FeaturedApplications) != 1 || b.FeaturedApplications[0].ID != a2.ID {
		t.Errorf("bots after removal: %+v", b)
	}
}

// TestRoles_BuiltIn checks that the Management API access role cannot be
// changed, yet can be given to other machine-to-machine apps.
func TestRoles_BuiltIn(t *testing.T) {
	e := newEnv(t)
	mgmt := e.managementRole(t)
	all := e.managementScope(t)
	res := e.createResource(t, "Orders", "https://orders.example.com")
	read := e.createScopes(t, res.ID, "read")[0]
	base := "/api/roles/" + mgmt.ID
	const code = "role.internal_role_violation"
	e.fail(t, "PATCH", base, map[string]any{"name": "mine"}, 403, code)
	e.fail(t, "PATCH", base, map[string]any{"description": "mine"}, 403, code)
	e.fail(t, "DELETE", base, nil, 403, code)
	e.fail(t, "POST", base+"/scopes", map[string]any{"scopeIds": []string{read.ID}}, 403, code)
	e.fail(t, "DELETE", base+"/scopes/"+all.ID, nil, 403, code)
	e.wantIDs(t, base+"/scopes", all.ID)
	var after wireRole
	e.do(t, "GET", base, nil, http.StatusOK, &after)
	if after.Name != managementRoleName || after.Description != mgmt.Description {
		t.Errorf("built-in role changed: %+v", after)
	}
	e.fail(t, "POST", base+"/users", map[string]any{"userIds": []string{e.createUser(t, map[string]any{}).ID}}, 422, "entity.db_constraint_violated")

	// Both assignment routes give it to another app, which can then manage.
	one, two := e.createM2M(t, "ops-one"), e.createM2M(t, "ops-two")
	e.do(t, "POST", base+"/applications", map[string]any{"applicationIds": []string{one.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/applications/"+two.ID+"/roles", map[string]any{"roleIds": []string{mgmt.ID}}, http.StatusCreated, nil)
	for _, app := range []idName{one, two} {
		tok := e.issue(t, app, mgmtResource, "all")
		if tok.Scope != "all" {
			t.Fatalf("%s: scope %q, want all", app.Name, tok.Scope)
		}
		if r := call(t, "GET", e.URL+"/api/users", tok.Token, nil); r.Status != 200 {
			t.Errorf("%s: GET /api/users: %d %s", app.Name, r.Status, r.Body)
		}
	}
	e.wantIDSet(t, base+"/applications", e.ClientID, one.ID, two.ID)
}
