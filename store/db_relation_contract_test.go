package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// contractFixture is one tenant in which every relation is in use: a user
// and an application holding roles with scopes of a resource, an
// organization with both as members, an organization role (with an
// organization scope and a resource scope) held by the member and an
// invitation, managers of the user at every level, and an API client with a
// key.
type contractFixture struct {
	res                 *Resource
	scope, orgResScope  *Scope
	role, m2mRole       *Role
	user                *User
	app                 *Application
	org                 *Organization
	orgScope            *OrganizationScope
	orgRole, orgM2MRole *OrganizationRole
	inv                 *Invitation
	client              *APIClient
	key                 *ServiceKey
}

func newContractFixture(t *testing.T, db *DB, tenant string) *contractFixture {
	t.Helper()
	ctx := context.Background()
	f := &contractFixture{}
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.res, err = db.CreateResource(ctx, tenant, ResourceCreate{Name: "api", Indicator: "https://api.example"})
	check(err)
	f.scope, err = db.CreateScope(ctx, tenant, f.res.ID, "read", nil)
	check(err)
	f.orgResScope, err = db.CreateScope(ctx, tenant, f.res.ID, "write", nil)
	check(err)
	f.role, err = db.CreateRole(ctx, tenant, RoleCreate{Name: "reader", Description: "d", ScopeIDs: []string{f.scope.ID}})
	check(err)
	f.m2mRole, err = db.CreateRole(ctx, tenant, RoleCreate{Name: "robot", Description: "d", Type: RoleMachineToMachine, ScopeIDs: []string{f.scope.ID}})
	check(err)
	f.user, err = db.CreateUser(ctx, tenant, UserCreate{Username: ptr("member")})
	check(err)
	f.app, _, err = db.CreateApplication(ctx, tenant, ApplicationCreate{Name: "app", Type: AppMachineToMachine})
	check(err)
	_, err = db.AssignUserRoles(ctx, tenant, f.user.ID, []string{f.role.ID}, false)
	check(err)
	_, err = db.AssignApplicationRoles(ctx, tenant, f.app.ID, []string{f.m2mRole.ID}, false)
	check(err)
	f.org, err = db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: "org"})
	check(err)
	f.orgScope, err = db.CreateOrganizationScope(ctx, tenant, "org:read", nil)
	check(err)
	f.orgRole, err = db.CreateOrganizationRole(ctx, tenant, OrganizationRoleCreate{Name: "org-member",
		OrganizationScopeIDs: []string{f.orgScope.ID}, ResourceScopeIDs: []string{f.orgResScope.ID}})
	check(err)
	check(db.AddOrganizationUsers(ctx, tenant, f.org.ID, []string{f.user.ID}, false))
	check(db.AssignRolesToOrganizationUsers(ctx, tenant, f.org.ID, []string{f.user.ID}, []string{f.orgRole.ID}))
	check(db.AddOrganizationApplications(ctx, tenant, f.org.ID, []string{f.app.ID}, false))
	f.orgM2MRole, err = db.CreateOrganizationRole(ctx, tenant, OrganizationRoleCreate{Name: "org-robot", Type: RoleMachineToMachine})
	check(err)
	check(db.AssignOrganizationApplicationRoles(ctx, tenant, f.org.ID, f.app.ID, []string{f.orgM2MRole.ID}, false))
	f.inv, _, err = db.CreateInvitation(ctx, tenant, InvitationCreate{Invitee: "new@example.com", OrganizationID: f.org.ID, InviterID: &f.user.ID,
		ExpiresAt: testNow.Add(time.Hour).UnixMilli(), RoleIDs: []string{f.orgRole.ID}})
	check(err)
	for _, s := range []struct {
		scope ManagerScope
		role  string
	}{
		{ManagerScope{}, ManagerIAMOwnerViewer},
		{ManagerScope{OrganizationID: f.org.ID}, ManagerOrgOwner},
		{ManagerScope{ResourceID: f.res.ID}, ManagerProjectOwner},
		{ManagerScope{OrganizationID: f.org.ID, ResourceID: f.res.ID}, ManagerProjectGrantOwner},
	} {
		_, _, err = db.SetManager(ctx, tenant, s.scope, f.user.ID, []string{s.role})
		check(err)
	}
	f.client, _, err = db.CreateAPIClient(ctx, tenant, APIClientCreate{ClientID: "robot-client", FirstName: "f", LastName: "l",
		RoleIDs: []string{f.m2mRole.ID}})
	check(err)
	f.key, _, err = db.CreateServiceKey(ctx, tenant, f.client.UserID, ServiceKeyCreate{Algorithm: "ES256"})
	check(err)
	check(db.AddOrganizationUsers(ctx, tenant, f.org.ID, []string{f.client.UserID}, false))
	return f
}

// TestCascades_Contract deletes one end of every relation in turn and
// checks what the other ends list afterwards. CheckIntegrity runs when each
// subtest's file closes.
func TestCascades_Contract(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		delete func(db *DB, f *contractFixture) error
		check  func(t *testing.T, c contractChecker, f *contractFixture)
	}{
		{"role assigned to users and applications",
			func(db *DB, f *contractFixture) error { return db.DeleteRole(ctx, DefaultTenant, f.m2mRole.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.appRoles(f.app.ID)
				c.appRoles(f.client.ClientID)
				c.roleNotFound(f.m2mRole.ID)
				if cl, err := c.db.FindAPIClient(ctx, DefaultTenant, f.client.ClientID); err != nil || len(cl.RoleIDs) != 0 {
					t.Errorf("API client after its role's delete: %+v, %v", cl, err)
				}
				c.userRoles(f.user.ID, f.role.ID) // the other role stays
				c.roleScopes(f.role.ID, f.scope.ID)
			}},
		{"user role",
			func(db *DB, f *contractFixture) error { return db.DeleteRole(ctx, DefaultTenant, f.role.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.userRoles(f.user.ID)
				c.roleNotFound(f.role.ID)
				c.appRoles(f.app.ID, f.m2mRole.ID)
			}},
		{"user who is a member, a manager and holds roles",
			func(db *DB, f *contractFixture) error { return db.DeleteUser(ctx, DefaultTenant, f.user.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.orgUsers(f.org.ID, f.client.UserID)
				c.roleUsers(f.role.ID)
				c.managers(ManagerScope{})
				c.managers(ManagerScope{OrganizationID: f.org.ID})
				c.managers(ManagerScope{ResourceID: f.res.ID})
				c.managers(ManagerScope{OrganizationID: f.org.ID, ResourceID: f.res.ID})
				c.orgUserCount(f.org.ID, 1)
				c.invitationGone(f.inv.ID) // its inviter is gone
			}},
		{"user who accepted an invitation",
			func(db *DB, f *contractFixture) error {
				u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{PrimaryEmail: ptr("New@Example.com")})
				if err != nil {
					return err
				}
				if _, err := db.SetInvitationStatus(ctx, DefaultTenant, f.inv.ID, InvitationAccepted, &u.ID); err != nil {
					return err
				}
				return db.DeleteUser(ctx, DefaultTenant, u.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.invitationGone(f.inv.ID)
				c.orgUsers(f.org.ID, f.user.ID, f.client.UserID)
				c.orgUserCount(f.org.ID, 2)
			}},
		{"API client with a key, roles and a membership",
			func(db *DB, f *contractFixture) error {
				return db.DeleteAPIClient(ctx, DefaultTenant, f.client.ClientID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				if _, err := c.db.FindUserByID(ctx, DefaultTenant, f.client.UserID); ErrorCode(err) != ENOTFOUND {
					t.Errorf("the client's user: %v, want %s", err, ENOTFOUND)
				}
				if _, err := c.db.FindApplicationByID(ctx, DefaultTenant, f.client.ClientID); ErrorCode(err) != ENOTFOUND {
					t.Errorf("the client's application: %v, want %s", err, ENOTFOUND)
				}
				if ks, err := c.db.FindServiceKeys(ctx, DefaultTenant, f.client.UserID); ErrorCode(err) != ENOTFOUND && len(ks) != 0 {
					t.Errorf("the client's keys: %v, %v", ks, err)
				}
				c.roleApps(f.m2mRole.ID, f.app.ID)
				c.orgUsers(f.org.ID, f.user.ID)
			}},
		{"application with a role and a membership",
			func(db *DB, f *contractFixture) error { return db.DeleteApplication(ctx, DefaultTenant, f.app.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.roleApps(f.m2mRole.ID, f.client.ClientID)
				c.orgApps(f.org.ID)
			}},
		{"resource with scopes held by roles and organization roles, and a manager",
			func(db *DB, f *contractFixture) error { return db.DeleteResource(ctx, DefaultTenant, f.res.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.roleScopes(f.role.ID)
				c.roleScopes(f.m2mRole.ID)
				c.orgRoleResourceScopes(f.orgRole.ID)
				c.orgRoleScopes(f.orgRole.ID, f.orgScope.ID)
				c.userManagerScopes(f.user.ID, ManagerScope{}, ManagerScope{OrganizationID: f.org.ID})
				c.orgAppRoles(f.org.ID, f.app.ID, f.orgM2MRole.ID)
			}},
		{"scope held by roles",
			func(db *DB, f *contractFixture) error {
				return db.DeleteScope(ctx, DefaultTenant, f.res.ID, f.scope.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.roleScopes(f.role.ID)
				c.roleScopes(f.m2mRole.ID)
				c.orgRoleResourceScopes(f.orgRole.ID, f.orgResScope.ID)
			}},
		{"scope held by an organization role",
			func(db *DB, f *contractFixture) error {
				return db.DeleteScope(ctx, DefaultTenant, f.res.ID, f.orgResScope.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.orgRoleResourceScopes(f.orgRole.ID)
				c.roleScopes(f.role.ID, f.scope.ID)
			}},
		{"organization with members, an application, an invitation and a manager",
			func(db *DB, f *contractFixture) error { return db.DeleteOrganization(ctx, DefaultTenant, f.org.ID) },
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.userOrgs(f.user.ID)
				c.userOrgs(f.client.UserID)
				c.appOrgs(f.app.ID)
				c.invitationGone(f.inv.ID)
				c.userManagerScopes(f.user.ID, ManagerScope{}, ManagerScope{ResourceID: f.res.ID})
				c.managers(ManagerScope{ResourceID: f.res.ID}, f.user.ID) // the grant is gone
				c.orgRoleScopes(f.orgRole.ID, f.orgScope.ID)
			}},
		{"organization role held by a member and an invitation",
			func(db *DB, f *contractFixture) error {
				return db.DeleteOrganizationRole(ctx, DefaultTenant, f.orgRole.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.orgUserRoles(f.org.ID, f.user.ID)
				c.orgUsers(f.org.ID, f.client.UserID, f.user.ID)
				c.orgAppRoles(f.org.ID, f.app.ID, f.orgM2MRole.ID)
				if inv, err := c.db.FindInvitationByID(ctx, DefaultTenant, f.inv.ID); err != nil || len(inv.Roles) != 0 {
					t.Errorf("invitation after its role's delete: %+v, %v", inv, err)
				}
			}},
		{"organization role held by an application",
			func(db *DB, f *contractFixture) error {
				return db.DeleteOrganizationRole(ctx, DefaultTenant, f.orgM2MRole.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.orgAppRoles(f.org.ID, f.app.ID)
				c.orgApps(f.org.ID, f.app.ID)
				c.orgUserRoles(f.org.ID, f.user.ID, f.orgRole.ID)
			}},
		{"organization scope held by an organization role",
			func(db *DB, f *contractFixture) error {
				return db.DeleteOrganizationScope(ctx, DefaultTenant, f.orgScope.ID)
			},
			func(t *testing.T, c contractChecker, f *contractFixture) {
				c.orgRoleScopes(f.orgRole.ID)
				c.orgRoleResourceScopes(f.orgRole.ID, f.orgResScope.ID)
				if ss, err := c.db.FindOrganizationUserScopes(ctx, DefaultTenant, f.org.ID, f.user.ID); err != nil || len(ss) != 0 {
					t.Errorf("member's organization scopes: %v, %v", ss, err)
				}
			}},
	}
	// Every relation the cases above cut is there to begin with, so that no
	// check passes on an empty list.
	t.Run("fixture", func(t *testing.T) {
		db := mustOpen(t)
		contractChecker{t, db, DefaultTenant}.intact(newContractFixture(t, db, DefaultTenant))
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			f := newContractFixture(t, db, DefaultTenant)
			if err := tc.delete(db, f); err != nil {
				t.Fatalf("delete: %v", err)
			}
			tc.check(t, contractChecker{t, db, DefaultTenant}, f)
		})
	}
}

// TestCascades_Refused deletes ends that other records depend on and must
// stay: the refusal carries an exact code and detail, and every relation of
// the fixture is still there afterwards.
func TestCascades_Refused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		delete       func(db *DB, f *contractFixture) error
		code, detail string
	}{
		{"an API client's user", func(db *DB, f *contractFixture) error {
			return db.DeleteUser(ctx, DefaultTenant, f.client.UserID)
		}, EUNPROCESSABLE, "user.managed_by_api_client"},
		{"an API client's application", func(db *DB, f *contractFixture) error {
			return db.DeleteApplication(ctx, DefaultTenant, f.client.ClientID)
		}, EUNPROCESSABLE, "application.managed_by_api_client"},
		{"an instance administrator's application", func(db *DB, f *contractFixture) error {
			if _, err := db.AddSystemAdmin(ctx, f.app.ID); err != nil {
				return err
			}
			return db.DeleteApplication(ctx, DefaultTenant, f.app.ID)
		}, EUNPROCESSABLE, "application.instance_administrator"},
		{"the last instance administrator", func(db *DB, f *contractFixture) error {
			if _, err := db.AddSystemAdmin(ctx, f.app.ID); err != nil {
				return err
			}
			return db.RemoveSystemAdmin(ctx, f.app.ID)
		}, EUNPROCESSABLE, "system.last_admin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			f := newContractFixture(t, db, DefaultTenant)
			var se *Error
			if err := tc.delete(db, f); !errors.As(err, &se) || se.Code != tc.code || se.Detail != tc.detail {
				t.Fatalf("delete: %v, want %s (%s)", err, tc.code, tc.detail)
			}
			contractChecker{t, db, DefaultTenant}.intact(f)
		})
	}
}

// TestCascades_DeleteTenant deletes a tenant in which every relation is in
// use and recreates it: the new tenant lists what a new tenant lists, the
// ids it held are free again, and tenant default is untouched.
func TestCascades_DeleteTenant(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	kept := newContractFixture(t, db, DefaultTenant)
	newContractFixture(t, db, "other")
	if err := db.DeleteTenant(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FindTenantByID(ctx, "other"); ErrorCode(err) != ENOTFOUND {
		t.Errorf("deleted tenant: %v, want %s", err, ENOTFOUND)
	}
	for _, id := range []string{"other", "fresh"} {
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: id, SigningKey: contractSigningKey}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range contractEntities() {
		if e.global || e.setup != nil {
			continue
		}
		_, got, err := e.list(db, "other", "", contractPageAll)
		_, want, err2 := e.list(db, "fresh", "", contractPageAll)
		if err != nil || err2 != nil || got != want {
			t.Errorf("recreated tenant lists %d %s, a new one %d (%v, %v)", got, e.name, want, err, err2)
		}
	}
	newContractFixture(t, db, "other")
	contractChecker{t, db, DefaultTenant}.intact(kept)
}

// contractChecker asserts what one end of a relation lists, in tenant,
// after the other end was deleted. Each method takes the ids the
// list must hold, in any order.
type contractChecker struct {
	t      *testing.T
	db     *DB
	tenant string
}

func (c contractChecker) same(what string, got []string, n int, err error, want ...string) {
	c.t.Helper()
	if err != nil {
		c.t.Errorf("%s: %v", what, err)
		return
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) || n != len(want) {
		c.t.Errorf("%s: %v (total %d), want %v", what, got, n, want)
	}
}

func (c contractChecker) userRoles(user string, want ...string) {
	c.t.Helper()
	rs, n, err := c.db.FindUserRoles(context.Background(), c.tenant, user, search.Query{}, contractPageAll)
	c.same("roles of user "+user, contractIDs(rs, func(r *Role) string { return r.ID }), n, err, want...)
}

func (c contractChecker) appRoles(app string, want ...string) {
	c.t.Helper()
	rs, n, err := c.db.FindApplicationRoles(context.Background(), c.tenant, app, search.Query{}, contractPageAll)
	c.same("roles of application "+app, contractIDs(rs, func(r *Role) string { return r.ID }), n, err, want...)
}

func (c contractChecker) roleUsers(role string, want ...string) {
	c.t.Helper()
	us, n, err := c.db.FindRoleUsers(context.Background(), c.tenant, role, search.Query{}, contractPageAll)
	c.same("users of role "+role, contractIDs(us, func(u *User) string { return u.ID }), n, err, want...)
	rs, _, err := c.db.FindRoles(context.Background(), c.tenant, RoleFilter{}, contractPageAll)
	i := slices.IndexFunc(rs, func(r *RoleWithCounts) bool { return r.ID == role })
	if err != nil || i < 0 || rs[i].UsersCount != len(want) {
		c.t.Errorf("role %s not listed with %d users: %v", role, len(want), err)
	}
}

func (c contractChecker) roleApps(role string, want ...string) {
	c.t.Helper()
	as, n, err := c.db.FindRoleApplications(context.Background(), c.tenant, role, search.Query{}, contractPageAll)
	c.same("applications of role "+role, contractIDs(as, func(a *Application) string { return a.ID }), n, err, want...)
	rs, _, err := c.db.FindRoles(context.Background(), c.tenant, RoleFilter{}, contractPageAll)
	i := slices.IndexFunc(rs, func(r *RoleWithCounts) bool { return r.ID == role })
	if err != nil || i < 0 || rs[i].ApplicationsCount != len(want) {
		c.t.Errorf("role %s not listed with %d applications: %v", role, len(want), err)
	}
}

func (c contractChecker) roleScopes(role string, want ...string) {
	c.t.Helper()
	ss, n, err := c.db.FindRoleScopes(context.Background(), c.tenant, role, search.Query{}, contractPageAll)
	c.same("scopes of role "+role, contractIDs(ss, func(s ScopeWithResource) string { return s.ID }), n, err, want...)
}

func (c contractChecker) roleNotFound(role string) {
	c.t.Helper()
	if _, err := c.db.FindRoleByID(context.Background(), c.tenant, role); ErrorCode(err) != ENOTFOUND {
		c.t.Errorf("role %s: %v, want %s", role, err, ENOTFOUND)
	}
}

func (c contractChecker) orgUsers(org string, want ...string) {
	c.t.Helper()
	us, n, err := c.db.FindOrganizationUsers(context.Background(), c.tenant, org, MemberFilter{}, contractPageAll)
	c.same("members of organization "+org, contractIDs(us, func(u *UserWithOrganizationRoles) string { return u.ID }), n, err, want...)
}

func (c contractChecker) orgUserCount(org string, want int) {
	c.t.Helper()
	os, _, err := c.db.FindOrganizations(context.Background(), c.tenant, OrganizationFilter{Featured: true}, contractPageAll)
	i := slices.IndexFunc(os, func(o *OrganizationWithFeatured) bool { return o.ID == org })
	if err != nil || i < 0 || os[i].UsersCount != want {
		c.t.Errorf("organization %s not listed with %d users: %v", org, want, err)
	}
}

func (c contractChecker) orgUserRoles(org, user string, want ...string) {
	c.t.Helper()
	rs, n, err := c.db.FindOrganizationUserRoles(context.Background(), c.tenant, org, user, contractPageAll)
	c.same("organization roles of user "+user, contractIDs(rs, func(r *OrganizationRole) string { return r.ID }), n, err, want...)
}

func (c contractChecker) orgApps(org string, want ...string) {
	c.t.Helper()
	as, n, err := c.db.FindOrganizationApplications(context.Background(), c.tenant, org, MemberFilter{}, contractPageAll)
	c.same("applications of organization "+org, contractIDs(as, func(a *ApplicationWithOrganizationRoles) string { return a.ID }), n, err, want...)
}

func (c contractChecker) userOrgs(user string, want ...string) {
	c.t.Helper()
	os, err := c.db.FindUserOrganizations(context.Background(), c.tenant, user)
	c.same("organizations of user "+user, contractIDs(os, func(o *OrganizationWithRoles) string { return o.ID }), len(os), err, want...)
}

func (c contractChecker) appOrgs(app string, want ...string) {
	c.t.Helper()
	os, n, err := c.db.FindApplicationOrganizations(context.Background(), c.tenant, app, contractPageAll)
	c.same("organizations of application "+app, contractIDs(os, func(o *OrganizationWithRoles) string { return o.ID }), n, err, want...)
}

func (c contractChecker) orgRoleScopes(role string, want ...string) {
	c.t.Helper()
	ss, n, err := c.db.FindOrganizationRoleScopes(context.Background(), c.tenant, role, contractPageAll)
	c.same("scopes of organization role "+role, contractIDs(ss, func(s *OrganizationScope) string { return s.ID }), n, err, want...)
}

func (c contractChecker) orgRoleResourceScopes(role string, want ...string) {
	c.t.Helper()
	ss, n, err := c.db.FindOrganizationRoleResourceScopes(context.Background(), c.tenant, role, contractPageAll)
	c.same("resource scopes of organization role "+role, contractIDs(ss, func(s *Scope) string { return s.ID }), n, err, want...)
}

func (c contractChecker) managers(scope ManagerScope, want ...string) {
	c.t.Helper()
	ms, n, err := c.db.FindManagers(context.Background(), c.tenant, scope, contractPageAll)
	c.same(fmt.Sprintf("managers of %+v", scope), contractIDs(ms, func(m *Manager) string { return m.UserID }), n, err, want...)
}

func (c contractChecker) userManagerScopes(user string, want ...ManagerScope) {
	c.t.Helper()
	ms, err := c.db.FindUserManagerRoles(context.Background(), c.tenant, user)
	got := contractIDs(ms, func(m Manager) string { return m.OrganizationID + "|" + m.ResourceID })
	c.same("manager scopes of user "+user, got, len(got), err,
		contractIDs(want, func(s ManagerScope) string { return s.OrganizationID + "|" + s.ResourceID })...)
}

func (c contractChecker) invitationGone(id string) {
	c.t.Helper()
	if _, err := c.db.FindInvitationByID(context.Background(), c.tenant, id); ErrorCode(err) != ENOTFOUND {
		c.t.Errorf("invitation %s: %v, want %s", id, err, ENOTFOUND)
	}
}

// intact checks every relation of fixture f.
func (c contractChecker) intact(f *contractFixture) {
	c.t.Helper()
	c.userRoles(f.user.ID, f.role.ID)
	c.appRoles(f.app.ID, f.m2mRole.ID)
	c.appRoles(f.client.ClientID, f.m2mRole.ID)
	c.roleUsers(f.role.ID, f.user.ID)
	c.roleApps(f.m2mRole.ID, f.app.ID, f.client.ClientID)
	c.roleScopes(f.role.ID, f.scope.ID)
	c.roleScopes(f.m2mRole.ID, f.scope.ID)
	c.orgUsers(f.org.ID, f.user.ID, f.client.UserID)
	c.orgUserCount(f.org.ID, 2)
	c.orgUserRoles(f.org.ID, f.user.ID, f.orgRole.ID)
	c.orgApps(f.org.ID, f.app.ID)
	c.appOrgs(f.app.ID, f.org.ID)
	c.userOrgs(f.user.ID, f.org.ID)
	c.userOrgs(f.client.UserID, f.org.ID)
	c.orgRoleScopes(f.orgRole.ID, f.orgScope.ID)
	c.orgRoleResourceScopes(f.orgRole.ID, f.orgResScope.ID)
	c.managers(ManagerScope{}, f.user.ID)
	c.managers(ManagerScope{OrganizationID: f.org.ID}, f.user.ID)
	// A resource lists its own managers and its grants.
	c.managers(ManagerScope{ResourceID: f.res.ID}, f.user.ID, f.user.ID)
	c.managers(ManagerScope{OrganizationID: f.org.ID, ResourceID: f.res.ID}, f.user.ID)
	c.userManagerScopes(f.user.ID, ManagerScope{}, ManagerScope{OrganizationID: f.org.ID}, ManagerScope{ResourceID: f.res.ID},
		ManagerScope{OrganizationID: f.org.ID, ResourceID: f.res.ID})
	c.orgAppRoles(f.org.ID, f.app.ID, f.orgM2MRole.ID)
	inv, err := c.db.FindInvitationByID(context.Background(), c.tenant, f.inv.ID)
	if err != nil || len(inv.Roles) != 1 || inv.Roles[0].ID != f.orgRole.ID {
		c.t.Errorf("invitation %s: %+v, %v; want role %s", f.inv.ID, inv, err, f.orgRole.ID)
	}
	ks, err := c.db.FindServiceKeys(context.Background(), c.tenant, f.client.UserID)
	c.same("keys of user "+f.client.UserID, contractIDs(ks, func(k *ServiceKey) string { return k.ID }), len(ks), err, f.key.ID)
	if ss, err := c.db.FindOrganizationUserScopes(context.Background(), c.tenant, f.org.ID, f.user.ID); err != nil ||
		len(ss) != 1 || ss[0].ID != f.orgScope.ID {
		c.t.Errorf("member's organization scopes: %v, %v; want %s", ss, err, f.orgScope.ID)
	}
}

func (c contractChecker) orgAppRoles(org, app string, want ...string) {
	c.t.Helper()
	rs, n, err := c.db.FindOrganizationApplicationRoles(context.Background(), c.tenant, org, app, contractPageAll)
	c.same("organization roles of application "+app, contractIDs(rs, func(r *OrganizationRole) string { return r.ID }), n, err, want...)
}

// TestRelationPaging_Contract pages through every relation list with seven
// entries on the listed end: first, middle, last and beyond-last pages of 3
// and the total.
func TestRelationPaging_Contract(t *testing.T) {
	ctx := context.Background()
	const items = 7
	type lister = func(pagination.Params) ([]string, int, error)
	must := func(t *testing.T, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// many makes items entities with create and returns their ids.
	many := func(t *testing.T, create func(i int) (string, error)) []string {
		t.Helper()
		var out []string
		for i := range items {
			id, err := create(i)
			must(t, err)
			out = append(out, id)
		}
		return out
	}
	newUsers := func(t *testing.T, db *DB) []string {
		return many(t, func(i int) (string, error) {
			u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(contractName(i))})
			return contractIDOf(u, err, func(u *User) string { return u.ID })
		})
	}
	newApps := func(t *testing.T, db *DB) []string {
		return many(t, func(i int) (string, error) {
			a, _, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: contractName(i), Type: AppMachineToMachine})
			return contractIDOf(a, err, func(a *Application) string { return a.ID })
		})
	}
	newRoles := func(t *testing.T, db *DB, typ string) []string {
		return many(t, func(i int) (string, error) {
			r, err := db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: contractName(i), Description: "d", Type: typ})
			return contractIDOf(r, err, func(r *Role) string { return r.ID })
		})
	}
	newResource := func(t *testing.T, db *DB) *Resource {
		r, err := db.CreateResource(ctx, DefaultTenant, ResourceCreate{Name: "api", Indicator: "https://api.example"})
		must(t, err)
		return r
	}
	newScopes := func(t *testing.T, db *DB, res string) []string {
		return many(t, func(i int) (string, error) {
			s, err := db.CreateScope(ctx, DefaultTenant, res, contractName(i), nil)
			return contractIDOf(s, err, func(s *Scope) string { return s.ID })
		})
	}
	newOrg := func(t *testing.T, db *DB, name string) *Organization {
		o, err := db.CreateOrganization(ctx, DefaultTenant, OrganizationCreate{Name: name})
		must(t, err)
		return o
	}
	newOrgRoles := func(t *testing.T, db *DB, typ string) []string {
		return many(t, func(i int) (string, error) {
			r, err := db.CreateOrganizationRole(ctx, DefaultTenant, OrganizationRoleCreate{Name: contractName(i), Type: typ})
			return contractIDOf(r, err, func(r *OrganizationRole) string { return r.ID })
		})
	}
	orgRoleIDs := func(rs []*OrganizationRole) []string {
		return contractIDs(rs, func(r *OrganizationRole) string { return r.ID })
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, db *DB) (lister, []string, func(id string) error)
	}{
		{"users of a role", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			role := newRoles(t, db, RoleUser)[0]
			users := newUsers(t, db)
			must(t, db.AssignRoleUsers(ctx, DefaultTenant, role, users))
			return func(p pagination.Params) ([]string, int, error) {
				us, n, err := db.FindRoleUsers(ctx, DefaultTenant, role, search.Query{}, p)
				return contractIDs(us, func(u *User) string { return u.ID }), n, err
			}, users, func(id string) error { return db.RemoveRoleUser(ctx, DefaultTenant, role, id) }
		}},
		{"applications of a role", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			role := newRoles(t, db, RoleMachineToMachine)[0]
			apps := newApps(t, db)
			must(t, db.AssignRoleApplications(ctx, DefaultTenant, role, apps))
			return func(p pagination.Params) ([]string, int, error) {
				as, n, err := db.FindRoleApplications(ctx, DefaultTenant, role, search.Query{}, p)
				return contractIDs(as, func(a *Application) string { return a.ID }), n, err
			}, apps, func(id string) error { return db.RemoveRoleApplication(ctx, DefaultTenant, role, id) }
		}},
		{"scopes of a role", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			role := newRoles(t, db, RoleUser)[0]
			scopes := newScopes(t, db, newResource(t, db).ID)
			_, err := db.AssignRoleScopes(ctx, DefaultTenant, role, scopes)
			must(t, err)
			return func(p pagination.Params) ([]string, int, error) {
				ss, n, err := db.FindRoleScopes(ctx, DefaultTenant, role, search.Query{}, p)
				return contractIDs(ss, func(s ScopeWithResource) string { return s.ID }), n, err
			}, scopes, func(id string) error { return db.RemoveRoleScope(ctx, DefaultTenant, role, id) }
		}},
		{"roles of a user", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			user := newUsers(t, db)[0]
			roles := newRoles(t, db, RoleUser)
			_, err := db.AssignUserRoles(ctx, DefaultTenant, user, roles, false)
			must(t, err)
			return func(p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindUserRoles(ctx, DefaultTenant, user, search.Query{}, p)
				return contractIDs(rs, func(r *Role) string { return r.ID }), n, err
			}, roles, func(id string) error { return db.RemoveUserRole(ctx, DefaultTenant, user, id) }
		}},
		{"roles of an application", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			app := newApps(t, db)[0]
			roles := newRoles(t, db, RoleMachineToMachine)
			_, err := db.AssignApplicationRoles(ctx, DefaultTenant, app, roles, false)
			must(t, err)
			return func(p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindApplicationRoles(ctx, DefaultTenant, app, search.Query{}, p)
				return contractIDs(rs, func(r *Role) string { return r.ID }), n, err
			}, roles, func(id string) error { return db.RemoveApplicationRole(ctx, DefaultTenant, app, id) }
		}},
		{"members of an organization", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			org := newOrg(t, db, "org").ID
			users := newUsers(t, db)
			must(t, db.AddOrganizationUsers(ctx, DefaultTenant, org, users, false))
			return func(p pagination.Params) ([]string, int, error) {
				us, n, err := db.FindOrganizationUsers(ctx, DefaultTenant, org, MemberFilter{}, p)
				return contractIDs(us, func(u *UserWithOrganizationRoles) string { return u.ID }), n, err
			}, users, func(id string) error { return db.RemoveOrganizationUser(ctx, DefaultTenant, org, id) }
		}},
		{"applications of an organization", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			org := newOrg(t, db, "org").ID
			apps := newApps(t, db)
			must(t, db.AddOrganizationApplications(ctx, DefaultTenant, org, apps, false))
			return func(p pagination.Params) ([]string, int, error) {
				as, n, err := db.FindOrganizationApplications(ctx, DefaultTenant, org, MemberFilter{}, p)
				return contractIDs(as, func(a *ApplicationWithOrganizationRoles) string { return a.ID }), n, err
			}, apps, func(id string) error { return db.RemoveOrganizationApplication(ctx, DefaultTenant, org, id) }
		}},
		{"organizations of an application", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			app := newApps(t, db)[0]
			orgs := many(t, func(i int) (string, error) {
				o := newOrg(t, db, contractName(i))
				return o.ID, db.AddOrganizationApplications(ctx, DefaultTenant, o.ID, []string{app}, false)
			})
			return func(p pagination.Params) ([]string, int, error) {
				os, n, err := db.FindApplicationOrganizations(ctx, DefaultTenant, app, p)
				return contractIDs(os, func(o *OrganizationWithRoles) string { return o.ID }), n, err
			}, orgs, func(id string) error { return db.RemoveOrganizationApplication(ctx, DefaultTenant, id, app) }
		}},
		{"organization roles of a member", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			org := newOrg(t, db, "org").ID
			user := newUsers(t, db)[0]
			roles := newOrgRoles(t, db, RoleUser)
			must(t, db.AddOrganizationUsers(ctx, DefaultTenant, org, []string{user}, false))
			must(t, db.AssignRolesToOrganizationUsers(ctx, DefaultTenant, org, []string{user}, roles))
			return func(p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindOrganizationUserRoles(ctx, DefaultTenant, org, user, p)
				return orgRoleIDs(rs), n, err
			}, roles, func(id string) error { return db.RemoveOrganizationUserRole(ctx, DefaultTenant, org, user, id) }
		}},
		{"organization roles of an application", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			org := newOrg(t, db, "org").ID
			app := newApps(t, db)[0]
			roles := newOrgRoles(t, db, RoleMachineToMachine)
			must(t, db.AddOrganizationApplications(ctx, DefaultTenant, org, []string{app}, false))
			must(t, db.AssignOrganizationApplicationRoles(ctx, DefaultTenant, org, app, roles, false))
			return func(p pagination.Params) ([]string, int, error) {
				rs, n, err := db.FindOrganizationApplicationRoles(ctx, DefaultTenant, org, app, p)
				return orgRoleIDs(rs), n, err
			}, roles, func(id string) error { return db.RemoveOrganizationApplicationRole(ctx, DefaultTenant, org, app, id) }
		}},
		{"organization scopes of an organization role", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			role := newOrgRoles(t, db, RoleUser)[0]
			scopes := many(t, func(i int) (string, error) {
				s, err := db.CreateOrganizationScope(ctx, DefaultTenant, contractName(i), nil)
				return contractIDOf(s, err, func(s *OrganizationScope) string { return s.ID })
			})
			must(t, db.AssignOrganizationRoleScopes(ctx, DefaultTenant, role, scopes, false))
			return func(p pagination.Params) ([]string, int, error) {
				ss, n, err := db.FindOrganizationRoleScopes(ctx, DefaultTenant, role, p)
				return contractIDs(ss, func(s *OrganizationScope) string { return s.ID }), n, err
			}, scopes, func(id string) error { return db.RemoveOrganizationRoleScope(ctx, DefaultTenant, role, id) }
		}},
		{"resource scopes of an organization role", func(t *testing.T, db *DB) (lister, []string, func(id string) error) {
			role := newOrgRoles(t, db, RoleUser)[0]
			scopes := newScopes(t, db, newResource(t, db).ID)
			must(t, db.AssignOrganizationRoleResourceScopes(ctx, DefaultTenant, role, scopes, false))
			return func(p pagination.Params) ([]string, int, error) {
				ss, n, err := db.FindOrganizationRoleResourceScopes(ctx, DefaultTenant, role, p)
				return contractIDs(ss, func(s *Scope) string { return s.ID }), n, err
			}, scopes, func(id string) error { return db.RemoveOrganizationRoleResourceScope(ctx, DefaultTenant, role, id) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			list, made, unlink := tc.setup(t, db)
			checkContractPages(t, list, made, 0, true)
			// Unlinking one from the middle leaves no gap and lowers the
			// total.
			if err := unlink(made[3]); err != nil {
				t.Fatal(err)
			}
			checkContractPages(t, list, slices.Delete(made, 3, 4), 0, true)
		})
	}
}

// TestRelations_TenantIsolation links entities of tenant other to ids that
// exist only in tenant default, through every call that takes a foreign id:
// each is refused as an unknown id, and neither tenant changes.
func TestRelations_TenantIsolation(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	d := newContractFixture(t, db, DefaultTenant)
	o := newContractFixture(t, db, "other")
	const unknownFK = "entity.relation_foreign_key_not_found"
	in := func(_ any, err error) error { return err }
	in3 := func(_, _ any, err error) error { return err }
	expiry := testNow.Add(time.Hour).UnixMilli()
	for _, tc := range []struct {
		name         string
		err          error
		code, detail string
	}{
		{"user role", in(db.AssignUserRoles(ctx, "other", o.user.ID, []string{d.role.ID}, false)), ENOTFOUND, "entity.not_found"},
		{"application role", in(db.AssignApplicationRoles(ctx, "other", o.app.ID, []string{d.m2mRole.ID}, false)), ENOTFOUND, "entity.not_found"},
		{"role user", db.AssignRoleUsers(ctx, "other", o.role.ID, []string{d.user.ID}), ENOTFOUND, "entity.not_found"},
		{"role application", db.AssignRoleApplications(ctx, "other", o.m2mRole.ID, []string{d.app.ID}), ENOTFOUND, "entity.not_found"},
		{"role scope", in(db.AssignRoleScopes(ctx, "other", o.role.ID, []string{d.scope.ID})), ENOTFOUND, "entity.not_found"},
		{"new role's scope", in(db.CreateRole(ctx, "other", RoleCreate{Name: "new", Description: "d", ScopeIDs: []string{d.scope.ID}})), ENOTFOUND, "entity.not_found"},
		{"organization member", db.AddOrganizationUsers(ctx, "other", o.org.ID, []string{d.user.ID}, false), EUNPROCESSABLE, unknownFK},
		{"organization application", db.AddOrganizationApplications(ctx, "other", o.org.ID, []string{d.app.ID}, false), EUNPROCESSABLE, unknownFK},
		{"member's organization role", db.AssignRolesToOrganizationUsers(ctx, "other", o.org.ID, []string{o.user.ID}, []string{d.orgRole.ID}), EUNPROCESSABLE, unknownFK},
		{"organization role scope", db.AssignOrganizationRoleScopes(ctx, "other", o.orgRole.ID, []string{d.orgScope.ID}, false), EUNPROCESSABLE, unknownFK},
		{"organization role resource scope", db.AssignOrganizationRoleResourceScopes(ctx, "other", o.orgRole.ID, []string{d.scope.ID}, false), EUNPROCESSABLE, unknownFK},
		{"new organization role's scope", in(db.CreateOrganizationRole(ctx, "other", OrganizationRoleCreate{Name: "new", OrganizationScopeIDs: []string{d.orgScope.ID}})), EUNPROCESSABLE, unknownFK},
		{"manager of an organization", in3(db.SetManager(ctx, "other", ManagerScope{OrganizationID: d.org.ID}, o.user.ID, []string{ManagerOrgOwner})), ENOTFOUND, "entity.not_found"},
		{"manager of a resource", in3(db.SetManager(ctx, "other", ManagerScope{ResourceID: d.res.ID}, o.user.ID, []string{ManagerProjectOwner})), ENOTFOUND, "entity.not_found"},
		{"manager user", in3(db.SetManager(ctx, "other", ManagerScope{}, d.user.ID, []string{ManagerIAMOwner})), ENOTFOUND, "entity.not_found"},
		{"invitation's organization", in3(db.CreateInvitation(ctx, "other", InvitationCreate{Invitee: "x@example.com", OrganizationID: d.org.ID, ExpiresAt: expiry})), EUNPROCESSABLE, unknownFK},
		{"invitation's role", in3(db.CreateInvitation(ctx, "other", InvitationCreate{Invitee: "x@example.com", OrganizationID: o.org.ID, ExpiresAt: expiry, RoleIDs: []string{d.orgRole.ID}})), EUNPROCESSABLE, unknownFK},
		{"invitation's inviter", in3(db.CreateInvitation(ctx, "other", InvitationCreate{Invitee: "x@example.com", OrganizationID: o.org.ID, ExpiresAt: expiry, InviterID: &d.user.ID})), EUNPROCESSABLE, unknownFK},
		{"service key's user", in3(db.CreateServiceKey(ctx, "other", d.client.UserID, ServiceKeyCreate{Algorithm: "ES256"})), ENOTFOUND, "entity.not_found"},
		{"API client's role", in3(db.CreateAPIClient(ctx, "other", APIClientCreate{ClientID: "new-client", FirstName: "f", LastName: "l", RoleIDs: []string{d.m2mRole.ID}})), ENOTFOUND, "entity.not_found"},
		{"instance administrator of another tenant", in(db.AddSystemAdmin(ctx, o.app.ID)), EUNPROCESSABLE, unknownFK},
	} {
		var se *Error
		if !errors.As(tc.err, &se) || se.Code != tc.code || se.Detail != tc.detail {
			t.Errorf("%s: %v, want %s (%s)", tc.name, tc.err, tc.code, tc.detail)
		}
	}
	contractChecker{t, db, DefaultTenant}.intact(d)
	contractChecker{t, db, "other"}.intact(o)
}
