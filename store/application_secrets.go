package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// secretsOf returns app's secrets without their hashes.
func secretsOf(app *appRecord) []AppSecret {
	out := make([]AppSecret, len(app.Secrets))
	for i, s := range app.Secrets {
		out[i] = AppSecret{ApplicationID: app.ID, Name: s.Name, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return out
}

// readableSecretsOf returns app's secrets with the values of those that
// keep one sealed, when the tenant's readableApplicationSecrets switch is
// on; otherwise it is secretsOf.
func readableSecretsOf(tx *Tx, app *appRecord) ([]AppSecret, error) {
	out := secretsOf(app)
	t, err := readTenantRecord(tx)
	if err != nil || !t.ReadableSecrets {
		return out, err
	}
	for i, s := range app.Secrets {
		if len(s.Sealed) == 0 {
			continue // made before the switch was on: hash only
		}
		value, err := tx.db.sealer.open(s.Sealed, appSecretAD(tx.tenant, app.ID, s.Hash))
		if err != nil {
			return nil, fmt.Errorf("application %s: secret %q: %w", app.ID, s.Name, err)
		}
		out[i].Value = string(value)
	}
	return out, nil
}

// sealIfReadable returns value sealed for application appID when the
// tenant's readableApplicationSecrets switch is on, and nil otherwise.
func sealIfReadable(tx *Tx, appID, value string, hash []byte) ([]byte, error) {
	t, err := readTenantRecord(tx)
	if err != nil || !t.ReadableSecrets {
		return nil, err
	}
	return tx.db.sealer.seal([]byte(value), appSecretAD(tx.tenant, appID, hash))
}

// dropSealedSecrets deletes the sealed value of every application secret of
// the tenant, leaving the hashes: the secrets keep working and are never
// shown again.
func dropSealedSecrets(tx *Tx) error {
	apps, err := tx.bucket(bucketApps)
	if err != nil {
		return err
	}
	changed := map[string]*appRecord{} // bbolt forbids puts while ForEach walks
	err = apps.ForEach(func(k, v []byte) error {
		var r appRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode application %s: %w", k, err)
		}
		for i := range r.Secrets {
			if r.Secrets[i].Sealed != nil {
				r.Secrets[i].Sealed = nil
				changed[string(k)] = &r
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, r := range changed {
		if err := appsTable.update(tx, id, r); err != nil {
			return err
		}
	}
	return nil
}

func (app *appRecord) secretIndex(name string) int {
	for i, s := range app.Secrets {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func validateSecretName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > maxShortField || !utf8.ValidString(name) {
		return fieldError("name", "must be 1 to %d characters", maxShortField)
	}
	// The name is a path segment of the rename and delete routes, which the
	// router matches on the decoded path: a secret named "a/b" could never be
	// renamed or deleted.
	if strings.Contains(name, "/") {
		return fieldError("name", "must not contain /")
	}
	return checkName("name", &name)
}

func secretNotFound(name string) *Error {
	return detailErrorf(ENOTFOUND, "entity.not_found", "The application has no secret named %q.", name)
}

// FindApplicationSecrets lists the secrets of application id: names and
// dates, and the values of those made while the tenant's
// readableApplicationSecrets switch was on, if it still is. Returns
// ENOTFOUND.
func (db *DB) FindApplicationSecrets(ctx context.Context, tenant, id string) ([]AppSecret, error) {
	var out []AppSecret
	err := db.View(ctx, tenant, func(tx *Tx) error {
		app, err := findApp(tx, id)
		if err != nil {
			return err
		}
		out, err = readableSecretsOf(tx, app)
		return err
	})
	return out, err
}

// CreateApplicationSecret adds a secret to application id and returns it
// with its value, which is stored only as a hash and cannot be read again,
// unless the tenant's readableApplicationSecrets switch is on: then it is
// also kept sealed under the master key. expiresAt, in
// milliseconds since the epoch, must lie in the future. Several secrets are
// valid at once, which is how a secret is rotated without downtime.
//
// Returns ENOTFOUND; EINVALID for a bad name or expiry; EUNPROCESSABLE for a
// public client (Native, SPA), a name in use (application.secret_name_exists),
// too many secrets, or an instance administrator's application
// (application.instance_administrator: a tenant admin must not mint system
// credentials).
func (db *DB) CreateApplicationSecret(ctx context.Context, tenant, id, name string, expiresAt *int64) (*AppSecret, string, error) {
	if err := validateSecretName(name); err != nil {
		return nil, "", err
	}
	value := NewSecret()
	hash := db.hashSecret(value)
	var out *AppSecret
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		app, err := findEditableApp(tx, id)
		if err != nil {
			return err
		}
		if err := refuseSystemAdminChange(tx, id); err != nil {
			return err
		}
		now := msec(tx.now)
		switch {
		case expiresAt != nil && *expiresAt <= now:
			return &Error{Code: EINVALID, Detail: "request.invalid_input", Field: "expiresAt",
				Message: "expiresAt: the value of `expiresAt` must be in the future."}
		case !hasSecrets(app.Type):
			return detailErrorf(EUNPROCESSABLE, "application.invalid_type",
				"%s applications are public clients and cannot hold secrets.", app.Type)
		case app.secretIndex(name) >= 0:
			return detailErrorf(ECONFLICT, "application.secret_name_exists", "Secret name already exists.")
		case len(app.Secrets) >= maxSecrets:
			return detailErrorf(EUNPROCESSABLE, "application.secret_limit_reached",
				"An application holds at most %d secrets; delete one first.", maxSecrets)
		}
		s := secretRecord{Name: name, Hash: hash, CreatedAt: now, ExpiresAt: expiresAt}
		if s.Sealed, err = sealIfReadable(tx, id, value, hash); err != nil {
			return err
		}
		app.Secrets = append(app.Secrets, s)
		if err := appsTable.update(tx, id, app); err != nil {
			return err
		}
		out = &AppSecret{ApplicationID: id, Name: name, CreatedAt: now, ExpiresAt: expiresAt}
		return tx.auditTarget("Management.Application.Secret.Create", "application", id)
	})
	if err != nil {
		return nil, "", err
	}
	return out, value, nil
}

// RenameApplicationSecret renames secret name of application id. Returns
// ENOTFOUND, EINVALID, or ECONFLICT when newName is taken.
func (db *DB) RenameApplicationSecret(ctx context.Context, tenant, id, name, newName string) (*AppSecret, error) {
	if err := validateSecretName(newName); err != nil {
		return nil, err
	}
	var out *AppSecret
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		app, err := findEditableApp(tx, id)
		if err != nil {
			return err
		}
		i := app.secretIndex(name)
		if i < 0 {
			return secretNotFound(name)
		}
		if j := app.secretIndex(newName); j >= 0 && j != i {
			return detailErrorf(ECONFLICT, "application.secret_name_exists", "Secret name already exists.")
		}
		app.Secrets[i].Name = newName
		if err := appsTable.update(tx, id, app); err != nil {
			return err
		}
		s := secretsOf(app)[i]
		out = &s
		return tx.auditTarget("Management.Application.Secret.Update", "application", id)
	})
	return out, err
}

// DeleteApplicationSecret revokes secret name of application id at once.
// Returns ENOTFOUND, or EUNPROCESSABLE (application.instance_administrator)
// for an instance administrator's application.
func (db *DB) DeleteApplicationSecret(ctx context.Context, tenant, id, name string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		app, err := findEditableApp(tx, id)
		if err != nil {
			return err
		}
		if err := refuseSystemAdminChange(tx, id); err != nil {
			return err
		}
		i := app.secretIndex(name)
		if i < 0 {
			return secretNotFound(name)
		}
		app.Secrets = append(app.Secrets[:i], app.Secrets[i+1:]...)
		if err := appsTable.update(tx, id, app); err != nil {
			return err
		}
		return tx.auditTarget("Management.Application.Secret.Delete", "application", id)
	})
}
