package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

// legacySystemRole is the name of the built-in role that made an app an
// instance administrator before issue 12.
const legacySystemRole = "idbolt system administration"

// writeLegacySystemAccess lays instance administration out in tenant
// default as versions before issue 12 did: the read-only system resource
// (here also the default resource) with scope all, the built-in role holding
// it given to holders, no system_admins bucket and no format version. It
// returns the scope id.
func writeLegacySystemAccess(t *testing.T, db *DB, holders ...string) string {
	t.Helper()
	var scopeID string
	err := db.update(func(btx *kv.Tx) error {
		tx, err := db.bind(btx, DefaultTenant)
		if err != nil {
			return err
		}
		sys := builtinAccess{
			resource: resourceRecord{ID: SystemResourceID, Name: "idbolt instance administration", Indicator: SystemIndicator,
				AccessTokenTTL: DefaultAccessTokenTTL, ReadOnly: true, IsDefault: true, CreatedAt: msec(tx.now)},
			scopeID:          newID(21),
			scopeDescription: "Create, list and delete tenants of this idbolt instance.",
			roleName:         legacySystemRole,
			roleDescription:  "This built-in role grants access to the /system API of this idbolt instance.",
		}
		if err := sys.create(tx, holders[0]); err != nil {
			return err
		}
		meta, _ := tx.bucket(bucketTenantMeta)
		if err := meta.Put(keyDefaultResource, []byte(SystemResourceID)); err != nil {
			return err
		}
		byName, _ := tx.bucket(bucketRolesByName)
		roleID := string(byName.Get([]byte(legacySystemRole)))
		for _, h := range holders[1:] {
			if _, err := relAppRoles.link(tx, h, roleID); err != nil {
				return err
			}
		}
		scopes, err := resourceScopes(tx, SystemResourceID)
		if err != nil {
			return err
		}
		scopeID = scopes[0].ID
		if err := btx.DeleteBucket(bucketSystemAdmins); err != nil {
			return err
		}
		return btx.Bucket(bucketMeta).Delete(keyFormatVersion) // a file from before it
	})
	if err != nil {
		t.Fatal(err)
	}
	return scopeID
}

// TestOpen_UpgradesSystemAdmins opens a file with the old layout: the
// holders of the built-in role become instance administrators, and the role,
// the resource and every reference to them leave tenant default, including
// the grants a tenant admin made of the system scope (a custom role, an
// organization role, a resource manager). A second open changes nothing.
func TestOpen_UpgradesSystemAdmins(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	opts := Options{NoSync: true, Now: func() time.Time { return testNow }}
	db, err := Open(ctx, path, opts)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := db.Bootstrap(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}})
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "second", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	custom, customSecret, err := db.CreateApplication(ctx, DefaultTenant, ApplicationCreate{Name: "custom", Type: AppMachineToMachine})
	if err != nil {
		t.Fatal(err)
	}
	scopeID := writeLegacySystemAccess(t, db, creds.ClientID, second.ID)
	customRole, err := db.CreateRole(ctx, DefaultTenant, RoleCreate{Name: "custom", Type: RoleMachineToMachine, ScopeIDs: []string{scopeID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AssignApplicationRoles(ctx, DefaultTenant, custom.ID, []string{customRole.ID}, false); err != nil {
		t.Fatal(err)
	}
	orgRole, err := db.CreateOrganizationRole(ctx, DefaultTenant, OrganizationRoleCreate{Name: "o", Type: RoleMachineToMachine,
		ResourceScopeIDs: []string{scopeID}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("owner")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SetManager(ctx, DefaultTenant, ManagerScope{ResourceID: SystemResourceID}, u.ID, []string{"PROJECT_OWNER"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	want := []string{creds.ClientID, second.ID}
	slices.Sort(want)
	for open := 1; open <= 2; open++ {
		db, err := Open(ctx, path, opts)
		if err != nil {
			t.Fatalf("open %d: %v", open, err)
		}
		admins, total, err := db.FindSystemAdmins(ctx, pagination.Params{Page: 1, PageSize: 20})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range admins {
			got = append(got, a.ApplicationID)
		}
		if !slices.Equal(got, want) || total != 2 {
			t.Errorf("open %d: admins %v (total %d), want %v", open, got, total, want)
		}
		if _, err := db.FindResourceByID(ctx, DefaultTenant, SystemResourceID); ErrorCode(err) != ENOTFOUND {
			t.Errorf("open %d: system resource: %v", open, err)
		}
		roles, _, err := db.FindRoles(ctx, DefaultTenant, RoleFilter{}, pagination.Params{Page: 1, PageSize: 20})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles {
			if r.Name == legacySystemRole {
				t.Errorf("open %d: role %q is still there", open, r.Name)
			}
		}
		if scopes, _, err := db.FindRoleScopes(ctx, DefaultTenant, customRole.ID, search.Query{}, pagination.Params{Page: 1, PageSize: 20}); err != nil || len(scopes) != 0 {
			t.Errorf("open %d: custom role's scopes %v, %v", open, scopes, err)
		}
		if scopes, _, err := db.FindOrganizationRoleResourceScopes(ctx, DefaultTenant, orgRole.ID, pagination.Params{Page: 1, PageSize: 20}); err != nil || len(scopes) != 0 {
			t.Errorf("open %d: organization role's resource scopes %v, %v", open, scopes, err)
		}
		if ms, err := db.FindUserManagerRoles(ctx, DefaultTenant, u.ID); err != nil || len(ms) != 0 {
			t.Errorf("open %d: manager roles %v, %v", open, ms, err)
		}
		// The custom role's holder was never an administrator.
		_, err = db.GrantClientCredentials(ctx, DefaultTenant, ClientGrantRequest{ClientID: custom.ID, Secret: customSecret,
			Resource: SystemIndicator, Scopes: []string{"all"}})
		if ErrorCode(err) != EINVALID {
			t.Errorf("open %d: system grant of the custom role's holder: %v", open, err)
		}
		if err := db.CheckIntegrity(ctx); err != nil {
			t.Errorf("open %d: %v", open, err)
		}
		db.Close()
	}
}
