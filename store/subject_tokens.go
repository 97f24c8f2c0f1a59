package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// A subject token lets a trusted backend act as a user (impersonation), as
// in Logto: the Management API makes one for a user (POST
// /api/subject-tokens), and an application that allows token exchange
// trades it once, within SubjectTokenTTL, for an access token as that user.
// The file keeps its keyed hash, the user, who made it and its context.

var bucketSubjectTokens = []byte("subject_tokens")

// SubjectTokenTTL is how long a subject token lives, in seconds: Logto's.
const SubjectTokenTTL = 600

// subjectTokenPrefix starts every subject token, as Logto's do.
const subjectTokenPrefix = "sub_"

// maxSubjectTokenContext bounds a token's context, in bytes of JSON.
const maxSubjectTokenContext = 4 << 10

// subjectTokenRecord is a subject token as stored, at its keyed hash.
type subjectTokenRecord struct {
	UserID     string         `json:"userId"`
	CreatorID  string         `json:"creatorId,omitempty"`
	Context    map[string]any `json:"context,omitempty"`
	CreatedAt  int64          `json:"createdAt"`
	ExpiresAt  int64          `json:"expiresAt"`
	ConsumedAt int64          `json:"consumedAt,omitempty"`
}

// CreateSubjectToken makes a subject token for user userID, with context
// for the token it becomes, and returns its value. The caller (the
// context's Actor) is kept as its creator and audited with the user.
// Returns EINVALID or ENOTFOUND.
func (db *DB) CreateSubjectToken(ctx context.Context, tenant, userID string, tokenContext map[string]any) (string, error) {
	if data, err := json.Marshal(tokenContext); err != nil || len(data) > maxSubjectTokenContext {
		return "", fieldError("context", "must be a JSON object of at most %d bytes", maxSubjectTokenContext)
	}
	value := subjectTokenPrefix + newID(32)
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		u, err := findUserRecord(tx, userID)
		if err != nil {
			return err
		}
		tokens, err := tx.bucket(bucketSubjectTokens)
		if err != nil {
			return err
		}
		if err := pruneSubjectTokens(tx); err != nil {
			return err
		}
		now := msec(tx.now)
		r := subjectTokenRecord{UserID: u.ID, CreatorID: tx.actor.ApplicationID, Context: tokenContext, CreatedAt: now,
			ExpiresAt: now + SubjectTokenTTL*1000}
		if err := putJSON(tokens, db.hashSecret(value), &r); err != nil {
			return err
		}
		return tx.audit("Management.SubjectToken.Create", AuditPayload{UserID: u.ID})
	})
	if err != nil {
		return "", err
	}
	return value, nil
}

// pruneSubjectTokens deletes the tokens that expired or were used more than
// a lifetime ago: they can never be exchanged again, and a used one is
// kept that long only so that a second exchange is told it was used.
func pruneSubjectTokens(tx *Tx) error {
	tokens, err := tx.bucket(bucketSubjectTokens)
	if err != nil {
		return err
	}
	now := msec(tx.now)
	var dead [][]byte
	if err := tokens.ForEach(func(k, v []byte) error {
		var r subjectTokenRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode subject token: %w", err)
		}
		if r.ExpiresAt+SubjectTokenTTL*1000 <= now {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range dead {
		if err := tokens.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// GrantSubjectTokenExchange resolves and consumes a subject token in one
// transaction, so that of concurrent exchanges of a token one succeeds. The
// client rules and the scopes are GrantPATExchange's. Returns its errors,
// and EFORBIDDEN (oidc.invalid_grant) for a token that was used.
func (db *DB) GrantSubjectTokenExchange(ctx context.Context, tenant string, req ExchangeRequest) (*ExchangeGrant, error) {
	presented := db.hashSecret(req.Secret)
	subject := db.hashSecret(req.SubjectToken)
	var out *ExchangeGrant
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		app, err := exchangeClient(tx, req.ClientID, req.Secret, presented)
		if err != nil {
			return err
		}
		tokens, err := tx.bucket(bucketSubjectTokens)
		if err != nil {
			return err
		}
		var r subjectTokenRecord
		if ok, err := getJSON(tokens, subject, &r); err != nil {
			return err
		} else if !ok {
			return errInvalidGrant("subject token not found")
		}
		switch {
		case r.ExpiresAt <= msec(tx.now):
			return errInvalidGrant("subject token is expired")
		case r.ConsumedAt != 0:
			return errInvalidGrant("subject token is already consumed")
		}
		g, err := userExchangeGrant(tx, app, r.UserID, req)
		if err != nil {
			return err
		}
		r.ConsumedAt = msec(tx.now)
		if err := putJSON(tokens, subject, &r); err != nil {
			return err
		}
		g.SubjectTokenContext = r.Context
		if g.SubjectTokenContext == nil {
			g.SubjectTokenContext = map[string]any{}
		}
		out = g
		return tx.audit("ExchangeTokenBy.SubjectToken", AuditPayload{UserID: r.UserID,
			Params: map[string]string{"creatorId": r.CreatorID, "applicationId": app.ID}})
	})
	return out, err
}
