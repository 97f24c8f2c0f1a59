package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// Instance administration lives outside every tenant's role model: the
// root bucket system_admins lists the applications of tenant default that
// may get a system token (resource SystemIndicator). No /api route reads or
// writes it, so no tenant role, scope, manager role or organization role can
// reach it; only the system API and the first start add administrators.

// SystemAdmin is an instance administrator: a machine-to-machine application
// of tenant default that may get tokens for the system API.
type SystemAdmin struct {
	ApplicationID string
	// Name is the application's current name.
	Name string
	// CreatedAt is when the application became an administrator (epoch ms).
	CreatedAt int64
}

// systemAdminRecord is the value of system_admins/<application id>.
type systemAdminRecord struct {
	CreatedAt int64 `json:"ca"`
}

// systemAdminsBucket returns the root bucket of instance administrators. Its
// absence means the file was not opened by this version, an internal error.
func systemAdminsBucket(tx *Tx) (*kv.Bucket, error) {
	b := tx.tx.Bucket(bucketSystemAdmins)
	if b == nil {
		return nil, fmt.Errorf("missing bucket %s", bucketSystemAdmins)
	}
	return b, nil
}

// isSystemAdmin reports whether application id is an instance administrator.
// tx must be bound to tenant default.
func isSystemAdmin(tx *Tx, id string) (bool, error) {
	if tx.tenant != DefaultTenant {
		return false, nil
	}
	b, err := systemAdminsBucket(tx)
	if err != nil {
		return false, err
	}
	return b.Get([]byte(id)) != nil, nil
}

// putSystemAdmin makes application id of tenant default an instance
// administrator.
func putSystemAdmin(tx *Tx, id string) error {
	if tx.tenant != DefaultTenant {
		// The entry names an app of tenant default; any other would
		// make a stranger with the same id an administrator.
		return fmt.Errorf("instance administrator %q of tenant %s: only tenant default has them", id, tx.tenant)
	}
	b, err := systemAdminsBucket(tx)
	if err != nil {
		return err
	}
	data, err := json.Marshal(systemAdminRecord{CreatedAt: msec(tx.now)})
	if err != nil {
		return err
	}
	return b.Put([]byte(id), data)
}

// refuseLastSystemAdmin returns EUNPROCESSABLE (system.last_admin) when
// application id is the only instance administrator, so that no request
// leaves the instance without one. It writes nothing, so callers run it
// before their first write.
func refuseLastSystemAdmin(tx *Tx, id string) error {
	if ok, err := isSystemAdmin(tx, id); err != nil || !ok {
		return err
	}
	b, err := systemAdminsBucket(tx)
	if err != nil {
		return err
	}
	c := b.Cursor()
	if k, _ := c.First(); k != nil {
		if k, _ := c.Next(); k != nil {
			return nil
		}
	}
	return detailErrorf(EUNPROCESSABLE, "system.last_admin",
		"Application %q is the last instance administrator; add another one through POST /system/admins first.", id)
}

// refuseSystemAdminChange refuses, through the Management API, a change of
// an instance administrator's application that is instance administration:
// a new secret would be a system credential made by a tenant admin; a
// removed secret, a disabled client or a deleted application would remove an
// administrator, which only the system API may do. Its credentials are
// rotated by making another application an administrator and removing this
// one. It writes nothing. Returns EUNPROCESSABLE
// (application.instance_administrator).
func refuseSystemAdminChange(tx *Tx, id string) error {
	if ok, err := isSystemAdmin(tx, id); err != nil || !ok {
		return err
	}
	return detailErrorf(EUNPROCESSABLE, "application.instance_administrator",
		"Application %q is an instance administrator, so its credentials cannot be changed and it cannot be deleted through the Management API. "+
			"To rotate them, make a new application an instance administrator (POST /system/admins) and remove this one "+
			"(DELETE /system/admins/{applicationId}).", id)
}

// dropSystemAdmin removes application id's administrator entry, if any. The
// caller has checked refuseLastSystemAdmin.
func dropSystemAdmin(tx *Tx, id string) error {
	if ok, err := isSystemAdmin(tx, id); err != nil || !ok {
		return err
	}
	b, err := systemAdminsBucket(tx)
	if err != nil {
		return err
	}
	return b.Delete([]byte(id))
}

// FindSystemAdmins returns one page of instance administrators in
// application id order and their number.
func (db *DB) FindSystemAdmins(ctx context.Context, p pagination.Params) ([]*SystemAdmin, int, error) {
	out := []*SystemAdmin{}
	var total int
	err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
		b, err := systemAdminsBucket(tx)
		if err != nil {
			return err
		}
		emit := func(k, v []byte) error {
			a, err := toSystemAdmin(tx, string(k), v)
			if err != nil {
				return err
			}
			out = append(out, a)
			return nil
		}
		total, err = pagination.Walk(ctx, b.Cursor(), p, nil, emit)
		return err
	})
	return out, total, err
}

// toSystemAdmin decodes administrator id's entry and joins its application.
func toSystemAdmin(tx *Tx, id string, v []byte) (*SystemAdmin, error) {
	var r systemAdminRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode system admin %q: %w", id, err)
	}
	app, err := findApp(tx, id)
	if err != nil {
		return nil, fmt.Errorf("system admin %q: %w", id, err) // CheckIntegrity reports this
	}
	return &SystemAdmin{ApplicationID: id, Name: app.Name, CreatedAt: r.CreatedAt}, nil
}

// AddSystemAdmin makes machine-to-machine application id of tenant default
// an instance administrator and writes System.Admin.Create to tenant
// default's audit log. Returns EUNPROCESSABLE with
// entity.relation_foreign_key_not_found for an unknown application,
// system.admin_invalid_application_type for one of another type, and
// system.admin_already_exists when it already is one.
func (db *DB) AddSystemAdmin(ctx context.Context, id string) (*SystemAdmin, error) {
	var out *SystemAdmin
	err := db.Update(ctx, DefaultTenant, func(tx *Tx) error {
		app, err := findApp(tx, id)
		if err != nil {
			return fk(err)
		}
		if app.Type != AppMachineToMachine {
			return detailErrorf(EUNPROCESSABLE, "system.admin_invalid_application_type",
				"Only a MachineToMachine application can be an instance administrator.")
		}
		if ok, err := isSystemAdmin(tx, id); err != nil {
			return err
		} else if ok {
			return detailErrorf(EUNPROCESSABLE, "system.admin_already_exists",
				"Application %q is already an instance administrator.", id)
		}
		if err := putSystemAdmin(tx, id); err != nil {
			return err
		}
		out = &SystemAdmin{ApplicationID: id, Name: app.Name, CreatedAt: msec(tx.now)}
		return tx.auditTarget("System.Admin.Create", "application", id)
	})
	return out, err
}

// RemoveSystemAdmin ends application id's instance administration (its
// system tokens stop working at once) and writes System.Admin.Delete to
// tenant default's audit log. The application itself stays. Returns
// ENOTFOUND when it is no administrator, EUNPROCESSABLE (system.last_admin)
// for the last one.
func (db *DB) RemoveSystemAdmin(ctx context.Context, id string) error {
	return db.Update(ctx, DefaultTenant, func(tx *Tx) error {
		if ok, err := isSystemAdmin(tx, id); err != nil {
			return err
		} else if !ok {
			return notFound("system administrator", id)
		}
		if err := refuseLastSystemAdmin(tx, id); err != nil {
			return err
		}
		if err := dropSystemAdmin(tx, id); err != nil {
			return err
		}
		return tx.auditTarget("System.Admin.Delete", "application", id)
	})
}

// SystemAdminActive reports whether a system token of application clientID
// issued at issuedAt may still call the system API: the application is an
// instance administrator now and is active (ClientActive). The system API
// asks on every request, so that removing an administrator stops its
// tokens at once.
func (db *DB) SystemAdminActive(ctx context.Context, clientID string, issuedAt time.Time) (bool, error) {
	var ok bool
	err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
		var err error
		if ok, err = isSystemAdmin(tx, clientID); err != nil || !ok {
			return err
		}
		ok, err = clientActive(tx, clientID, issuedAt)
		return err
	})
	return ok, err
}

// systemGrant resolves a client_credentials request for the system
// resource: only an instance administrator, authenticated in tenant default,
// gets a token, with the requested scopes ∩ {all}. Anyone else is told the
// resource is unknown (oidc.invalid_target), as for any resource they cannot
// see.
func systemGrant(tx *Tx, app *appRecord, requested []string) (*ClientGrant, error) {
	if ok, err := isSystemAdmin(tx, app.ID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errUnknownTarget()
	}
	scopes := []string{}
	for _, s := range requested {
		if s == ManagementScope {
			scopes = append(scopes, s)
			break
		}
	}
	res := &Resource{ID: SystemResourceID, Name: "idbolt instance administration", Indicator: SystemIndicator,
		AccessTokenTTL: DefaultAccessTokenTTL, ReadOnly: true}
	return &ClientGrant{App: app.toApplication(), Resource: res, Scopes: scopes}, nil
}

// errUnknownTarget is the token endpoint's answer for a resource indicator
// the client cannot get a token for.
func errUnknownTarget() *Error {
	return detailErrorf(EINVALID, "oidc.invalid_target", "resource indicator is missing, or unknown")
}

// checkSystemAdmins reports every instance administrator that is not a
// machine-to-machine application of tenant default (tx).
func checkSystemAdmins(tx *Tx, report func(format string, args ...any)) error {
	b, err := systemAdminsBucket(tx)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		var r systemAdminRecord
		if err := json.Unmarshal(v, &r); err != nil {
			report("system admin %q: undecodable entry: %v", k, err)
			return nil
		}
		app, err := findApp(tx, string(k))
		if ErrorCode(err) == ENOTFOUND {
			report("system admin %q: no such application in tenant default", k)
			return nil
		} else if err != nil {
			return err
		}
		if app.Type != AppMachineToMachine {
			report("system admin %q: application of type %s", k, app.Type)
		}
		return nil
	})
}

// upgradeSystemAdmins moves instance administration out of tenant default's
// role model (format 1, db_migrate.go), on a file written before the
// system_admins bucket existed: every application holding the old built-in role (a read-only
// role with a scope of resource SystemResourceID) becomes an administrator,
// then that role and the resource with its scopes are deleted with every
// relation to them, so no /api route can reach them any more.
func (db *DB) upgradeSystemAdmins(btx *kv.Tx) error {
	if btx.Bucket(bucketSystemAdmins) != nil {
		return nil
	}
	if _, err := btx.CreateBucket(bucketSystemAdmins); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucketSystemAdmins, err)
	}
	if btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)) == nil {
		return nil // a new file
	}
	tx, err := db.bind(btx, DefaultTenant)
	if err != nil {
		return err
	}
	res, err := findResource(tx, SystemResourceID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	scopes, err := resourceScopes(tx, res.ID)
	if err != nil {
		return err
	}
	var builtin []*roleRecord
	seen := map[string]bool{}
	for _, s := range scopes {
		roleIDs, err := relRoleScopes.inverse().list(tx, s.ID)
		if err != nil {
			return err
		}
		for _, id := range roleIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			r, err := findRole(tx, id)
			if err != nil {
				return err
			}
			if r.ReadOnly {
				builtin = append(builtin, r)
			}
		}
	}
	for _, r := range builtin {
		apps, err := relAppRoles.inverse().list(tx, r.ID)
		if err != nil {
			return err
		}
		for _, app := range apps {
			if err := putSystemAdmin(tx, app); err != nil {
				return err
			}
		}
		if err := deleteRoleRecord(tx, r); err != nil {
			return err
		}
	}
	return deleteResourceRecord(tx, res)
}
