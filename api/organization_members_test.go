package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// orgMember is a member of an organization as its member lists show it.
type orgMember struct {
	ID                string   `json:"id"`
	Username          *string  `json:"username"`
	Name              *string  `json:"name"`
	Type              string   `json:"type"`
	OrganizationRoles []orgRef `json:"organizationRoles"`
}

// Field orders of the member lists (the 1.42 typed schema).
const (
	orgUserFields = "id,username,primaryEmail,primaryPhone,name,avatar,customData,identities,lastSignInAt,createdAt,updatedAt," +
		"profile,applicationId,isSuspended,organizationRoles"
	orgAppFields = "tenantId,id,name,description,type,oidcClientMetadata,customClientMetadata,protectedAppMetadata,customData," +
		"isThirdParty,appLevelAccessControlEnabled,createdAt,organizationRoles"
)

// orgAddUsers makes users members of org.
func (e *env) orgAddUsers(t testing.TB, orgID string, userIDs ...string) {
	t.Helper()
	e.do(t, "POST", "/api/organizations/"+orgID+"/users", map[string]any{"userIds": userIDs}, http.StatusCreated, nil)
}

// orgAddApps makes applications members of org.
func (e *env) orgAddApps(t testing.TB, orgID string, appIDs ...string) {
	t.Helper()
	e.do(t, "POST", "/api/organizations/"+orgID+"/applications", map[string]any{"applicationIds": appIDs}, http.StatusCreated, nil)
}

// orgMembers lists path and returns the members by id and the ids in order.
func (e *env) orgMembers(t testing.TB, path string) (map[string]orgMember, string, response) {
	t.Helper()
	var list []orgMember
	r := e.do(t, "GET", path, nil, http.StatusOK, &list)
	out := make(map[string]orgMember, len(list))
	ids := make([]string, len(list))
	for i, m := range list {
		out[m.ID] = m
		ids[i] = m.ID
	}
	return out, join(ids...), r
}

// orgRefIDs returns the ids of refs, comma-joined.
func orgRefIDs(refs []orgRef) string {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	return join(ids...)
}

// orgUsersFixture is an organization with three users, not yet members,
// and organization roles of both types.
type orgUsersFixture struct {
	org                 orgWire
	alice, bob, carol   user
	zeta, alpha, middle orgRoleWire // User roles, named to sort alpha < middle < zeta
	bot                 orgRoleWire // a MachineToMachine role
}

func newOrgUsersFixture(t testing.TB, e *env) orgUsersFixture {
	t.Helper()
	var f orgUsersFixture
	f.org = e.orgCreate(t, "Org")
	f.alice = e.createUser(t, map[string]any{"username": "alice", "primaryEmail": "alice@example.com", "name": "Alice Liddell",
		"password": "Secret-123!"})
	f.bob = e.createUser(t, map[string]any{"username": "bob", "primaryPhone": "16502530000", "name": "Bob"})
	f.carol = e.createUser(t, map[string]any{"username": "carol", "primaryEmail": "carol@example.org", "name": "Carol"})
	f.zeta, f.alpha, f.middle = e.orgRole(t, "zeta", ""), e.orgRole(t, "alpha", "User"), e.orgRole(t, "middle", "")
	f.bot = e.orgRole(t, "bot", "MachineToMachine")
	return f
}

func TestOrganizationUsers_AddList(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	base := "/api/organizations/" + f.org.ID + "/users"

	// POST echoes the ids it was sent.
	r := e.do(t, "POST", base, map[string]any{"userIds": []string{f.bob.ID, f.alice.ID}}, http.StatusCreated, nil)
	if want := fmt.Sprintf(`{"userIds":[%q,%q]}`, f.bob.ID, f.alice.ID); string(r.Body) != want {
		t.Errorf("POST answered %s, want %s", r.Body, want)
	}
	// Members already there are ignored; repeats are echoed as sent.
	r = e.do(t, "POST", base, map[string]any{"userIds": []string{f.alice.ID, f.alice.ID}}, http.StatusCreated, nil)
	if want := fmt.Sprintf(`{"userIds":[%q,%q]}`, f.alice.ID, f.alice.ID); string(r.Body) != want {
		t.Errorf("POST answered %s, want %s", r.Body, want)
	}
	e.expectErrors(t, "POST", []errorCase{
		{"UnknownUser", base, map[string]any{"userIds": []string{f.carol.ID, "nosuchuser"}}, 422, "entity.relation_foreign_key_not_found"},
		{"UnknownOrg", "/api/organizations/nosuchorg/users", map[string]any{"userIds": []string{f.carol.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"Empty", base, map[string]any{"userIds": []string{}}, 400, "guard.invalid_input"},
		{"Missing", base, map[string]any{}, 400, "guard.invalid_input"},
		{"EmptyID", base, map[string]any{"userIds": []string{""}}, 400, "guard.invalid_input"},
		{"NotArray", base, map[string]any{"userIds": f.carol.ID}, 400, "guard.invalid_input"},
	})

	// The list: always paged, in user id order, without hasPassword.
	_, ids, r := e.orgMembers(t, base)
	orgWantPaging(t, "members", r, "2")
	if want := orgSorted(f.alice.ID, f.bob.ID); ids != want {
		t.Errorf("members %s, want %s (carol was not added by the refused request)", ids, want)
	}
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgUserFields {
			t.Errorf("member fields %s, want %s", fn, orgUserFields)
		}
	}
	if strings.Contains(string(r.Body), "hasPassword") || strings.Contains(string(r.Body), "password") {
		t.Errorf("member list shows password data: %s", r.Body)
	}
	var full []map[string]any
	r.JSON(t, &full)
	for _, m := range full {
		if m["id"] == f.alice.ID && (m["primaryEmail"] != "alice@example.com" || m["name"] != "Alice Liddell" ||
			m["createdAt"] != float64(f.alice.CreatedAt) || fmt.Sprint(m["organizationRoles"]) != "[]") {
			t.Errorf("alice listed as %v", m)
		}
	}
	e.fail(t, "GET", base+"?page=0", nil, 400, "guard.invalid_pagination")
	// idbolt answers 404 for an unknown organization (Logto: 200 []).
	e.fail(t, "GET", "/api/organizations/nosuchorg/users", nil, 404, "entity.not_found")

	// q: id, username, primaryEmail, primaryPhone or name, case-insensitively.
	e.orgAddUsers(t, f.org.ID, f.carol.ID)
	for q, want := range map[string]string{
		"ALICE":          f.alice.ID,
		"example.COM":    f.alice.ID,
		"2530000":        f.bob.ID,
		"liddell":        f.alice.ID,
		"caro":           f.carol.ID,
		f.bob.ID[2:9]:    f.bob.ID,
		"nobody-matches": "",
		"EXAMPLE":        orgSorted(f.alice.ID, f.carol.ID),
	} {
		_, ids, r := e.orgMembers(t, base+"?q="+q)
		if ids != want {
			t.Errorf("q=%s: %s, want %s", q, ids, want)
		}
		if n := len(strings.Split(want, ",")); want != "" && r.Header.Get("Total-Number") != fmt.Sprint(n) {
			t.Errorf("q=%s: Total-Number %s", q, r.Header.Get("Total-Number"))
		}
	}
}

func TestOrganizationUsers_RoleFilterAndOrder(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	base := "/api/organizations/" + f.org.ID + "/users"
	e.orgAddUsers(t, f.org.ID, f.alice.ID, f.bob.ID, f.carol.ID)
	e.do(t, "POST", base+"/roles", map[string]any{"userIds": []string{f.alice.ID, f.bob.ID},
		"organizationRoleIds": []string{f.zeta.ID, f.alpha.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", base+"/"+f.alice.ID+"/roles", map[string]any{"organizationRoleIds": []string{f.middle.ID}}, http.StatusCreated, nil)

	// organizationRoles are sorted by name.
	members, _, r := e.orgMembers(t, base)
	if got, want := orgRefIDs(members[f.alice.ID].OrganizationRoles), join(f.alpha.ID, f.middle.ID, f.zeta.ID); got != want {
		t.Errorf("alice's roles %s, want %s: %s", got, want, r.Body)
	}
	if got := members[f.alice.ID].OrganizationRoles[0]; got != (orgRef{f.alpha.ID, "alpha"}) {
		t.Errorf("role ref %+v", got)
	}
	if got := orgRefIDs(members[f.carol.ID].OrganizationRoles); got != "" {
		t.Errorf("carol's roles %s", got)
	}
	var raw []map[string]json.RawMessage
	r.JSON(t, &raw)
	for _, m := range raw {
		var roles []json.RawMessage
		json.Unmarshal(m["organizationRoles"], &roles)
		for _, role := range roles {
			if fn := fieldNames(t, role); fn != "id,name" {
				t.Errorf("role ref fields %s", fn)
			}
		}
	}

	// organizationRoleId keeps the holders; the count follows; q is AND-ed.
	_, ids, r := e.orgMembers(t, base+"?organizationRoleId="+f.zeta.ID)
	orgWantPaging(t, "role filter", r, "2")
	if want := orgSorted(f.alice.ID, f.bob.ID); ids != want {
		t.Errorf("zeta holders %s, want %s", ids, want)
	}
	_, ids, r = e.orgMembers(t, base+"?organizationRoleId="+f.middle.ID)
	orgWantPaging(t, "middle", r, "1")
	if ids != f.alice.ID {
		t.Errorf("middle holders %s", ids)
	}
	_, ids, r = e.orgMembers(t, base+"?organizationRoleId="+f.zeta.ID+"&q=bob")
	orgWantPaging(t, "role filter and q", r, "1")
	if ids != f.bob.ID {
		t.Errorf("zeta holders called bob: %s", ids)
	}
	_, ids, r = e.orgMembers(t, base+"?organizationRoleId="+f.zeta.ID+"&page=2&page_size=1")
	orgWantPaging(t, "role filter page 2", r, "2")
	if want := strings.Split(orgSorted(f.alice.ID, f.bob.ID), ",")[1]; ids != want {
		t.Errorf("page 2 of zeta holders %s, want %s", ids, want)
	}
	for _, role := range []string{"nosuchrole", f.bot.ID} {
		_, ids, r = e.orgMembers(t, base+"?organizationRoleId="+role)
		orgWantPaging(t, "role "+role, r, "0")
		if ids != "" {
			t.Errorf("holders of %s: %s", role, ids)
		}
	}
}

func TestOrganizationUsers_ReplaceRemove(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	base := "/api/organizations/" + f.org.ID + "/users"
	e.orgAddUsers(t, f.org.ID, f.alice.ID, f.bob.ID)
	e.do(t, "POST", base+"/roles", map[string]any{"userIds": []string{f.alice.ID, f.bob.ID},
		"organizationRoleIds": []string{f.zeta.ID}}, http.StatusCreated, nil)

	// PUT replaces; the members who leave lose their roles there.
	r := e.do(t, "PUT", base, map[string]any{"userIds": []string{f.bob.ID, f.carol.ID, f.carol.ID}}, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("PUT answered %q", r.Body)
	}
	_, ids, _ := e.orgMembers(t, base)
	if want := orgSorted(f.bob.ID, f.carol.ID); ids != want {
		t.Errorf("after PUT %s, want %s", ids, want)
	}
	e.wantIDs(t, base+"/"+f.bob.ID+"/roles", f.zeta.ID) // kept, with its roles
	e.fail(t, "GET", base+"/"+f.alice.ID+"/roles", nil, 422, "organization.require_membership")
	e.orgAddUsers(t, f.org.ID, f.alice.ID)
	e.wantIDs(t, base+"/"+f.alice.ID+"/roles") // back without the old roles
	e.wantIDs(t, "/api/users/"+f.alice.ID+"/organizations", f.org.ID)

	e.expectErrors(t, "PUT", []errorCase{
		{"UnknownUser", base, map[string]any{"userIds": []string{f.alice.ID, "nosuchuser"}}, 422, "entity.relation_foreign_key_not_found"},
		{"UnknownOrg", "/api/organizations/nosuchorg/users", map[string]any{"userIds": []string{}}, 422, "entity.relation_foreign_key_not_found"},
		{"Missing", base, map[string]any{}, 400, "guard.invalid_input"},
	})
	_, ids, _ = e.orgMembers(t, base)
	if want := orgSorted(f.alice.ID, f.bob.ID, f.carol.ID); ids != want {
		t.Errorf("after refused PUTs %s, want %s", ids, want)
	}

	// DELETE ends one membership, with its roles.
	r = e.do(t, "DELETE", base+"/"+f.bob.ID, nil, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("DELETE answered %q", r.Body)
	}
	e.fail(t, "DELETE", base+"/"+f.bob.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchuser", nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/organizations/nosuchorg/users/"+f.alice.ID, nil, 404, "entity.not_found")
	e.orgAddUsers(t, f.org.ID, f.bob.ID)
	e.wantIDs(t, base+"/"+f.bob.ID+"/roles")

	// PUT [] removes everyone.
	e.do(t, "PUT", base, map[string]any{"userIds": []string{}}, http.StatusNoContent, nil)
	_, ids, r = e.orgMembers(t, base)
	orgWantPaging(t, "emptied", r, "0")
	if ids != "" {
		t.Errorf("after PUT []: %s", ids)
	}
	e.wantIDs(t, "/api/users/"+f.alice.ID+"/organizations")
}

func TestOrganizationUsers_BulkRoles(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	base := "/api/organizations/" + f.org.ID + "/users"
	e.orgAddUsers(t, f.org.ID, f.alice.ID, f.bob.ID)

	r := e.do(t, "POST", base+"/roles", map[string]any{"userIds": []string{f.alice.ID, f.bob.ID},
		"organizationRoleIds": []string{f.zeta.ID, f.alpha.ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("POST .../users/roles answered %q, want an empty body", r.Body)
	}
	// Held roles are ignored.
	e.do(t, "POST", base+"/roles", map[string]any{"userIds": []string{f.alice.ID},
		"organizationRoleIds": []string{f.zeta.ID, f.middle.ID}}, http.StatusCreated, nil)

	e.expectErrors(t, "POST", []errorCase{
		// idbolt: require_membership (Logto: entity.relation_foreign_key_not_found).
		{"NonMember", base + "/roles", map[string]any{"userIds": []string{f.bob.ID, f.carol.ID}, "organizationRoleIds": []string{f.middle.ID}},
			422, "organization.require_membership"},
		{"UnknownUser", base + "/roles", map[string]any{"userIds": []string{"nosuchuser"}, "organizationRoleIds": []string{f.middle.ID}},
			422, "organization.require_membership"},
		{"UnknownOrg", "/api/organizations/nosuchorg/users/roles", map[string]any{"userIds": []string{f.bob.ID},
			"organizationRoleIds": []string{f.middle.ID}}, 422, "organization.require_membership"},
		{"MachineRole", base + "/roles", map[string]any{"userIds": []string{f.bob.ID}, "organizationRoleIds": []string{f.middle.ID, f.bot.ID}},
			422, "entity.db_constraint_violated"},
		{"UnknownRole", base + "/roles", map[string]any{"userIds": []string{f.bob.ID}, "organizationRoleIds": []string{f.middle.ID, "nosuchrole"}},
			422, "entity.relation_foreign_key_not_found"},
		{"NoUsers", base + "/roles", map[string]any{"userIds": []string{}, "organizationRoleIds": []string{f.middle.ID}}, 400, "guard.invalid_input"},
		{"NoRoles", base + "/roles", map[string]any{"userIds": []string{f.bob.ID}, "organizationRoleIds": []string{}}, 400, "guard.invalid_input"},
		{"MissingRoles", base + "/roles", map[string]any{"userIds": []string{f.bob.ID}}, 400, "guard.invalid_input"},
		{"MissingUsers", base + "/roles", map[string]any{"organizationRoleIds": []string{f.middle.ID}}, 400, "guard.invalid_input"},
	})
	// The refused requests assigned nothing.
	e.wantIDs(t, base+"/"+f.bob.ID+"/roles", f.alpha.ID, f.zeta.ID)
	e.wantIDs(t, base+"/"+f.alice.ID+"/roles", f.alpha.ID, f.middle.ID, f.zeta.ID)
	// Only "roles" is a bulk route beside the member ids.
	r = call(t, "POST", e.URL+base+"/"+f.alice.ID, e.token, map[string]any{"userIds": []string{f.alice.ID}, "organizationRoleIds": []string{f.zeta.ID}})
	if r.Status != 404 {
		t.Errorf("POST .../users/{userId}: %d %s", r.Status, r.Body)
	}
}

func TestOrganizationUsers_MemberRoles(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	e.orgAddUsers(t, f.org.ID, f.alice.ID, f.bob.ID)
	base := "/api/organizations/" + f.org.ID + "/users/" + f.alice.ID + "/roles"

	r := e.do(t, "GET", base, nil, http.StatusOK, nil)
	if string(r.Body) != "[]" {
		t.Errorf("no roles yet: %s", r.Body)
	}
	// POST by id answers the ids.
	r = e.do(t, "POST", base, map[string]any{"organizationRoleIds": []string{f.zeta.ID}}, http.StatusCreated, nil)
	if want := fmt.Sprintf(`{"organizationRoleIds":[%q]}`, f.zeta.ID); string(r.Body) != want {
		t.Errorf("POST by id: %s, want %s", r.Body, want)
	}
	// By name; ids first, then the named ones, without repeats.
	r = e.do(t, "POST", base, map[string]any{"organizationRoleIds": []string{f.middle.ID, f.zeta.ID},
		"organizationRoleNames": []string{"alpha", "zeta"}}, http.StatusCreated, nil)
	if want := fmt.Sprintf(`{"organizationRoleIds":[%q,%q,%q]}`, f.middle.ID, f.zeta.ID, f.alpha.ID); string(r.Body) != want {
		t.Errorf("POST by id and name: %s, want %s", r.Body, want)
	}
	r = e.do(t, "POST", base, map[string]any{"organizationRoleNames": []string{"alpha"}}, http.StatusCreated, nil)
	if want := fmt.Sprintf(`{"organizationRoleIds":[%q]}`, f.alpha.ID); string(r.Body) != want {
		t.Errorf("POST by name: %s, want %s", r.Body, want)
	}

	// GET: optional paging, plain roles.
	r = e.do(t, "GET", base, nil, http.StatusOK, nil)
	orgWantPaging(t, "member roles", r, "")
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgRoleFields {
			t.Errorf("role fields %s", fn)
		}
	}
	e.wantIDSet(t, base, f.alpha.ID, f.middle.ID, f.zeta.ID)
	var page []orgRoleWire
	r = e.do(t, "GET", base+"?page=1&page_size=2", nil, http.StatusOK, &page)
	orgWantPaging(t, "paged member roles", r, "3")
	if len(page) != 2 {
		t.Errorf("page: %s", r.Body)
	}

	e.expectErrors(t, "POST", []errorCase{
		{"UnknownName", base, map[string]any{"organizationRoleNames": []string{"alpha", "nope", "nada"}}, 422, "organization.role_names_not_found"},
		{"NameCase", base, map[string]any{"organizationRoleNames": []string{"Alpha"}}, 422, "organization.role_names_not_found"},
		{"UnknownID", base, map[string]any{"organizationRoleIds": []string{"nosuchrole"}}, 422, "entity.relation_foreign_key_not_found"},
		{"MachineRole", base, map[string]any{"organizationRoleIds": []string{f.bot.ID}}, 422, "entity.db_constraint_violated"},
		{"MachineRoleByName", base, map[string]any{"organizationRoleNames": []string{"bot"}}, 422, "entity.db_constraint_violated"},
		{"IDsNotArray", base, map[string]any{"organizationRoleIds": f.zeta.ID}, 400, "guard.invalid_input"},
	})
	r = call(t, "POST", e.URL+base, e.token, map[string]any{"organizationRoleNames": []string{"nope", "nada"}})
	if !strings.Contains(string(r.Body), "nope") || !strings.Contains(string(r.Body), "nada") {
		t.Errorf("role_names_not_found does not name the roles: %s", r.Body)
	}

	// PUT replaces, by id or name; [] removes all.
	r = e.do(t, "PUT", base, map[string]any{"organizationRoleIds": []string{f.zeta.ID}}, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("PUT answered %q", r.Body)
	}
	e.wantIDs(t, base, f.zeta.ID)
	e.do(t, "PUT", base, map[string]any{"organizationRoleNames": []string{"middle", "alpha"}}, http.StatusNoContent, nil)
	e.wantIDSet(t, base, f.middle.ID, f.alpha.ID)
	e.fail(t, "PUT", base, map[string]any{"organizationRoleNames": []string{"zeta", "nope"}}, 422, "organization.role_names_not_found")
	e.fail(t, "PUT", base, map[string]any{"organizationRoleIds": []string{f.zeta.ID, f.bot.ID}}, 422, "entity.db_constraint_violated")
	e.fail(t, "PUT", base, map[string]any{"organizationRoleIds": []string{f.zeta.ID, "nosuchrole"}}, 422, "entity.relation_foreign_key_not_found")
	e.wantIDSet(t, base, f.middle.ID, f.alpha.ID)
	e.do(t, "PUT", base, map[string]any{"organizationRoleIds": []string{}}, http.StatusNoContent, nil)
	e.wantIDs(t, base)
	e.do(t, "PUT", base, map[string]any{"organizationRoleIds": []string{f.zeta.ID, f.alpha.ID}}, http.StatusNoContent, nil)

	// DELETE one role.
	r = e.do(t, "DELETE", base+"/"+f.zeta.ID, nil, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("DELETE answered %q", r.Body)
	}
	e.fail(t, "DELETE", base+"/"+f.zeta.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/"+f.middle.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchrole", nil, 404, "entity.not_found")
	e.wantIDs(t, base, f.alpha.ID)
	// Bob's roles were never touched.
	e.wantIDs(t, "/api/organizations/"+f.org.ID+"/users/"+f.bob.ID+"/roles")

	// Every route of a non-member's roles answers require_membership.
	for _, who := range []struct{ name, org, user string }{
		{"NonMember", f.org.ID, f.carol.ID},
		{"UnknownUser", f.org.ID, "nosuchuser"},
		{"UnknownOrg", "nosuchorg", f.alice.ID},
	} {
		p := "/api/organizations/" + who.org + "/users/" + who.user + "/roles"
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", p, nil},
			{"GET", p + "?page=1&page_size=5", nil},
			{"POST", p, map[string]any{"organizationRoleIds": []string{f.alpha.ID}}},
			{"POST", p, map[string]any{"organizationRoleNames": []string{"alpha"}}},
			{"POST", p, map[string]any{"organizationRoleNames": []string{"nope"}}},
			{"POST", p, map[string]any{"organizationRoleIds": []string{"nosuchrole"}}},
			{"PUT", p, map[string]any{"organizationRoleIds": []string{f.alpha.ID}}},
			{"PUT", p, map[string]any{"organizationRoleIds": []string{}}},
			{"DELETE", p + "/" + f.alpha.ID, nil},
			{"DELETE", p + "/nosuchrole", nil},
		} {
			t.Run(who.name+"/"+tc.method, func(t *testing.T) {
				e.fail(t, tc.method, tc.path, tc.body, 422, "organization.require_membership")
			})
		}
	}
	e.wantIDs(t, "/api/users/"+f.carol.ID+"/organizations")
}

func TestOrganizationUsers_Scopes(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	other := e.orgCreate(t, "Other")
	e.orgAddUsers(t, f.org.ID, f.alice.ID, f.bob.ID)
	e.orgAddUsers(t, other.ID, f.alice.ID)
	var scopes []orgScopeWire
	for _, n := range []string{"write", "read", "invite", "billing"} {
		scopes = append(scopes, e.orgCreateScope(t, n))
	}
	res := e.createResource(t, "Docs", "https://docs.example.com")
	rs := e.createScopes(t, res.ID, "docs:read")[0]
	e.do(t, "PUT", "/api/organization-roles/"+f.alpha.ID+"/scopes", map[string]any{"organizationScopeIds": []string{scopes[0].ID, scopes[1].ID}},
		http.StatusNoContent, nil)
	e.do(t, "PUT", "/api/organization-roles/"+f.zeta.ID+"/scopes", map[string]any{"organizationScopeIds": []string{scopes[1].ID, scopes[2].ID}},
		http.StatusNoContent, nil)
	e.do(t, "PUT", "/api/organization-roles/"+f.zeta.ID+"/resource-scopes", map[string]any{"scopeIds": []string{rs.ID}}, http.StatusNoContent, nil)
	e.do(t, "PUT", "/api/organization-roles/"+f.middle.ID+"/scopes", map[string]any{"organizationScopeIds": []string{scopes[3].ID}},
		http.StatusNoContent, nil)
	e.do(t, "POST", "/api/organizations/"+f.org.ID+"/users/"+f.alice.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{f.alpha.ID, f.zeta.ID}}, http.StatusCreated, nil)
	// The same user's roles in another organization do not count here.
	e.do(t, "POST", "/api/organizations/"+other.ID+"/users/"+f.alice.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{f.middle.ID}}, http.StatusCreated, nil)

	// The distinct organization scopes of the user's roles there, by id
	// (Logto's DISTINCT ON id); resource scopes are not included.
	path := "/api/organizations/" + f.org.ID + "/users/" + f.alice.ID + "/scopes"
	r := e.do(t, "GET", path, nil, http.StatusOK, nil)
	orgWantPaging(t, "user scopes", r, "")
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgScopeFields {
			t.Errorf("scope fields %s", fn)
		}
	}
	if got, want := e.ids(t, path), orgSorted(scopes[0].ID, scopes[1].ID, scopes[2].ID); got != want {
		t.Errorf("alice's scopes %s, want %s in id order", got, want)
	}
	e.wantIDs(t, "/api/organizations/"+other.ID+"/users/"+f.alice.ID+"/scopes", scopes[3].ID)
	// A member without roles, a non-member, an unknown user or organization: [].
	for _, p := range []string{
		"/api/organizations/" + f.org.ID + "/users/" + f.bob.ID + "/scopes",
		"/api/organizations/" + f.org.ID + "/users/" + f.carol.ID + "/scopes",
		"/api/organizations/" + f.org.ID + "/users/nosuchuser/scopes",
		"/api/organizations/nosuchorg/users/" + f.alice.ID + "/scopes",
	} {
		if r := e.do(t, "GET", p, nil, http.StatusOK, nil); string(r.Body) != "[]" {
			t.Errorf("GET %s: %s, want []", p, r.Body)
		}
	}
}

func TestOrganizationUsers_UserOrganizations(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	second := e.orgCreate(t, "Second")
	e.orgCreate(t, "Third") // alice is no member: not listed
	e.orgAddUsers(t, f.org.ID, f.alice.ID)
	e.orgAddUsers(t, second.ID, f.alice.ID, f.bob.ID)
	e.do(t, "POST", "/api/organizations/"+f.org.ID+"/users/"+f.alice.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{f.zeta.ID, f.alpha.ID, f.middle.ID}}, http.StatusCreated, nil)

	path := "/api/users/" + f.alice.ID + "/organizations"
	var orgs []orgWire
	r := e.do(t, "GET", path, nil, http.StatusOK, &orgs)
	orgWantPaging(t, "user organizations", r, "")
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgWithRolesFields {
			t.Errorf("fields %s, want %s", fn, orgWithRolesFields)
		}
	}
	if got := join(func() []string {
		var ids []string
		for _, o := range orgs {
			ids = append(ids, o.ID)
		}
		return ids
	}()...); got != orgSorted(f.org.ID, second.ID) {
		t.Errorf("alice's organizations %s", got)
	}
	for _, o := range orgs {
		switch o.ID {
		case f.org.ID:
			if got := orgRefIDs(o.OrganizationRoles); got != join(f.alpha.ID, f.middle.ID, f.zeta.ID) {
				t.Errorf("roles in org: %s", got)
			}
			if o.Name != "Org" || o.TenantID != "default" || o.CustomData == nil || o.CreatedAt != f.org.CreatedAt {
				t.Errorf("org %+v", o)
			}
		case second.ID:
			if len(o.OrganizationRoles) != 0 || !strings.Contains(string(r.Body), `"organizationRoles":[]`) {
				t.Errorf("roles in second: %s", r.Body)
			}
		}
	}
	e.wantIDs(t, "/api/users/"+f.bob.ID+"/organizations", second.ID)
	if r := e.do(t, "GET", "/api/users/"+f.carol.ID+"/organizations", nil, http.StatusOK, nil); string(r.Body) != "[]" {
		t.Errorf("carol: %s", r.Body)
	}
	e.fail(t, "GET", "/api/users/nosuchuser/organizations", nil, 404, "entity.not_found")
}

func TestOrganizationApplications(t *testing.T) {
	e := newEnv(t)
	org := e.orgCreate(t, "Org")
	one, two, three := e.createM2M(t, "worker-one"), e.createM2M(t, "worker-two"), e.createM2M(t, "worker-three")
	spa := e.createApp(t, map[string]any{"name": "web", "type": "SPA", "oidcClientMetadata": map[string]any{
		"redirectUris": []string{"https://web.example.com/cb"}, "postLogoutRedirectUris": []string{}}})
	trad := e.newApp(t, "trad", "Traditional")
	native := e.newApp(t, "native", "Native")
	base := "/api/organizations/" + org.ID + "/applications"

	r := e.do(t, "POST", base, map[string]any{"applicationIds": []string{two.ID, one.ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("POST answered %q, want an empty body", r.Body)
	}
	e.orgAddApps(t, org.ID, one.ID) // already a member: ignored
	e.expectErrors(t, "POST", []errorCase{
		{"SPA", base, map[string]any{"applicationIds": []string{three.ID, spa.ID}}, 422, "entity.db_constraint_violated"},
		{"Traditional", base, map[string]any{"applicationIds": []string{trad.ID}}, 422, "entity.db_constraint_violated"},
		{"Native", base, map[string]any{"applicationIds": []string{native.ID}}, 422, "entity.db_constraint_violated"},
		{"UnknownApp", base, map[string]any{"applicationIds": []string{three.ID, "nosuchapp"}}, 422, "entity.relation_foreign_key_not_found"},
		{"UnknownOrg", "/api/organizations/nosuchorg/applications", map[string]any{"applicationIds": []string{three.ID}},
			422, "entity.relation_foreign_key_not_found"},
		{"Empty", base, map[string]any{"applicationIds": []string{}}, 400, "guard.invalid_input"},
		{"Missing", base, map[string]any{"userIds": []string{three.ID}}, 400, "guard.invalid_input"},
	})

	// The list: paged, by id, each application with its roles, no secret.
	_, ids, r := e.orgMembers(t, base)
	orgWantPaging(t, "applications", r, "2")
	if want := orgSorted(one.ID, two.ID); ids != want {
		t.Errorf("applications %s, want %s (three was not added by the refused requests)", ids, want)
	}
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgAppFields {
			t.Errorf("application fields %s, want %s", fn, orgAppFields)
		}
	}
	if strings.Contains(string(r.Body), one.Secret) {
		t.Errorf("application list shows a secret: %s", r.Body)
	}
	e.fail(t, "GET", "/api/organizations/nosuchorg/applications", nil, 404, "entity.not_found")
	_, ids, _ = e.orgMembers(t, base+"?q=R-ONE")
	if ids != one.ID {
		t.Errorf("q=R-ONE: %s", ids)
	}
	_, ids, r = e.orgMembers(t, base+"?q=worker-")
	orgWantPaging(t, "q=worker-", r, "2")
	if ids != orgSorted(one.ID, two.ID) {
		t.Errorf("q=worker-: %s", ids)
	}
	_, ids, r = e.orgMembers(t, base+"?page=2&page_size=1")
	orgWantPaging(t, "applications page 2", r, "2")
	if ids != strings.Split(orgSorted(one.ID, two.ID), ",")[1] {
		t.Errorf("page 2: %s", ids)
	}

	// PUT replaces; [] empties.
	e.do(t, "PUT", base, map[string]any{"applicationIds": []string{three.ID, two.ID}}, http.StatusNoContent, nil)
	_, ids, _ = e.orgMembers(t, base)
	if want := orgSorted(two.ID, three.ID); ids != want {
		t.Errorf("after PUT %s, want %s", ids, want)
	}
	e.fail(t, "PUT", base, map[string]any{"applicationIds": []string{one.ID, spa.ID}}, 422, "entity.db_constraint_violated")
	e.fail(t, "PUT", base, map[string]any{"applicationIds": []string{one.ID, "nosuchapp"}}, 422, "entity.relation_foreign_key_not_found")
	_, ids, _ = e.orgMembers(t, base)
	if want := orgSorted(two.ID, three.ID); ids != want {
		t.Errorf("after refused PUTs %s, want %s", ids, want)
	}
	e.do(t, "PUT", base, map[string]any{"applicationIds": []string{}}, http.StatusNoContent, nil)
	e.wantIDs(t, base)
	e.do(t, "PUT", base, map[string]any{"applicationIds": []string{one.ID, two.ID, three.ID}}, http.StatusNoContent, nil)

	e.do(t, "DELETE", base+"/"+three.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+three.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/"+spa.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/organizations/nosuchorg/applications/"+one.ID, nil, 404, "entity.not_found")
	e.wantIDs(t, "/api/applications/"+three.ID+"/organizations")
}

func TestOrganizationApplications_Roles(t *testing.T) {
	e := newEnv(t)
	org, other := e.orgCreate(t, "Org"), e.orgCreate(t, "Other")
	one, two, outsider := e.createM2M(t, "one"), e.createM2M(t, "two"), e.createM2M(t, "outsider")
	reader, writer := e.orgRole(t, "reader", "MachineToMachine"), e.orgRole(t, "writer", "MachineToMachine")
	admin := e.orgRole(t, "admin", "MachineToMachine")
	human := e.orgRole(t, "human", "User")
	e.orgAddApps(t, org.ID, one.ID, two.ID)
	e.orgAddApps(t, other.ID, one.ID)
	base := "/api/organizations/" + org.ID + "/applications"
	oneRoles := base + "/" + one.ID + "/roles"

	// Bulk assignment.
	r := e.do(t, "POST", base+"/roles", map[string]any{"applicationIds": []string{one.ID, two.ID},
		"organizationRoleIds": []string{writer.ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("bulk POST answered %q", r.Body)
	}
	e.expectErrors(t, "POST", []errorCase{
		{"BulkUserRole", base + "/roles", map[string]any{"applicationIds": []string{one.ID}, "organizationRoleIds": []string{human.ID}},
			422, "entity.db_constraint_violated"},
		// idbolt: require_membership (Logto: entity.relation_foreign_key_not_found).
		{"BulkNonMember", base + "/roles", map[string]any{"applicationIds": []string{outsider.ID}, "organizationRoleIds": []string{reader.ID}},
			422, "organization.require_membership"},
		{"BulkUnknownRole", base + "/roles", map[string]any{"applicationIds": []string{one.ID}, "organizationRoleIds": []string{"nosuchrole"}},
			422, "entity.relation_foreign_key_not_found"},
		{"BulkNoApps", base + "/roles", map[string]any{"applicationIds": []string{}, "organizationRoleIds": []string{reader.ID}}, 400, "guard.invalid_input"},
		{"BulkNoRoles", base + "/roles", map[string]any{"applicationIds": []string{one.ID}}, 400, "guard.invalid_input"},
	})
	e.wantIDs(t, base+"/"+two.ID+"/roles", writer.ID)

	// One application's roles.
	r = e.do(t, "POST", oneRoles, map[string]any{"organizationRoleIds": []string{reader.ID, writer.ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("POST answered %q, want an empty body", r.Body)
	}
	r = e.do(t, "GET", oneRoles, nil, http.StatusOK, nil)
	orgWantPaging(t, "app roles", r, "")
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgRoleFields {
			t.Errorf("role fields %s", fn)
		}
	}
	e.wantIDSet(t, oneRoles, reader.ID, writer.ID)
	var page []orgRoleWire
	r = e.do(t, "GET", oneRoles+"?page_size=1", nil, http.StatusOK, &page)
	orgWantPaging(t, "paged app roles", r, "2")
	if len(page) != 1 {
		t.Errorf("page: %s", r.Body)
	}

	e.expectErrors(t, "POST", []errorCase{
		{"UserRole", oneRoles, map[string]any{"organizationRoleIds": []string{human.ID}}, 422, "entity.db_constraint_violated"},
		{"UnknownRole", oneRoles, map[string]any{"organizationRoleIds": []string{admin.ID, "nosuchrole"}}, 422, "entity.relation_foreign_key_not_found"},
		{"Empty", oneRoles, map[string]any{"organizationRoleIds": []string{}}, 400, "guard.invalid_input"},
	})
	e.expectErrors(t, "PUT", []errorCase{
		// Unlike a user's roles, an application's PUT needs at least one role.
		{"Empty", oneRoles, map[string]any{"organizationRoleIds": []string{}}, 400, "guard.invalid_input"},
		{"UserRole", oneRoles, map[string]any{"organizationRoleIds": []string{admin.ID, human.ID}}, 422, "entity.db_constraint_violated"},
		{"UnknownRole", oneRoles, map[string]any{"organizationRoleIds": []string{"nosuchrole"}}, 422, "entity.relation_foreign_key_not_found"},
	})
	e.wantIDSet(t, oneRoles, reader.ID, writer.ID)
	r = e.do(t, "PUT", oneRoles, map[string]any{"organizationRoleIds": []string{admin.ID}}, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("PUT answered %q", r.Body)
	}
	e.wantIDs(t, oneRoles, admin.ID)
	e.do(t, "POST", oneRoles, map[string]any{"organizationRoleIds": []string{reader.ID}}, http.StatusCreated, nil)

	e.do(t, "DELETE", oneRoles+"/"+admin.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", oneRoles+"/"+admin.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", oneRoles+"/nosuchrole", nil, 404, "entity.not_found")
	e.wantIDs(t, oneRoles, reader.ID)

	// A non-member's roles, an unknown organization: require_membership.
	for _, p := range []string{base + "/" + outsider.ID + "/roles", base + "/nosuchapp/roles", "/api/organizations/nosuchorg/applications/" + one.ID + "/roles"} {
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"GET", p, nil},
			{"POST", p, map[string]any{"organizationRoleIds": []string{reader.ID}}},
			{"PUT", p, map[string]any{"organizationRoleIds": []string{reader.ID}}},
			{"DELETE", p + "/" + reader.ID, nil},
		} {
			t.Run(tc.method+" "+tc.path, func(t *testing.T) {
				e.fail(t, tc.method, tc.path, tc.body, 422, "organization.require_membership")
			})
		}
	}

	// The list shows each application's roles by name.
	members, _, _ := e.orgMembers(t, base)
	if got := orgRefIDs(members[one.ID].OrganizationRoles); got != join(reader.ID) {
		t.Errorf("one's roles %s", got)
	}
	if got := members[two.ID].OrganizationRoles; len(got) != 1 || got[0] != (orgRef{writer.ID, "writer"}) {
		t.Errorf("two's roles %+v", got)
	}
	_, ids, r := e.orgMembers(t, base+"?organizationRoleId="+writer.ID)
	orgWantPaging(t, "app role filter", r, "1")
	if ids != two.ID {
		t.Errorf("writer holders %s", ids)
	}

	// GET /api/applications/{id}/organizations: optional paging, with roles.
	path := "/api/applications/" + one.ID + "/organizations"
	var orgs []orgWire
	r = e.do(t, "GET", path, nil, http.StatusOK, &orgs)
	orgWantPaging(t, "app organizations", r, "")
	for _, item := range orgRawList(t, r) {
		if fn := fieldNames(t, item); fn != orgWithRolesFields {
			t.Errorf("fields %s", fn)
		}
	}
	if len(orgs) != 2 {
		t.Fatalf("one's organizations %s", r.Body)
	}
	for _, o := range orgs {
		want := map[string]string{org.ID: reader.ID, other.ID: ""}[o.ID]
		if got := orgRefIDs(o.OrganizationRoles); got != want {
			t.Errorf("roles in %s: %s, want %s", o.Name, got, want)
		}
	}
	r = e.do(t, "GET", path+"?page=2&page_size=1", nil, http.StatusOK, &orgs)
	orgWantPaging(t, "paged app organizations", r, "2")
	if len(orgs) != 1 || orgs[0].ID != strings.Split(orgSorted(org.ID, other.ID), ",")[1] {
		t.Errorf("page 2: %s", r.Body)
	}
	if r := e.do(t, "GET", "/api/applications/"+outsider.ID+"/organizations", nil, http.StatusOK, nil); string(r.Body) != "[]" {
		t.Errorf("outsider: %s", r.Body)
	}
	e.fail(t, "GET", "/api/applications/nosuchapp/organizations", nil, 404, "entity.not_found")
}

// TestOrganizations_MemberCleanup deletes organizations, users and
// applications and checks that every membership and member role went too.
func TestOrganizations_MemberCleanup(t *testing.T) {
	e := newEnv(t)
	f := newOrgUsersFixture(t, e)
	doomed := e.orgCreate(t, "Doomed")
	app, app2 := e.createM2M(t, "worker"), e.createM2M(t, "worker2")
	bot2 := e.orgRole(t, "bot2", "MachineToMachine")
	for _, o := range []string{f.org.ID, doomed.ID} {
		e.orgAddUsers(t, o, f.alice.ID, f.bob.ID, f.carol.ID)
		e.orgAddApps(t, o, app.ID, app2.ID)
		e.do(t, "POST", "/api/organizations/"+o+"/users/roles", map[string]any{"userIds": []string{f.alice.ID, f.bob.ID, f.carol.ID},
			"organizationRoleIds": []string{f.alpha.ID, f.zeta.ID}}, http.StatusCreated, nil)
		e.do(t, "POST", "/api/organizations/"+o+"/applications/roles", map[string]any{"applicationIds": []string{app.ID, app2.ID},
			"organizationRoleIds": []string{f.bot.ID, bot2.ID}}, http.StatusCreated, nil)
	}
	// An invitation of the doomed organization goes with it.
	e.do(t, "POST", "/api/organization-invitations", map[string]any{"invitee": "new@example.com", "organizationId": doomed.ID,
		"expiresAt": 4102444800000, "organizationRoleIds": []string{f.alpha.ID}}, http.StatusCreated, nil)

	// Deleting an organization ends all its memberships.
	e.do(t, "DELETE", "/api/organizations/"+doomed.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/users/"+f.alice.ID+"/organizations", f.org.ID)
	e.wantIDs(t, "/api/applications/"+app.ID+"/organizations", f.org.ID)
	e.fail(t, "GET", "/api/organizations/"+doomed.ID+"/users", nil, 404, "entity.not_found")
	e.fail(t, "GET", "/api/organizations/"+doomed.ID+"/users/"+f.alice.ID+"/roles", nil, 422, "organization.require_membership")
	e.wantIDs(t, "/api/organizations/"+doomed.ID+"/users/"+f.alice.ID+"/scopes")
	e.wantIDs(t, "/api/organization-invitations?organizationId="+doomed.ID)

	// Deleting a user ends its memberships and roles.
	e.do(t, "DELETE", "/api/users/"+f.bob.ID, nil, http.StatusNoContent, nil)
	_, ids, r := e.orgMembers(t, "/api/organizations/"+f.org.ID+"/users")
	orgWantPaging(t, "members after user deletion", r, "2")
	if want := orgSorted(f.alice.ID, f.carol.ID); ids != want {
		t.Errorf("members %s, want %s", ids, want)
	}
	_, ids, r = e.orgMembers(t, "/api/organizations/"+f.org.ID+"/users?organizationRoleId="+f.zeta.ID)
	orgWantPaging(t, "zeta holders after user deletion", r, "2")
	var list []orgWire
	e.do(t, "GET", "/api/organizations?showFeatured=1", nil, http.StatusOK, &list)
	if len(list) != 1 || *list[0].UsersCount != 2 || len(*list[0].FeaturedUsers) != 2 {
		t.Errorf("featured after user deletion: %+v", list)
	}

	// Deleting an application ends its memberships and roles.
	e.do(t, "DELETE", "/api/applications/"+app.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/organizations/"+f.org.ID+"/applications", app2.ID)
	e.wantIDs(t, "/api/organizations/"+f.org.ID+"/applications?organizationRoleId="+f.bot.ID, app2.ID)

	// Deleting roles takes them from users and applications.
	e.do(t, "DELETE", "/api/organization-roles/"+f.zeta.ID, nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", "/api/organization-roles/"+bot2.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/organizations/"+f.org.ID+"/users/"+f.alice.ID+"/roles", f.alpha.ID)
	e.wantIDs(t, "/api/organizations/"+f.org.ID+"/applications/"+app2.ID+"/roles", f.bot.ID)
	members, _, _ := e.orgMembers(t, "/api/organizations/"+f.org.ID+"/users")
	if got := orgRefIDs(members[f.carol.ID].OrganizationRoles); got != f.alpha.ID {
		t.Errorf("carol's roles after role deletion: %s", got)
	}
	_, ids, r = e.orgMembers(t, "/api/organizations/"+f.org.ID+"/users?organizationRoleId="+f.zeta.ID)
	orgWantPaging(t, "deleted role filter", r, "0")

	// Finally delete everything that is left; the integrity check at
	// cleanup proves that nothing dangles.
	e.do(t, "DELETE", "/api/organizations/"+f.org.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/users/"+f.alice.ID+"/organizations")
	e.wantIDs(t, "/api/applications/"+app2.ID+"/organizations")
	e.do(t, "DELETE", "/api/users/"+f.alice.ID, nil, http.StatusNoContent, nil)
}

// TestOrganizationUsers_DeepPages pages through more than 20 members with
// odd page sizes, through removals and user deletions, against a sorted
// list of ids.
func TestOrganizationUsers_DeepPages(t *testing.T) {
	e := newEnv(t)
	org := e.orgCreate(t, "Big")
	role := e.orgRole(t, "member", "")
	var ids []string
	for i := range 26 {
		ids = append(ids, e.createUser(t, map[string]any{"username": fmt.Sprintf("deep%02d", i)}).ID)
	}
	// Add them in three batches, out of id order.
	e.orgAddUsers(t, org.ID, ids[10:]...)
	e.orgAddUsers(t, org.ID, ids[:5]...)
	e.orgAddUsers(t, org.ID, ids[3:12]...)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users/roles", map[string]any{"userIds": ids[:13], "organizationRoleIds": []string{role.ID}},
		http.StatusCreated, nil)
	base := "/api/organizations/" + org.ID + "/users"

	check := func(what string, want []string) {
		t.Helper()
		want = slices.Clone(want)
		slices.Sort(want)
		for _, size := range []int{7, 20, 100} {
			var got []string
			pages := (len(want) + size - 1) / size
			for page := 1; page <= pages+1; page++ {
				var list []orgMember
				r := e.do(t, "GET", fmt.Sprintf("%s?page=%d&page_size=%d", base, page, size), nil, http.StatusOK, &list)
				if r.Header.Get("Total-Number") != fmt.Sprint(len(want)) {
					t.Errorf("%s: page %d of %d: Total-Number %s, want %d", what, page, size, r.Header.Get("Total-Number"), len(want))
				}
				if page > pages && len(list) != 0 {
					t.Errorf("%s: page %d of %d beyond the end has %d members", what, page, size, len(list))
				}
				for _, m := range list {
					got = append(got, m.ID)
				}
			}
			if join(got...) != join(want...) {
				t.Errorf("%s, page size %d:\n got %s\nwant %s", what, size, join(got...), join(want...))
			}
		}
		// The default page is the first 20.
		_, first, _ := e.orgMembers(t, base)
		if n := min(20, len(want)); first != join(want[:n]...) {
			t.Errorf("%s: default page %s", what, first)
		}
	}
	check("all", ids)

	// The role filter pages too.
	holders := slices.Clone(ids[:13])
	slices.Sort(holders)
	var got []string
	for page := 1; page <= 2; page++ {
		var list []orgMember
		r := e.do(t, "GET", fmt.Sprintf("%s?organizationRoleId=%s&page=%d&page_size=7", base, role.ID, page), nil, http.StatusOK, &list)
		orgWantPaging(t, "holders", r, "13")
		for _, m := range list {
			got = append(got, m.ID)
		}
	}
	if join(got...) != join(holders...) {
		t.Errorf("holders\n got %s\nwant %s", join(got...), join(holders...))
	}

	// Remove some members, delete some users, replace a few: pages follow.
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	e.do(t, "DELETE", base+"/"+sorted[0], nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", base+"/"+sorted[13], nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", "/api/users/"+sorted[25], nil, http.StatusNoContent, nil)
	e.do(t, "DELETE", "/api/users/"+sorted[7], nil, http.StatusNoContent, nil)
	left := slices.DeleteFunc(slices.Clone(sorted), func(id string) bool {
		return id == sorted[0] || id == sorted[13] || id == sorted[25] || id == sorted[7]
	})
	check("after removals", left)

	var featured []orgWire
	e.do(t, "GET", "/api/organizations?showFeatured=1", nil, http.StatusOK, &featured)
	if len(featured) != 1 || *featured[0].UsersCount != len(left) || len(*featured[0].FeaturedUsers) != 3 {
		t.Errorf("featured: %+v", featured)
	}

	keep := left[5:17]
	e.do(t, "PUT", base, map[string]any{"userIds": keep}, http.StatusNoContent, nil)
	check("after PUT", keep)
	e.orgAddUsers(t, org.ID, left[:3]...)
	check("after re-adding", append(slices.Clone(left[:3]), keep...))
}
