package store

import (
	"cmp"
	"context"
	"slices"
)

// AdminReset is the result of ResetAdminCredentials: the admin
// application's new credentials, shown once.
type AdminReset struct {
	TenantCredentials
	// Created is set when the tenant had no admin application left and a
	// new one was made with the same rights.
	Created bool
}

// adminResetName names the one secret a reset leaves the application.
const adminResetName = "Default secret"

// ResetAdminCredentials is the recovery of a tenant whose admin credentials
// are lost: it gives the tenant's admin application one new secret and
// revokes its others, which may be what leaked. The admin application is the
// one the tenant was created with, or the oldest that took its place: of
// tenant default, the oldest machine-to-machine instance administrator; of
// another tenant, the oldest machine-to-machine application holding the
// built-in "Logto Management API access" role (API clients' applications
// excepted, their secrets are managed with the client). The application gets
// that role back if it lost it. When there is none, a new "Tenant admin"
// application is made with the same rights as the first (the role and, for
// tenant default, instance administration).
//
// It is meant for the idbolt admin reset-credentials command, on a data file
// no server holds; the change is audited (System.Admin.ResetCredentials)
// with ctx's actor. Returns ENOTFOUND for an unknown tenant.
func (db *DB) ResetAdminCredentials(ctx context.Context, tenant string) (*AdminReset, error) {
	secret := NewSecret()
	hash := db.hashSecret(secret)
	var out *AdminReset
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := readTenantRecord(tx); err != nil {
			return err
		}
		roleID, err := findManagementRole(tx)
		if err != nil {
			return err
		}
		app, err := findAdminApp(tx, roleID)
		if err != nil {
			return err
		}
		now := msec(tx.now)
		created := app == nil
		if created {
			app = &appRecord{ID: newID(21), Name: "Tenant admin", Type: AppMachineToMachine, CreatedAt: now}
		}
		s := secretRecord{Name: adminResetName, Hash: hash, CreatedAt: now}
		if s.Sealed, err = sealIfReadable(tx, app.ID, secret, hash); err != nil {
			return err
		}
		app.Secrets = []secretRecord{s}
		if created {
			err = putApp(tx, app)
		} else {
			err = appsTable.update(tx, app.ID, app)
		}
		if err != nil {
			return err
		}
		if _, err := relAppRoles.link(tx, app.ID, roleID); err != nil {
			return err
		}
		if tx.tenant == DefaultTenant {
			if ok, err := isSystemAdmin(tx, app.ID); err != nil {
				return err
			} else if !ok {
				if err := putSystemAdmin(tx, app.ID); err != nil {
					return err
				}
			}
		}
		out = &AdminReset{TenantCredentials: TenantCredentials{ClientID: app.ID, ClientSecret: secret}, Created: created}
		return tx.auditTarget("System.Admin.ResetCredentials", "application", app.ID)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// findAdminApp returns the application ResetAdminCredentials resets, or nil
// when the tenant has none: of tenant default the oldest instance
// administrator, else (and of another tenant) the oldest holder of the
// management role.
func findAdminApp(tx *Tx, roleID string) (*appRecord, error) {
	if tx.tenant == DefaultTenant {
		b, err := systemAdminsBucket(tx)
		if err != nil {
			return nil, err
		}
		var ids []string
		if err := b.ForEach(func(k, _ []byte) error {
			ids = append(ids, string(k))
			return nil
		}); err != nil {
			return nil, err
		}
		if app, err := oldestAdminApp(tx, ids); app != nil || err != nil {
			return app, err
		}
	}
	ids, err := relAppRoles.inverse().list(tx, roleID)
	if err != nil {
		return nil, err
	}
	return oldestAdminApp(tx, ids)
}

// oldestAdminApp returns the oldest of applications ids that can be an
// admin application, or nil when none can.
func oldestAdminApp(tx *Tx, ids []string) (*appRecord, error) {
	var candidates []*appRecord
	for _, id := range ids {
		if ok, err := apiClientsTable.exists(tx, id); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		app, err := findApp(tx, id)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if app.Type == AppMachineToMachine {
			candidates = append(candidates, app)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	return slices.MinFunc(candidates, func(a, b *appRecord) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.ID, b.ID))
	}), nil
}
