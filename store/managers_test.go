package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// managerFixture is a tenant with three users, two organizations and two
// resources to hang manager roles on.
type managerFixture struct {
	users []string
	orgs  []string
	res   []string
}

func newManagerFixture(t testing.TB, db *DB, tenant string) managerFixture {
	t.Helper()
	ctx := context.Background()
	var f managerFixture
	for range 3 {
		u, err := db.CreateUser(ctx, tenant, UserCreate{})
		if err != nil {
			t.Fatal(err)
		}
		f.users = append(f.users, u.ID)
	}
	for i := range 2 {
		o, err := db.CreateOrganization(ctx, tenant, OrganizationCreate{Name: fmt.Sprintf("org%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		f.orgs = append(f.orgs, o.ID)
		r, err := db.CreateResource(ctx, tenant, ResourceCreate{Name: "api", Indicator: "https://api.example/" + newID(6)})
		if err != nil {
			t.Fatal(err)
		}
		f.res = append(f.res, r.ID)
	}
	return f
}

// scopes returns one scope of each level, keyed by the level's name.
func (f managerFixture) scopes() []struct {
	level string
	scope ManagerScope
	role  string // a role of that level
} {
	return []struct {
		level string
		scope ManagerScope
		role  string
	}{
		{"tenant", ManagerScope{}, ManagerIAMOwner},
		{"organization", ManagerScope{OrganizationID: f.orgs[0]}, ManagerOrgOwner},
		{"resource", ManagerScope{ResourceID: f.res[0]}, ManagerProjectOwner},
		{"grant", ManagerScope{OrganizationID: f.orgs[0], ResourceID: f.res[0]}, ManagerProjectGrantOwner},
	}
}

func mustSetManager(t testing.TB, db *DB, tenant string, s ManagerScope, user string, roles ...string) *Manager {
	t.Helper()
	m, _, err := db.SetManager(context.Background(), tenant, s, user, roles)
	if err != nil {
		t.Fatalf("SetManager(%+v, %s, %v): %v", s, user, roles, err)
	}
	return m
}

// managerIDs returns "org/resource/user" of each manager, for comparisons.
func managerIDs(ms []*Manager) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.OrganizationID+"/"+m.ResourceID+"/"+m.UserID)
	}
	return out
}

func wantErr(t *testing.T, err error, code, detail string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code || (detail != "" && e.Detail != detail) {
		t.Fatalf("err = %v, want %s (%s)", err, code, detail)
	}
}

func TestManagers_SetReplaceRemove(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	for _, tc := range f.scopes() {
		t.Run(tc.level, func(t *testing.T) {
			user := f.users[1]
			m, created, err := db.SetManager(ctx, DefaultTenant, tc.scope, user, []string{tc.role})
			if err != nil {
				t.Fatal(err)
			}
			if !created || m.UserID != user || m.OrganizationID != tc.scope.OrganizationID || m.ResourceID != tc.scope.ResourceID ||
				!slices.Equal(m.Roles, []string{tc.role}) || m.CreatedAt != msec(testNow) || m.UpdatedAt != msec(testNow) {
				t.Fatalf("set = %+v created=%v", m, created)
			}
			// Replace: exactly the new roles, and not created.
			others := []string{}
			for _, r := range managerRoles {
				if string(r.level) == string(tc.scope.level()) && r.name != tc.role {
					others = append(others, r.name)
				}
			}
			want := []string{tc.role}
			if len(others) > 0 {
				m, created, err = db.SetManager(ctx, DefaultTenant, tc.scope, user, others)
				if err != nil {
					t.Fatal(err)
				}
				if created || !slices.Equal(m.Roles, others) {
					t.Fatalf("replace = %+v created=%v, want roles %v", m, created, others)
				}
				want = others
			} else if _, created, err = db.SetManager(ctx, DefaultTenant, tc.scope, user, want); err != nil || created {
				t.Fatalf("set again: created=%v err=%v", created, err)
			}
			list, total, err := db.FindManagers(ctx, DefaultTenant, tc.scope, pagination.Params{Page: 1, PageSize: 20})
			if err != nil {
				t.Fatal(err)
			}
			if total != 1 || len(list) != 1 || list[0].UserID != user || !slices.Equal(list[0].Roles, want) {
				t.Fatalf("list = %+v total %d", list, total)
			}
			if err := db.RemoveManager(ctx, DefaultTenant, tc.scope, user); err != nil {
				t.Fatal(err)
			}
			if list, total, err = db.FindManagers(ctx, DefaultTenant, tc.scope, pagination.Params{Page: 1, PageSize: 20}); err != nil || total != 0 || len(list) != 0 {
				t.Fatalf("after remove: %v %d %v", managerIDs(list), total, err)
			}
			wantErr(t, db.RemoveManager(ctx, DefaultTenant, tc.scope, user), ENOTFOUND, "manager.not_found")
		})
	}
}

func TestManagers_RoleLevels(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	for _, sc := range f.scopes() {
		for _, r := range managerRoles {
			t.Run(sc.level+"/"+r.name, func(t *testing.T) {
				m, _, err := db.SetManager(ctx, DefaultTenant, sc.scope, f.users[0], []string{r.name})
				if r.level == sc.scope.level() {
					if err != nil || !slices.Equal(m.Roles, []string{r.name}) {
						t.Fatalf("m=%+v err=%v, want the role granted", m, err)
					}
					return
				}
				wantErr(t, err, EINVALID, "manager.invalid_role")
				if msg := ErrorMessage(err); !strings.Contains(msg, r.name) || !strings.Contains(msg, sc.role) {
					t.Fatalf("message %q should name %s and the allowed %s", msg, r.name, sc.role)
				}
			})
		}
	}
	t.Run("ErrEmpty", func(t *testing.T) {
		_, _, err := db.SetManager(ctx, DefaultTenant, ManagerScope{}, f.users[0], nil)
		wantErr(t, err, EINVALID, "")
	})
	t.Run("Unknown", func(t *testing.T) {
		_, _, err := db.SetManager(ctx, DefaultTenant, ManagerScope{}, f.users[0], []string{"IAM_OWNER", "ROOT"})
		wantErr(t, err, EINVALID, "manager.invalid_role")
	})
	t.Run("DedupedCanonical", func(t *testing.T) {
		m := mustSetManager(t, db, DefaultTenant, ManagerScope{}, f.users[2],
			ManagerIAMOwnerViewer, ManagerIAMOwner, ManagerIAMOwnerViewer)
		if want := []string{ManagerIAMOwner, ManagerIAMOwnerViewer}; !slices.Equal(m.Roles, want) {
			t.Fatalf("roles = %v, want %v", m.Roles, want)
		}
		got, err := db.FindUserManagerRoles(ctx, DefaultTenant, f.users[2])
		if err != nil || len(got) != 1 || !slices.Equal(got[0].Roles, m.Roles) {
			t.Fatalf("stored = %+v, %v", got, err)
		}
	})
}

func TestManagers_ErrNotFound(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	user := f.users[0]
	cases := []struct {
		name   string
		scope  ManagerScope
		user   string
		role   string
		entity string // in the message of the error
	}{
		{"user", ManagerScope{}, "nobody", ManagerIAMOwner, "user"},
		{"organization", ManagerScope{OrganizationID: "nope"}, user, ManagerOrgOwner, "organization"},
		{"resource", ManagerScope{ResourceID: "nope"}, user, ManagerProjectOwner, "resource"},
		{"grant organization", ManagerScope{OrganizationID: "nope", ResourceID: f.res[0]}, user, ManagerProjectGrantOwner, "organization"},
		{"grant resource", ManagerScope{OrganizationID: f.orgs[0], ResourceID: "nope"}, user, ManagerProjectGrantOwner, "resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := db.SetManager(ctx, DefaultTenant, tc.scope, tc.user, []string{tc.role})
			wantErr(t, err, ENOTFOUND, "entity.not_found")
			if !strings.Contains(ErrorMessage(err), tc.entity) {
				t.Fatalf("message %q does not name the %s", ErrorMessage(err), tc.entity)
			}
			wantErr(t, db.RemoveManager(ctx, DefaultTenant, tc.scope, tc.user), ENOTFOUND, "entity.not_found")
			if tc.user == user {
				_, _, err = db.FindManagers(ctx, DefaultTenant, tc.scope, pagination.Params{Page: 1, PageSize: 20})
				wantErr(t, err, ENOTFOUND, "entity.not_found")
			}
		})
	}
	t.Run("FindUserManagerRoles", func(t *testing.T) {
		_, err := db.FindUserManagerRoles(ctx, DefaultTenant, "nobody")
		wantErr(t, err, ENOTFOUND, "entity.not_found")
	})
	t.Run("ManagementAPI", func(t *testing.T) {
		// The built-in resource is a resource like the others.
		mustSetManager(t, db, DefaultTenant, ManagerScope{ResourceID: ManagementResourceID}, user, ManagerProjectOwnerViewer)
		mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[1], ResourceID: ManagementResourceID}, user, ManagerProjectGrantOwner)
	})
}

func TestManagers_Paging(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	var ids []string
	for range 45 {
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
		mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0]}, u.ID, ManagerOrgOwnerViewer)
	}
	// Noise at neighbouring scopes must not count.
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[1]}, f.users[0], ManagerOrgOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{}, f.users[0], ManagerIAMOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0], ResourceID: f.res[0]}, f.users[0], ManagerProjectGrantOwner)
	slices.Sort(ids)
	for _, tc := range []struct {
		page, size int
		want       []string
	}{
		{1, 20, ids[:20]}, {2, 20, ids[20:40]}, {3, 20, ids[40:]}, {4, 20, nil}, {1, 100, ids},
	} {
		t.Run(fmt.Sprintf("page%d/%d", tc.page, tc.size), func(t *testing.T) {
			list, total, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0]}, pagination.Params{Page: tc.page, PageSize: tc.size})
			if err != nil {
				t.Fatal(err)
			}
			if total != 45 {
				t.Fatalf("total = %d, want 45", total)
			}
			var got []string
			for _, m := range list {
				got = append(got, m.UserID)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("page = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestManagers_ResourceListIncludesGrants(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	r := f.res[0]
	u := slices.Clone(f.users)
	slices.Sort(u)
	o := slices.Clone(f.orgs)
	slices.Sort(o)
	// Set out of order, so that the list order is the store's doing.
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o[1], ResourceID: r}, u[0], ManagerProjectGrantOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o[0], ResourceID: r}, u[2], ManagerProjectGrantOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{ResourceID: r}, u[1], ManagerProjectOwnerViewer)
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o[0], ResourceID: r}, u[0], ManagerProjectGrantOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{ResourceID: r}, u[0], ManagerProjectOwner)
	// Not in the list: another resource, and the organizations themselves.
	mustSetManager(t, db, DefaultTenant, ManagerScope{ResourceID: f.res[1]}, u[0], ManagerProjectOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o[1], ResourceID: f.res[1]}, u[0], ManagerProjectGrantOwner)
	mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o[0]}, u[0], ManagerOrgOwner)

	want := []string{"/" + r + "/" + u[0], "/" + r + "/" + u[1],
		o[0] + "/" + r + "/" + u[0], o[0] + "/" + r + "/" + u[2], o[1] + "/" + r + "/" + u[0]}
	for _, tc := range []struct {
		page, size int
		want       []string
	}{{1, 20, want}, {1, 2, want[:2]}, {2, 2, want[2:4]}, {3, 2, want[4:]}} {
		list, total, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{ResourceID: r}, pagination.Params{Page: tc.page, PageSize: tc.size})
		if err != nil {
			t.Fatal(err)
		}
		if got := managerIDs(list); total != 5 || !slices.Equal(got, tc.want) {
			t.Fatalf("page %d/%d = %v total %d, want %v total 5", tc.page, tc.size, got, total, tc.want)
		}
	}
	list, total, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{OrganizationID: o[0], ResourceID: r}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if got := managerIDs(list); total != 2 || !slices.Equal(got, want[2:4]) {
		t.Fatalf("grant list = %v total %d, want %v", got, total, want[2:4])
	}
	if !slices.Equal(list[0].Roles, []string{ManagerProjectGrantOwner}) {
		t.Fatalf("grant roles = %v", list[0].Roles)
	}
}

// managerKeyCounts returns the number of keys in the two manager buckets.
func managerKeyCounts(t *testing.T, db *DB, tenant string) (records, index int) {
	t.Helper()
	err := db.View(context.Background(), tenant, func(tx *Tx) error {
		r, i, err := managerBuckets(tx)
		if err != nil {
			return err
		}
		records, index = r.Stats().KeyN, i.Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return records, index
}

func TestManagers_CleanUp(t *testing.T) {
	ctx := context.Background()
	// setup gives users[0] and users[1] roles at every scope of both
	// organizations and resources: 2 users x (1 + 2 + 2 + 4) = 18 records,
	// 18 + 8 grant mirrors = 26 index keys.
	setup := func(t *testing.T) (*DB, managerFixture) {
		db := mustOpen(t)
		f := newManagerFixture(t, db, DefaultTenant)
		for _, u := range f.users[:2] {
			mustSetManager(t, db, DefaultTenant, ManagerScope{}, u, ManagerIAMOwnerViewer)
			for _, o := range f.orgs {
				mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o}, u, ManagerOrgOwner)
			}
			for _, r := range f.res {
				mustSetManager(t, db, DefaultTenant, ManagerScope{ResourceID: r}, u, ManagerProjectOwner)
				for _, o := range f.orgs {
					mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: o, ResourceID: r}, u, ManagerProjectGrantOwner)
				}
			}
		}
		if rec, idx := managerKeyCounts(t, db, DefaultTenant); rec != 18 || idx != 26 {
			t.Fatalf("setup: %d records, %d index keys", rec, idx)
		}
		return db, f
	}
	page := pagination.Params{Page: 1, PageSize: 20}
	cases := []struct {
		name             string
		del              func(db *DB, f managerFixture) error
		wantRec, wantIdx int // keys left in the two buckets
		check            func(t *testing.T, db *DB, f managerFixture)
	}{
		{"User", func(db *DB, f managerFixture) error { return db.DeleteUser(ctx, DefaultTenant, f.users[0]) }, 9, 13,
			func(t *testing.T, db *DB, f managerFixture) {
				list, total, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{ResourceID: f.res[0]}, page)
				if err != nil || total != 3 || slices.ContainsFunc(list, func(m *Manager) bool { return m.UserID != f.users[1] }) {
					t.Fatalf("resource list %v total %d err %v, want the 3 scopes of the other user", managerIDs(list), total, err)
				}
			}},
		// Gone per user: the organization and its 2 grants.
		{"Organization", func(db *DB, f managerFixture) error { return db.DeleteOrganization(ctx, DefaultTenant, f.orgs[0]) }, 12, 16,
			func(t *testing.T, db *DB, f managerFixture) {
				_, _, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0]}, page)
				wantErr(t, err, ENOTFOUND, "entity.not_found")
				grants, err := db.FindUserManagerRoles(ctx, DefaultTenant, f.users[0])
				if err != nil || len(grants) != 6 || slices.ContainsFunc(grants, func(m Manager) bool { return m.OrganizationID == f.orgs[0] }) {
					t.Fatalf("user keeps %+v, %v; want 6 scopes, none in the deleted organization", grants, err)
				}
			}},
		// Gone per user: the resource and its 2 grants.
		{"Resource", func(db *DB, f managerFixture) error { return db.DeleteResource(ctx, DefaultTenant, f.res[1]) }, 12, 16,
			func(t *testing.T, db *DB, f managerFixture) {
				list, total, err := db.FindManagers(ctx, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0]}, page)
				if err != nil || total != 2 || len(list) != 2 {
					t.Fatalf("organization managers %v total %d err %v, want both kept", managerIDs(list), total, err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, f := setup(t)
			if err := tc.del(db, f); err != nil {
				t.Fatal(err)
			}
			if rec, idx := managerKeyCounts(t, db, DefaultTenant); rec != tc.wantRec || idx != tc.wantIdx {
				t.Fatalf("after delete: %d records, %d index keys, want %d and %d", rec, idx, tc.wantRec, tc.wantIdx)
			}
			tc.check(t, db, f)
		})
	}
}

func TestManagers_TenantIsolation(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	mustSetManager(t, db, DefaultTenant, ManagerScope{}, f.users[0], ManagerIAMOwner)
	list, total, err := db.FindManagers(ctx, "other", ManagerScope{}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("other tenant lists %v total %d err %v", managerIDs(list), total, err)
	}
	_, err = db.FindUserManagerRoles(ctx, "other", f.users[0])
	wantErr(t, err, ENOTFOUND, "entity.not_found")
	_, _, err = db.SetManager(ctx, "other", ManagerScope{OrganizationID: f.orgs[0]}, f.users[0], []string{ManagerOrgOwner})
	wantErr(t, err, ENOTFOUND, "entity.not_found")
	err = db.View(ctx, "other", func(tx *Tx) error {
		got, err := managerGrants(tx, f.users[0])
		if err == nil && len(got) != 0 {
			err = fmt.Errorf("other tenant's grants = %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	list, total, err = db.FindManagers(ctx, DefaultTenant, ManagerScope{}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil || total != 1 || list[0].UserID != f.users[0] {
		t.Fatalf("own tenant lists %v total %d err %v", managerIDs(list), total, err)
	}
}

func TestManagerGrants_AllScopes(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	u := f.users[0]
	want := map[ManagerScope][]string{
		{}:                          {ManagerIAMOwnerViewer},
		{OrganizationID: f.orgs[0]}: {ManagerOrgOwner, ManagerOrgOwnerViewer},
		{OrganizationID: f.orgs[1]}: {ManagerOrgOwnerViewer},
		{ResourceID: f.res[0]}:      {ManagerProjectOwner},
		{OrganizationID: f.orgs[1], ResourceID: f.res[0]}: {ManagerProjectGrantOwner},
	}
	for s, roles := range want {
		mustSetManager(t, db, DefaultTenant, s, u, roles...)
	}
	mustSetManager(t, db, DefaultTenant, ManagerScope{}, f.users[1], ManagerIAMOwner) // someone else's
	var got []Manager
	err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
		var err error
		got, err = managerGrants(tx, u)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d scopes, want %d: %+v", len(got), len(want), got)
	}
	for _, m := range got {
		s := ManagerScope{OrganizationID: m.OrganizationID, ResourceID: m.ResourceID}
		if m.UserID != u || !slices.Equal(m.Roles, want[s]) {
			t.Fatalf("scope %+v: %+v, want roles %v", s, m, want[s])
		}
	}
	if got[len(got)-1].OrganizationID != "" || got[len(got)-1].ResourceID != "" {
		t.Fatalf("the tenant scope should come last: %+v", got)
	}
	viaAPI, err := db.FindUserManagerRoles(ctx, DefaultTenant, u)
	if err != nil || !slices.EqualFunc(viaAPI, got, func(a, b Manager) bool {
		return a.OrganizationID == b.OrganizationID && a.ResourceID == b.ResourceID && slices.Equal(a.Roles, b.Roles)
	}) {
		t.Fatalf("FindUserManagerRoles = %+v, %v; want %+v", viaAPI, err, got)
	}
	// A user without roles, and an id that would reach into another
	// user's keys, have none.
	err = db.View(ctx, DefaultTenant, func(tx *Tx) error {
		for _, id := range []string{f.users[2], u + "\x00o", ""} {
			if g, err := managerGrants(tx, id); err != nil || len(g) != 0 {
				return fmt.Errorf("managerGrants(%q) = %+v, %v", id, g, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestManagers_Audit(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	f := newManagerFixture(t, db, DefaultTenant)
	s := ManagerScope{OrganizationID: f.orgs[0], ResourceID: f.res[0]}
	mustSetManager(t, db, DefaultTenant, s, f.users[0], ManagerProjectGrantOwner)
	if err := db.RemoveManager(ctx, DefaultTenant, s, f.users[0]); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"Management.Manager.Set":    `"params":{"organizationId":"` + f.orgs[0] + `","roles":"PROJECT_GRANT_OWNER"}`,
		"Management.Manager.Delete": `"target":{"type":"resource","id":"` + f.res[0] + `"},"params":{"organizationId":"` + f.orgs[0] + `"}`,
	} {
		entries, total, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{Key: key, UserID: f.users[0]}, pagination.Params{Page: 1, PageSize: 20})
		if err != nil || total != 1 || !strings.Contains(string(entries[0].Payload), want) {
			t.Fatalf("%s: %d entries, err %v, want one with %s; got %v", key, total, err, want, entries)
		}
	}
}

// TestManagers_IntegrityFindsCorruption damages the manager buckets behind
// the API's back, one way at a time.
func TestManagers_IntegrityFindsCorruption(t *testing.T) {
	cases := []struct {
		name   string
		damage func(records, byScope *kv.Bucket, f managerFixture) error
		want   string
	}{
		{"index entry missing", func(_, byScope *kv.Bucket, f managerFixture) error {
			return byScope.Delete(ManagerScope{OrganizationID: f.orgs[0]}.indexKeys(f.users[0])[0])
		}, "missing from managers_by_scope"},
		{"grant mirror missing", func(_, byScope *kv.Bucket, f managerFixture) error {
			return byScope.Delete(ManagerScope{OrganizationID: f.orgs[0], ResourceID: f.res[0]}.indexKeys(f.users[0])[1])
		}, "missing from managers_by_scope"},
		{"record missing", func(records, _ *kv.Bucket, f managerFixture) error {
			return records.Delete(managerKey(f.users[0], ManagerScope{}))
		}, "points at a missing record"},
		{"role of another level", func(records, _ *kv.Bucket, f managerFixture) error {
			return records.Put(managerKey(f.users[0], ManagerScope{}), encodeManagerRecord(managerRecord{Roles: []string{ManagerOrgOwner}}))
		}, "not valid and canonical"},
		{"user missing", func(records, byScope *kv.Bucket, f managerFixture) error {
			s := ManagerScope{}
			if err := byScope.Put(s.indexKeys("ghost")[0], nil); err != nil {
				return err
			}
			return records.Put(managerKey("ghost", s), encodeManagerRecord(managerRecord{Roles: []string{ManagerIAMOwner}}))
		}, `user "ghost"`},
		{"malformed index key", func(_, byScope *kv.Bucket, f managerFixture) error {
			return byScope.Put([]byte("x\x00y"), nil)
		}, "malformed key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			f := newManagerFixture(t, db, DefaultTenant)
			mustSetManager(t, db, DefaultTenant, ManagerScope{}, f.users[0], ManagerIAMOwner)
			mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0]}, f.users[0], ManagerOrgOwner)
			mustSetManager(t, db, DefaultTenant, ManagerScope{OrganizationID: f.orgs[0], ResourceID: f.res[0]}, f.users[0], ManagerProjectGrantOwner)
			if err := db.CheckIntegrity(context.Background()); err != nil {
				t.Fatalf("sound file reported: %v", err)
			}
			err := db.update(func(btx *kv.Tx) error {
				tx, err := db.bind(btx, DefaultTenant)
				if err != nil {
					return err
				}
				records, byScope, err := managerBuckets(tx)
				if err != nil {
					return err
				}
				return tc.damage(records, byScope, f)
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.CheckIntegrity(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckIntegrity = %v, want a report containing %q", err, tc.want)
			}
			// A fresh tenant bucket repairs the file for mustOpen's check.
			db.update(func(btx *kv.Tx) error { return btx.Bucket(bucketTenants).DeleteBucket([]byte(DefaultTenant)) })
		})
	}
}

// BenchmarkManagerGrants measures the per-request lookup of a manager token:
// a user with one tenant role and 50 organization scopes.
func BenchmarkManagerGrants(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{})
	if err != nil {
		b.Fatal(err)
	}
	mustSetManager(b, db, DefaultTenant, ManagerScope{}, u.ID, ManagerIAMOwnerViewer)
	for i := range 50 {
		o, err := db.CreateOrganization(ctx, DefaultTenant, OrganizationCreate{Name: fmt.Sprintf("org%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		mustSetManager(b, db, DefaultTenant, ManagerScope{OrganizationID: o.ID}, u.ID, ManagerOrgOwner)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
			g, err := managerGrants(tx, u.ID)
			if err == nil && len(g) != 51 {
				err = fmt.Errorf("%d scopes", len(g))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeManagerRecord checks that every record decodes to what was
// encoded and that malformed values are errors, never misread.
func TestDecodeManagerRecord(t *testing.T) {
	for _, roles := range [][]string{{ManagerIAMOwner}, {ManagerOrgOwner, ManagerOrgOwnerViewer}, {ManagerProjectGrantOwner}} {
		want := managerRecord{Roles: roles, CreatedAt: msec(testNow), UpdatedAt: msec(testNow) + 1}
		var got managerRecord
		if err := decodeManagerRecord(encodeManagerRecord(want), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%v: decoded %+v, %v", roles, got, err)
		}
	}
	for _, v := range [][]byte{nil, {1}, make([]byte, managerRecordSize), append([]byte{0x80}, make([]byte, 16)...),
		append([]byte{1}, make([]byte, 17)...)} {
		var r managerRecord
		if err := decodeManagerRecord(v, &r); err == nil {
			t.Errorf("%x: decoded %+v, want an error", v, r)
		}
	}
}

// FuzzDecodeManagerRecord checks that whatever decodes encodes back to the
// same bytes.
func FuzzDecodeManagerRecord(f *testing.F) {
	f.Add(encodeManagerRecord(managerRecord{Roles: []string{ManagerIAMOwner}, CreatedAt: 1, UpdatedAt: 2}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		var r managerRecord
		if decodeManagerRecord(v, &r) != nil {
			return
		}
		if got := encodeManagerRecord(r); !bytes.Equal(got, v) {
			t.Fatalf("%x decodes to %+v, which encodes to %x", v, r, got)
		}
	})
}
