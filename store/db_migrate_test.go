package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

// wantManagementScopeFixed checks that tenant's Management API has one
// scope, with id ManagementScopeID, held by the built-in role and by every
// role in holders, and by the organization roles in orgHolders.
func wantManagementScopeFixed(t *testing.T, db *DB, tenant string, holders, orgHolders []string) {
	t.Helper()
	ctx := context.Background()
	all := pagination.Params{Page: 1, PageSize: 100}
	scopes, n, err := db.FindResourceScopes(ctx, tenant, ManagementResourceID, search.Query{}, all)
	if err != nil || n != 1 || scopes[0].ID != ManagementScopeID || scopes[0].Name != ManagementScope {
		t.Fatalf("tenant %s: Management API scopes %+v (%d), %v; want one, %s", tenant, scopes, n, err, ManagementScopeID)
	}
	var mgmtRole string
	if err := db.View(ctx, tenant, func(tx *Tx) error {
		mgmtRole, err = findManagementRole(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, role := range append([]string{mgmtRole}, holders...) {
		got, _, err := db.FindRoleScopes(ctx, tenant, role, search.Query{}, all)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(s ScopeWithResource) bool { return s.ID == ManagementScopeID }) {
			t.Errorf("tenant %s: role %s lost the Management API scope: %+v", tenant, role, got)
		}
	}
	for _, role := range orgHolders {
		got, _, err := db.FindOrganizationRoleResourceScopes(ctx, tenant, role, all)
		if err != nil || len(got) != 1 || got[0].ID != ManagementScopeID {
			t.Errorf("tenant %s: organization role %s resource scopes %+v, %v", tenant, role, got, err)
		}
	}
}

// TestMigrate_ManagementScopeFixedID: a file whose Management API scope has
// a random id (as every version before format 6 wrote) held by the
// built-in role, a custom role and an organization role gets the fixed id
// everywhere, with counts and indexes that CheckIntegrity accepts; the old
// id is gone and a second open changes nothing.
func TestMigrate_ManagementScopeFixedID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v5.db")
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{DefaultTenant, "other"} {
		if _, _, err := db.CreateTenant(ctx, NewTenant{ID: id, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			t.Fatal(err)
		}
	}
	const oldID = "0wk9sb74pexo3dqbo0ado" // random, as format 5 made it
	if err := db.update(func(btx *kv.Tx) error {
		tx, err := db.bind(btx, DefaultTenant)
		if err != nil {
			return err
		}
		if err := renameScope(tx, ManagementScopeID, oldID); err != nil {
			return err
		}
		return btx.Bucket(bucketMeta).Put(keyFormatVersion, itob(5))
	}); err != nil {
		t.Fatal(err)
	}
	custom, err := db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: "custom", Type: RoleMachineToMachine, ScopeIDs: []string{oldID}})
	if err != nil {
		t.Fatal(err)
	}
	orgRole, err := db.CreateOrganizationRole(ctx, DefaultTenant, OrganizationRoleCreate{Name: "o", Type: RoleMachineToMachine,
		ResourceScopeIDs: []string{oldID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatalf("the format 5 file: %v", err)
	}
	db.Close()

	db, err = Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Error(err)
	}
	wantManagementScopeFixed(t, db, DefaultTenant, []string{custom.ID}, []string{orgRole.ID})
	wantManagementScopeFixed(t, db, "other", nil, nil)
	if _, err := db.AssignRoleScopes(ctx, DefaultTenant, custom.ID, []string{oldID}); ErrorCode(err) != ENOTFOUND {
		t.Errorf("the old scope id after the upgrade: %v, want not found", err)
	}
	roles, _, err := db.FindRoles(ctx, DefaultTenant, RoleFilter{}, pagination.Params{Page: 1, PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 2 {
		t.Errorf("roles after the upgrade: %d, want 2", len(roles))
	}
	db.Close()
	wantCurrentAndStable(t, path, opts)
}

// TestMigrate_FixturesGetFixedManagementScope: both files written by
// earlier mains come out of Open with the fixed Management API scope id in
// every tenant, and pass CheckIntegrity.
func TestMigrate_FixturesGetFixedManagementScope(t *testing.T) {
	ctx := context.Background()
	t.Run("main-0959aa9", func(t *testing.T) {
		db := openFixture(t)
		defer db.Close()
		if err := db.CheckIntegrity(ctx); err != nil {
			t.Error(err)
		}
		for _, tenant := range []string{DefaultTenant, "acme"} {
			wantManagementScopeFixed(t, db, tenant, nil, nil)
		}
	})
	t.Run("main-386cfb4", func(t *testing.T) {
		path, keyPath := copyTodaysMainFixture(t)
		db, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: keyPath})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CheckIntegrity(ctx); err != nil {
			t.Error(err)
		}
		for _, tenant := range []string{DefaultTenant, "acme"} {
			wantManagementScopeFixed(t, db, tenant, nil, nil)
		}
	})
}

// BenchmarkMigrate_ManagementScopeIDs opens a file of 1,000 tenants, each
// with a custom role holding its Management API scope, at format 5 (random
// scope ids, so Open runs migration 6) and at the current format (nothing
// to migrate): the difference is what the migration costs. Each iteration
// opens a fresh copy of the file.
func BenchmarkMigrate_ManagementScopeIDs(b *testing.B) {
	const tenants = 1000
	ctx := context.Background()
	dir := b.TempDir()
	build := func(name string, oldFormat bool) string {
		path := filepath.Join(dir, name)
		db, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: filepath.Join(dir, "key")})
		if err != nil {
			b.Fatal(err)
		}
		for i := range tenants {
			id := fmt.Sprintf("t%d", i)
			if _, _, err := db.CreateTenant(ctx, NewTenant{ID: id, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
				b.Fatal(err)
			}
			scopeID := ManagementScopeID
			if oldFormat {
				scopeID = newID(21)
				if err := db.update(func(btx *kv.Tx) error {
					tx, err := db.bind(btx, id)
					if err != nil {
						return err
					}
					return renameScope(tx, ManagementScopeID, scopeID)
				}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := db.CreateRole(ctx, id, RoleCreate{Name: "ops", Type: RoleMachineToMachine, ScopeIDs: []string{scopeID}}); err != nil {
				b.Fatal(err)
			}
		}
		if oldFormat {
			if err := db.update(func(btx *kv.Tx) error { return btx.Bucket(bucketMeta).Put(keyFormatVersion, itob(5)) }); err != nil {
				b.Fatal(err)
			}
		}
		db.Close()
		return path
	}
	for _, bc := range []struct {
		name      string
		oldFormat bool
	}{{"Current", false}, {"Format5", true}} {
		src := build(bc.name+".db", bc.oldFormat)
		data, err := os.ReadFile(src)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "copy.db")
				if err := os.WriteFile(path, data, 0o600); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				db, err := Open(ctx, path, Options{NoSync: true, MasterKeyFile: filepath.Join(dir, "key")})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				db.Close()
				b.StartTimer()
			}
		})
	}
}
