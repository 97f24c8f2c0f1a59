package store

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/store/kv"
)

// rbacFixture is a small RBAC setup: a resource with two scopes, a User and
// a MachineToMachine role holding them, a user and an app holding the roles.
type rbacFixture struct {
	res               *Resource
	scopes            []*Scope
	userRole, m2mRole *Role
	user              *User
	app               *Application
}

func newRBACFixture(t *testing.T, db *DB, tenant string) rbacFixture {
	t.Helper()
	ctx := context.Background()
	var f rbacFixture
	var err error
	if f.res, err = db.CreateResource(ctx, tenant, ResourceCreate{Name: "api", Indicator: "https://api.example/" + newID(6)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"read", "write"} {
		s, err := db.CreateScope(ctx, tenant, f.res.ID, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.scopes = append(f.scopes, s)
	}
	ids := []string{f.scopes[0].ID, f.scopes[1].ID}
	if f.userRole, err = db.CreateRole(ctx, tenant, RoleCreate{Name: "u-" + newID(6), Type: RoleUser, ScopeIDs: ids}); err != nil {
		t.Fatal(err)
	}
	if f.m2mRole, err = db.CreateRole(ctx, tenant, RoleCreate{Name: "m-" + newID(6), Type: RoleMachineToMachine, ScopeIDs: ids}); err != nil {
		t.Fatal(err)
	}
	if f.user, err = db.CreateUser(ctx, tenant, UserCreate{}); err != nil {
		t.Fatal(err)
	}
	if f.app, _, err = db.CreateApplication(ctx, tenant, ApplicationCreate{Name: "a", Type: AppMachineToMachine}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AssignUserRoles(ctx, tenant, f.user.ID, []string{f.userRole.ID}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AssignApplicationRoles(ctx, tenant, f.app.ID, []string{f.m2mRole.ID}, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCheckIntegrity_FindsCorruption damages a sound file in one way at a
// time, behind the API's back, and expects the checker to say what broke.
func TestCheckIntegrity_FindsCorruption(t *testing.T) {
	cases := []struct {
		name   string
		damage func(tx *Tx, f rbacFixture) error
		want   string
	}{
		{"mirror missing", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketRoleUsers)
			return b.Delete(pairKey(f.userRole.ID, f.user.ID))
		}, "no mirror"},
		{"role record gone", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketRoles)
			return b.Delete([]byte(f.m2mRole.ID))
		}, "missing or of the wrong type"},
		{"count off", func(tx *Tx, f rbacFixture) error {
			counts, _ := tx.bucket(bucketRelCounts)
			return addCount(counts, countKey(bucketUserRoles, f.user.ID), 1)
		}, "relation count"},
		{"m2m role on a user", func(tx *Tx, f rbacFixture) error {
			_, err := relUserRoles.link(tx, f.user.ID, f.m2mRole.ID)
			return err
		}, "wrong type"},
		{"scope index stale", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketScopesByName)
			return b.Put(pairKey(f.res.ID, "ghost"), []byte("nope"))
		}, "scope index"},
		{"order index stale", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketAppsOrder)
			return b.Put(itob(999), []byte("ghost"))
		}, "points at missing"},
		{"role name index stale", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketRolesByName)
			return b.Delete([]byte(f.userRole.Name))
		}, "roles_by_name"},
		{"email index stale", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketUsersByEmail)
			return b.Put([]byte("ghost@example.com"), []byte(f.user.ID))
		}, "users_by_email holds 1 entries for 0 users"},
		{"user id index stale", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketUserIDs)
			return b.Put([]byte("ghost0000000"), itob(999))
		}, "user_ids holds 1 entries for 0 users"},
		{"user id key gone", func(tx *Tx, f rbacFixture) error {
			b, _ := tx.bucket(bucketTenantMeta)
			return b.Delete(keyUserIDKey)
		}, "the tenant has no user id key"},
		{"user id not its sequence's", func(tx *Tx, f rbacFixture) error {
			r, err := findUserRecord(tx, f.user.ID)
			if err != nil {
				return err
			}
			r.ID = "ghost0000000"
			users, _ := tx.bucket(bucketUsers)
			return putUserRecord(users, r)
		}, "its sequence"},
		{"user record undecodable", func(tx *Tx, f rbacFixture) error {
			r, err := findUserRecord(tx, f.user.ID)
			if err != nil {
				return err
			}
			b, _ := tx.bucket(bucketUsers)
			return b.Put(itob(r.Seq), []byte{userRecordV1, 99})
		}, "unknown field"},
		{"system admin without its app", func(tx *Tx, f rbacFixture) error {
			return putSystemAdmin(tx, "ghost")
		}, "no such application"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := mustOpen(t)
			f := newRBACFixture(t, db, DefaultTenant)
			if err := db.CheckIntegrity(context.Background()); err != nil {
				t.Fatalf("sound file reported: %v", err)
			}
			err := db.update(func(btx *kv.Tx) error {
				tx, err := db.bind(btx, DefaultTenant)
				if err != nil {
					return err
				}
				return tc.damage(tx, f)
			})
			if err != nil {
				t.Fatal(err)
			}
			err = db.CheckIntegrity(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckIntegrity = %v, want a report containing %q", err, tc.want)
			}
			// Repair what the case broke so mustOpen's own check at the end
			// passes: the simplest repair is a fresh tenant bucket.
			db.update(func(btx *kv.Tx) error { return btx.Bucket(bucketTenants).DeleteBucket([]byte(DefaultTenant)) })
		})
	}
}

// TestRelations_RandomOpsKeepIntegrity runs random creates, assignments and
// deletes of every RBAC object through the store's API and checks after each
// round that no reference dangles and every count is exact.
func TestRelations_RandomOpsKeepIntegrity(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	rng := rand.New(rand.NewPCG(7, 11))
	var users, apps, roles, scopes []string
	var resources []*Resource
	pick := func(ids []string) string {
		if len(ids) == 0 {
			return "missing"
		}
		return ids[rng.IntN(len(ids))]
	}
	drop := func(ids []string, id string) []string {
		for i, x := range ids {
			if x == id {
				return append(ids[:i], ids[i+1:]...)
			}
		}
		return ids
	}
	succeeded := make([]int, 12)
	for round := 0; round < 40; round++ {
		for op := 0; op < 25; op++ {
			var err error
			kind := rng.IntN(12)
			switch kind {
			case 0:
				var u *User
				if u, err = db.CreateUser(ctx, DefaultTenant, UserCreate{}); err == nil {
					users = append(users, u.ID)
				}
			case 1:
				typ := []string{AppMachineToMachine, AppSPA}[rng.IntN(2)]
				var a *Application
				if a, _, err = db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "a", Type: typ}); err == nil {
					apps = append(apps, a.ID)
				}
			case 2:
				typ := []string{RoleUser, RoleMachineToMachine}[rng.IntN(2)]
				var r *Role
				if r, err = db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: newID(8), Type: typ,
					ScopeIDs: []string{pick(scopes)}}); err == nil {
					roles = append(roles, r.ID)
				}
			case 3:
				var r *Resource
				if r, err = db.CreateResource(ctx, DefaultTenant, ResourceCreate{Name: "r", Indicator: "urn:r:" + newID(8)}); err == nil {
					resources = append(resources, r)
				}
			case 4:
				if len(resources) > 0 {
					var s *Scope
					if s, err = db.CreateScope(ctx, DefaultTenant, resources[rng.IntN(len(resources))].ID, newID(5), nil); err == nil {
						scopes = append(scopes, s.ID)
					}
				}
			case 5:
				_, err = db.AssignUserRoles(ctx, DefaultTenant, pick(users), []string{pick(roles), pick(roles)}, rng.IntN(2) == 0)
			case 6:
				_, err = db.AssignApplicationRoles(ctx, DefaultTenant, pick(apps), []string{pick(roles)}, rng.IntN(2) == 0)
			case 7:
				_, err = db.AssignRoleScopes(ctx, DefaultTenant, pick(roles), []string{pick(scopes)})
			case 8:
				id := pick(users)
				if err = db.DeleteUser(ctx, DefaultTenant, id); err == nil {
					users = drop(users, id)
				}
			case 9:
				id := pick(roles)
				if err = db.DeleteRole(ctx, DefaultTenant, id); err == nil {
					roles = drop(roles, id)
				}
			case 10:
				id := pick(apps)
				if err = db.DeleteApplication(ctx, DefaultTenant, id); err == nil {
					apps = drop(apps, id)
				}
			case 11:
				if len(resources) > 0 {
					i := rng.IntN(len(resources))
					if err = db.DeleteResource(ctx, DefaultTenant, resources[i].ID); err == nil {
						resources = append(resources[:i], resources[i+1:]...)
						// Its scopes went with it; forget the ones that no longer exist.
						live := scopes[:0]
						for _, id := range scopes {
							if err := db.View(ctx, DefaultTenant, func(tx *Tx) error { _, err := findScope(tx, id); return err }); err == nil {
								live = append(live, id)
							}
						}
						scopes = live
					}
				}
			}
			if err != nil && ErrorCode(err) == EINTERNAL {
				t.Fatalf("round %d: internal error: %v", round, err)
			} else if err == nil {
				succeeded[kind]++
			}
		}
		if err := db.CheckIntegrity(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	for kind, n := range succeeded {
		if n < 3 {
			t.Errorf("operation %d succeeded only %d times; the run did not exercise it", kind, n)
		}
	}
}
