package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A user's password state is what Logto keeps in passwordUpdatedAt and
// isPasswordExpired. It lives in a bucket of its own, keyed by user id, so
// that the user record's format stays as it is; a user has an entry once a
// password is set through PATCH /api/users/{id}/password or the password
// is marked expired or not. A user without one set their password when they
// were created (or has none), so createdAt is their passwordUpdatedAt.

// bucketPasswordState holds passwordStateRecords (declared in tenantSchema).
var bucketPasswordState = []byte("user_password_state")

// passwordStateRecord is one user's password state.
type passwordStateRecord struct {
	// UpdatedAt is when the password was last set (epoch ms); 0 when it was
	// set at creation.
	UpdatedAt int64 `json:"u,omitempty"`
	// Expired is Logto's isPasswordExpired: marked by an administrator,
	// cleared by a new password.
	Expired bool `json:"x,omitempty"`
}

func readPasswordState(tx *Tx, userID string) (passwordStateRecord, error) {
	b, err := tx.bucket(bucketPasswordState)
	if err != nil {
		return passwordStateRecord{}, err
	}
	var r passwordStateRecord
	if v := b.Get([]byte(userID)); v != nil {
		if err := json.Unmarshal(v, &r); err != nil {
			return r, fmt.Errorf("decode password state of %s: %w", userID, err)
		}
	}
	return r, nil
}

// putPasswordState writes user userID's password state; the zero state is
// no entry.
func putPasswordState(tx *Tx, userID string, r passwordStateRecord) error {
	b, err := tx.bucket(bucketPasswordState)
	if err != nil {
		return err
	}
	if r == (passwordStateRecord{}) {
		return b.Delete([]byte(userID))
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put([]byte(userID), v)
}

// deletePasswordState removes user userID's password state, with the user.
func deletePasswordState(tx *Tx, userID string) error {
	b, err := tx.bucket(bucketPasswordState)
	if err != nil {
		return err
	}
	return b.Delete([]byte(userID))
}

// passwordExpired reports whether user r's password has expired under the
// tenant's policy: marked expired, or older than the policy's period. The
// period runs from the last change of the password or, for a password older
// than the policy, from when the policy was turned on, so that turning it on
// never expires every password at once.
func passwordExpired(tx *Tx, r *userRecord) (bool, error) {
	sie, err := readSignInExp(tx)
	if err != nil || !sie.passwordExpirationOn() {
		return false, err
	}
	state, err := readPasswordState(tx, r.ID)
	if err != nil {
		return false, err
	}
	since := state.UpdatedAt
	if since == 0 {
		since = r.CreatedAt
	}
	since = max(since, sie.PE.EnabledAt)
	const day = 24 * time.Hour
	return state.Expired || msec(tx.now) >= since+sie.PE.Days*day.Milliseconds(), nil
}

// SetUserPasswordExpired marks user id's password expired or not, as
// Logto's PATCH /api/users/{id}/password/expiration, and returns the user.
// Returns ENOTFOUND, EUNPROCESSABLE for a service account's user, and
// EINVALID (sign_in_experiences.password_expiration_not_enabled) when
// expired is true while the tenant's password expiration policy is off:
// Logto lets anyone clear the mark at any time.
func (db *DB) SetUserPasswordExpired(ctx context.Context, tenant, id string, expired bool) (*User, error) {
	var out *User
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		sie, err := readSignInExp(tx)
		if err != nil {
			return err
		}
		if expired && !sie.passwordExpirationOn() {
			return detailErrorf(EINVALID, "sign_in_experiences.password_expiration_not_enabled",
				"Password expiration policy is not enabled. Enable it in the sign-in experience settings before expiring passwords.")
		}
		state, err := readPasswordState(tx, id)
		if err != nil {
			return err
		}
		state.Expired = expired
		if err := putPasswordState(tx, id, state); err != nil {
			return err
		}
		// Logto's users table stamps updated_at on every update.
		r := *old
		r.UpdatedAt = msec(tx.now)
		if err := putUser(tx, &r); err != nil {
			return err
		}
		out = r.toUser()
		return tx.audit("Management.User.UpdatePasswordExpiration", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// passwordStates is the integrity check of user_password_state: every
// entry decodes and belongs to a user.
func (c *integrityCheck) passwordStates() error {
	b, err := c.tx.bucket(bucketPasswordState)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		var r passwordStateRecord
		if err := json.Unmarshal(v, &r); err != nil {
			c.report("password state of %q does not decode: %v", k, err)
			return nil
		}
		if _, err := findUserRecord(c.tx, string(k)); ErrorCode(err) == ENOTFOUND {
			c.report("password state of %q: no such user", k)
		} else if err != nil {
			return err
		}
		return nil
	})
}
