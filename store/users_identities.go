package store

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
)

// A user's identities are its accounts at other providers, by target (the
// provider: "github", "google", ...), as Logto keeps them:
// {"<target>": {"userId": "<id at the provider>", "details": {...}}}. idbolt
// has no social sign-in, so they are data only, written through the
// Management API (a migration, an admin portal linking accounts). An
// external id is held by one user per target in a tenant: users_by_identity
// maps "<target>\x00<external id>" to the user, which makes "the user with
// GitHub id X" one lookup (UserFilter search on identities.<target>).

var bucketUsersByIdentity = []byte("users_by_identity")

// Bounds of an identity, in bytes.
const (
	maxIdentityUserID  = 512
	maxIdentityDetails = 16 << 10
)

// identityTargetRE is what a target may be: a connector target's
// characters (it is a path segment and half of an index key).
var identityTargetRE = regexp.MustCompile(`^[A-Za-z0-9._:@-]{1,128}$`)

// UserIdentity is one of a user's identities.
type UserIdentity struct {
	// UserID is the user's id at the provider.
	UserID string
	// Details is what the provider said of the user (any JSON object), or
	// nil.
	Details map[string]any
}

// identityOf reads r's identity at target, if it has a well-formed one.
func (r *userRecord) identityOf(target string) (UserIdentity, bool) {
	m, ok := r.Identities[target].(map[string]any)
	if !ok {
		return UserIdentity{}, false
	}
	id, ok := m["userId"].(string)
	if !ok || id == "" {
		return UserIdentity{}, false
	}
	details, _ := m["details"].(map[string]any)
	return UserIdentity{UserID: id, Details: details}, true
}

// identityKeys returns r's keys in users_by_identity, sorted.
func (r *userRecord) identityKeys() [][]byte {
	var keys [][]byte
	for _, target := range slices.Sorted(maps.Keys(r.Identities)) {
		if ident, ok := r.identityOf(target); ok {
			keys = append(keys, identityKey(target, ident.UserID))
		}
	}
	return keys
}

func identityKey(target, externalID string) []byte {
	return append(append([]byte(target), 0), externalID...)
}

func errIdentityNotFound(target string) error {
	return detailErrorf(ENOTFOUND, "user.identity_not_exist", "The user has no %s identity.", target)
}

// checkIdentityTarget validates a target.
func checkIdentityTarget(target string) error {
	if !identityTargetRE.MatchString(target) {
		return fieldError("target", "must be 1 to 128 letters, digits or . _ : @ -")
	}
	return nil
}

// SetUserIdentity links user id's identity at target to ident, replacing
// the one it had there, and returns the user's identities and whether the
// identity is new. Returns EINVALID, ENOTFOUND, or EUNPROCESSABLE
// (user.identity_already_in_use) when another user holds ident.UserID at
// target.
func (db *DB) SetUserIdentity(ctx context.Context, tenant, id, target string, ident UserIdentity) (map[string]any, bool, error) {
	if err := checkIdentityTarget(target); err != nil {
		return nil, false, err
	}
	if ident.UserID == "" || len(ident.UserID) > maxIdentityUserID {
		return nil, false, fieldError("userId", "must be 1 to %d bytes", maxIdentityUserID)
	}
	value := map[string]any{"userId": ident.UserID}
	if ident.Details != nil {
		if data, err := json.Marshal(ident.Details); err != nil || len(data) > maxIdentityDetails {
			return nil, false, fieldError("details", "must be a JSON object of at most %d bytes", maxIdentityDetails)
		}
		value["details"] = ident.Details
	}
	var out map[string]any
	var created bool
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		byIdentity, err := tx.bucket(bucketUsersByIdentity)
		if err != nil {
			return err
		}
		key := identityKey(target, ident.UserID)
		if owner := byIdentity.Get(key); owner != nil && string(owner) != old.ID {
			return detailErrorf(EUNPROCESSABLE, "user.identity_already_in_use",
				"Another user holds the %s identity %q.", target, ident.UserID)
		}
		r := *old
		prev, had := old.identityOf(target)
		if had {
			if err := byIdentity.Delete(identityKey(target, prev.UserID)); err != nil {
				return err
			}
		}
		r.Identities = maps.Clone(old.Identities)
		if r.Identities == nil {
			r.Identities = map[string]any{}
		}
		r.Identities[target] = value
		r.UpdatedAt = msec(tx.now)
		if err := byIdentity.Put(key, []byte(r.ID)); err != nil {
			return err
		}
		if err := putUser(tx, &r); err != nil {
			return err
		}
		out, created = r.toUser().Identities, !had
		return tx.audit("Management.User.UpdateIdentity", AuditPayload{UserID: r.ID, Params: map[string]string{"target": target}})
	})
	return out, created, err
}

// FindUserIdentity returns user id's identity at target. Returns ENOTFOUND
// (user.identity_not_exist for a user without one).
func (db *DB) FindUserIdentity(ctx context.Context, tenant, id, target string) (UserIdentity, error) {
	var out UserIdentity
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		ident, ok := r.identityOf(target)
		if !ok {
			return errIdentityNotFound(target)
		}
		out = ident
		return nil
	})
	return out, err
}

// TargetedIdentity is an identity with its target.
type TargetedIdentity struct {
	Target string
	UserIdentity
}

// FindUserIdentities returns user id's identities, by target. Returns
// ENOTFOUND.
func (db *DB) FindUserIdentities(ctx context.Context, tenant, id string) ([]TargetedIdentity, error) {
	var out []TargetedIdentity
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		for _, target := range slices.Sorted(maps.Keys(r.Identities)) {
			if ident, ok := r.identityOf(target); ok {
				out = append(out, TargetedIdentity{Target: target, UserIdentity: ident})
			}
		}
		return nil
	})
	return out, err
}

// DeleteUserIdentity unlinks user id's identity at target and returns the
// user. Returns ENOTFOUND (user.identity_not_exist for a user without one)
// or EUNPROCESSABLE for an API client's user.
func (db *DB) DeleteUserIdentity(ctx context.Context, tenant, id, target string) (*User, error) {
	var out *User
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		prev, ok := old.identityOf(target)
		if !ok {
			return errIdentityNotFound(target)
		}
		byIdentity, err := tx.bucket(bucketUsersByIdentity)
		if err != nil {
			return err
		}
		if err := byIdentity.Delete(identityKey(target, prev.UserID)); err != nil {
			return err
		}
		r := *old
		r.Identities = maps.Clone(old.Identities)
		delete(r.Identities, target)
		r.UpdatedAt = msec(tx.now)
		if err := putUser(tx, &r); err != nil {
			return err
		}
		out = r.toUser()
		return tx.audit("Management.User.DeleteIdentity", AuditPayload{UserID: r.ID, Params: map[string]string{"target": target}})
	})
	return out, err
}

// putUser stores r at its sequence number.
func putUser(tx *Tx, r *userRecord) error {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	return putUserRecord(users, r)
}

// deleteUserIdentities removes r's entries from users_by_identity.
func deleteUserIdentities(tx *Tx, r *userRecord) error {
	keys := r.identityKeys()
	if len(keys) == 0 {
		return nil
	}
	byIdentity, err := tx.bucket(bucketUsersByIdentity)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := byIdentity.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// identities checks users_by_identity against the users' identities: one
// entry per identity, pointing at its user, and nothing else.
func (c *integrityCheck) identities() error {
	users, err := c.tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	byIdentity, err := c.tx.bucket(bucketUsersByIdentity)
	if err != nil {
		return err
	}
	n := 0
	if err := users.ForEach(func(k, v []byte) error {
		r, err := decodeUserRecord(k, v)
		if err != nil {
			return nil // users() reports it
		}
		for _, key := range r.identityKeys() {
			n++
			if owner := byIdentity.Get(key); string(owner) != r.ID {
				c.report("user %s: identity %q is indexed to %q", r.ID, key, owner)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if got := byIdentity.Stats().KeyN; got != n {
		c.report("users_by_identity holds %d entries for %d identities", got, n)
	}
	return nil
}
