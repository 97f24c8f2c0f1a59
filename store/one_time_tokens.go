package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idbolt/idbolt/pagination"
)

// One-time token statuses, as Logto names them. Only an active token
// verifies; the others are final.
const (
	OneTimeTokenActive   = "active"
	OneTimeTokenConsumed = "consumed"
	OneTimeTokenRevoked  = "revoked"
	OneTimeTokenExpired  = "expired"
)

// Bounds of a one-time token's life, in seconds: Logto's default, and the
// longest idbolt accepts (a token is a credential; a year is already long).
const (
	OneTimeTokenDefaultTTL = 600
	oneTimeTokenMaxTTL     = 365 * 24 * 3600
)

// oneTimeTokenLength is the length of a token's value: Logto's 32
// characters, here of [0-9a-z], 165 bits.
const oneTimeTokenLength = 32

// Buckets of one-time tokens (tenantSchema).
var (
	bucketOneTimeTokens       = []byte("one_time_tokens")
	bucketOneTimeTokensOrder  = []byte("one_time_tokens_order")
	bucketOneTimeTokensByHash = []byte("one_time_tokens_by_hash")
)

var oneTimeTokensTable = table{"one-time token", bucketOneTimeTokens, bucketOneTimeTokensOrder}

// OneTimeTokenContext is what a one-time token carries for the flow that
// uses it, as Logto stores it. idbolt has no sign-in flow: it keeps and
// returns the context, and acts on none of it.
type OneTimeTokenContext struct {
	JITOrganizationIDs []string `json:"jitOrganizationIds,omitempty"`
	InteractionEvent   string   `json:"interactionEvent,omitempty"`
}

// OneTimeToken is a single-use token issued for an email address (a magic
// link). Token is its value: set when the token is created and when it is
// verified (the caller presented it), never otherwise, since only its
// keyed hash is stored. Status is computed: an active token past
// ExpiresAt reads as expired.
type OneTimeToken struct {
	ID        string
	Email     string
	Token     string
	Context   OneTimeTokenContext
	Status    string
	CreatedAt int64
	ExpiresAt int64
}

// OneTimeTokenCreate is the input of CreateOneTimeToken. ExpiresIn is in
// seconds; 0 means OneTimeTokenDefaultTTL.
type OneTimeTokenCreate struct {
	Email     string
	Context   OneTimeTokenContext
	ExpiresIn int64
}

// OneTimeTokenFilter selects tokens in FindOneTimeTokens; empty fields
// select every token.
type OneTimeTokenFilter struct {
	Email  string
	Status string
}

// oneTimeTokenRecord is a OneTimeToken as stored: the hash instead of the
// value, and the status as last set.
type oneTimeTokenRecord struct {
	ID        string              `json:"id"`
	Seq       uint64              `json:"seq"`
	Email     string              `json:"email"`
	Hash      []byte              `json:"hash"`
	Context   OneTimeTokenContext `json:"context"`
	Status    string              `json:"status"`
	CreatedAt int64               `json:"createdAt"`
	ExpiresAt int64               `json:"expiresAt"`
}

// status returns r's status at now (epoch milliseconds).
func (r *oneTimeTokenRecord) status(now int64) string {
	if r.Status == OneTimeTokenActive && r.ExpiresAt <= now {
		return OneTimeTokenExpired
	}
	return r.Status
}

func (r *oneTimeTokenRecord) toOneTimeToken(now int64) *OneTimeToken {
	return &OneTimeToken{ID: r.ID, Email: r.Email, Context: r.Context, Status: r.status(now),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// IsOneTimeTokenStatus reports whether s is one of Logto's token statuses.
func IsOneTimeTokenStatus(s string) bool {
	return slices.Contains([]string{OneTimeTokenActive, OneTimeTokenConsumed, OneTimeTokenRevoked, OneTimeTokenExpired}, s)
}

// checkOneTimeTokenContext validates a context as Logto's guard does.
func checkOneTimeTokenContext(c OneTimeTokenContext) error {
	switch c.InteractionEvent {
	case "", "SignIn", "Register", "ForgotPassword":
	default:
		return fieldError("context.interactionEvent", "must be SignIn, Register or ForgotPassword")
	}
	if len(c.JITOrganizationIDs) > 100 {
		return fieldError("context.jitOrganizationIds", "must hold at most 100 ids")
	}
	for _, id := range c.JITOrganizationIDs {
		if id == "" || len(id) > 256 {
			return fieldError("context.jitOrganizationIds", "must hold ids of 1 to 256 characters")
		}
	}
	return nil
}

// CreateOneTimeToken issues a token for in.Email, valid for in.ExpiresIn
// seconds. The returned token holds its value, which is never shown again.
// Returns EINVALID.
func (db *DB) CreateOneTimeToken(ctx context.Context, tenant string, in OneTimeTokenCreate) (*OneTimeToken, error) {
	if err := firstErr(validatePattern("email", &in.Email, emailRE, "an email address"), checkName("email", &in.Email),
		checkOneTimeTokenContext(in.Context)); err != nil {
		return nil, err
	}
	if in.ExpiresIn == 0 {
		in.ExpiresIn = OneTimeTokenDefaultTTL
	} else if in.ExpiresIn < 0 || in.ExpiresIn > oneTimeTokenMaxTTL {
		return nil, fieldError("expiresIn", "must be 1 to %d seconds", oneTimeTokenMaxTTL)
	}
	value := newID(oneTimeTokenLength)
	var out *OneTimeToken
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		now := msec(tx.now)
		r := &oneTimeTokenRecord{ID: newID(21), Email: in.Email, Hash: db.hashSecret(value), Context: in.Context,
			Status: OneTimeTokenActive, CreatedAt: now, ExpiresAt: now + in.ExpiresIn*1000}
		byHash, err := tx.bucket(bucketOneTimeTokensByHash)
		if err != nil {
			return err
		}
		if err := oneTimeTokensTable.insert(tx, r.ID, &r.Seq, r); err != nil {
			return err
		}
		if err := byHash.Put(r.Hash, []byte(r.ID)); err != nil {
			return err
		}
		out = r.toOneTimeToken(now)
		out.Token = value
		return tx.auditTarget("Management.OneTimeToken.Create", "one-time token", r.ID)
	})
	return out, err
}

// FindOneTimeTokens returns a page of the tokens that match f, newest
// first, and how many match.
func (db *DB) FindOneTimeTokens(ctx context.Context, tenant string, f OneTimeTokenFilter, p pagination.Params) ([]*OneTimeToken, int, error) {
	out := []*OneTimeToken{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		now := msec(tx.now)
		var r oneTimeTokenRecord
		decode := func(id string, v []byte) error {
			r = oneTimeTokenRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode one-time token %s: %w", id, err)
			}
			return nil
		}
		var match func(id string, v []byte) (bool, error)
		if f != (OneTimeTokenFilter{}) {
			match = func(id string, v []byte) (bool, error) {
				if err := decode(id, v); err != nil {
					return false, err
				}
				return (f.Email == "" || r.Email == f.Email) && (f.Status == "" || r.status(now) == f.Status), nil
			}
		}
		var err error
		total, err = oneTimeTokensTable.walk(ctx, tx, p, true, match, func(id string, v []byte) error {
			if match == nil {
				if err := decode(id, v); err != nil {
					return err
				}
			}
			out = append(out, r.toOneTimeToken(now))
			return nil
		})
		return err
	})
	return out, total, err
}

// findOneTimeToken reads token id's record. Returns ENOTFOUND as Logto's
// find by id does.
func findOneTimeToken(tx *Tx, id string) (*oneTimeTokenRecord, error) {
	records, err := tx.bucket(bucketOneTimeTokens)
	if err != nil {
		return nil, err
	}
	var r oneTimeTokenRecord
	if ok, err := getJSON(records, []byte(id), &r); err != nil {
		return nil, err
	} else if !ok {
		return nil, notExistsWithID("one_time_tokens", id)
	}
	return &r, nil
}

// FindOneTimeTokenByID returns token id, without its value. Returns
// ENOTFOUND.
func (db *DB) FindOneTimeTokenByID(ctx context.Context, tenant, id string) (*OneTimeToken, error) {
	var out *OneTimeToken
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findOneTimeToken(tx, id)
		if err == nil {
			out = r.toOneTimeToken(msec(tx.now))
		}
		return err
	})
	return out, err
}

// DeleteOneTimeToken deletes token id. Returns ENOTFOUND.
func (db *DB) DeleteOneTimeToken(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		var r oneTimeTokenRecord
		if err := oneTimeTokensTable.get(tx, id, &r); err != nil {
			return err
		}
		byHash, err := tx.bucket(bucketOneTimeTokensByHash)
		if err != nil {
			return err
		}
		if err := byHash.Delete(r.Hash); err != nil {
			return err
		}
		if err := oneTimeTokensTable.delete(tx, id, r.Seq); err != nil {
			return err
		}
		return tx.auditTarget("Management.OneTimeToken.Delete", "one-time token", id)
	})
}

// SetOneTimeTokenStatus sets token id's status to consumed, revoked or
// expired. Returns EINVALID for another status
// (one_time_token.cannot_reactivate_token for active), or ENOTFOUND.
func (db *DB) SetOneTimeTokenStatus(ctx context.Context, tenant, id, status string) (*OneTimeToken, error) {
	if status == OneTimeTokenActive {
		return nil, detailErrorf(EINVALID, "one_time_token.cannot_reactivate_token", "A one-time token cannot be made active again.")
	}
	if !IsOneTimeTokenStatus(status) {
		return nil, fieldError("status", "must be consumed, revoked or expired")
	}
	var out *OneTimeToken
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOneTimeToken(tx, id)
		if err != nil {
			return err
		}
		r.Status = status
		if err := oneTimeTokensTable.update(tx, id, r); err != nil {
			return err
		}
		out = r.toOneTimeToken(msec(tx.now))
		return tx.auditTarget("Management.OneTimeToken.UpdateStatus", "one-time token", id)
	})
	return out, err
}

// VerifyOneTimeToken consumes the active token whose value is token, issued
// for email, and returns it. The lookup is by the token's keyed hash, so
// its time tells nothing of other tokens; the state change is one
// transaction, so of concurrent verifications of a token exactly one
// succeeds. Returns ENOTFOUND (one_time_token.token_not_found) or EINVALID
// (one_time_token.email_mismatch, token_expired, token_consumed,
// token_revoked), checked in Logto's order.
func (db *DB) VerifyOneTimeToken(ctx context.Context, tenant, token, email string) (*OneTimeToken, error) {
	if token == "" {
		return nil, fieldError("token", "must not be empty")
	}
	if email == "" {
		return nil, fieldError("email", "must not be empty")
	}
	hash := db.hashSecret(token)
	var out *OneTimeToken
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		byHash, err := tx.bucket(bucketOneTimeTokensByHash)
		if err != nil {
			return err
		}
		id := byHash.Get(hash)
		if id == nil {
			return detailErrorf(ENOTFOUND, "one_time_token.token_not_found", "No such one-time token.")
		}
		r, err := findOneTimeToken(tx, string(id))
		if err != nil {
			return err
		}
		if r.Email != email {
			return detailErrorf(EINVALID, "one_time_token.email_mismatch", "The one-time token was issued for another email address.")
		}
		switch r.status(msec(tx.now)) {
		case OneTimeTokenExpired:
			return detailErrorf(EINVALID, "one_time_token.token_expired", "The one-time token has expired.")
		case OneTimeTokenConsumed:
			return detailErrorf(EINVALID, "one_time_token.token_consumed", "The one-time token has been used.")
		case OneTimeTokenRevoked:
			return detailErrorf(EINVALID, "one_time_token.token_revoked", "The one-time token has been revoked.")
		}
		r.Status = OneTimeTokenConsumed
		if err := oneTimeTokensTable.update(tx, r.ID, r); err != nil {
			return err
		}
		out = r.toOneTimeToken(msec(tx.now))
		out.Token = token
		return tx.auditTarget("Management.OneTimeToken.Verify", "one-time token", r.ID)
	})
	return out, err
}
