package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// SigningKey is a tenant's token signing key. Private holds the private key
// as a JSON Web Key; the store treats it as opaque bytes.
type SigningKey struct {
	ID        string // the JWK "kid"
	Alg       string
	Private   []byte
	CreatedAt int64
}

// putSigningKey stores a signing key; keys are ordered by creation, and the
// newest one signs.
func putSigningKey(tx *Tx, k SigningKey) error {
	if k.ID == "" || len(k.Private) == 0 {
		return fmt.Errorf("signing key: empty key")
	}
	keys, err := tx.bucket(bucketKeys)
	if err != nil {
		return err
	}
	seq, err := keys.NextSequence()
	if err != nil {
		return err
	}
	if k.CreatedAt == 0 {
		k.CreatedAt = msec(tx.now)
	}
	return putJSON(keys, itob(seq), signingKeyRecord{ID: k.ID, Alg: k.Alg, Private: k.Private, CreatedAt: k.CreatedAt})
}

// SigningKeys returns tenant's signing keys, newest (the one that signs) first.
// Returns ENOTFOUND for an unknown tenant.
func (db *DB) SigningKeys(ctx context.Context, tenant string) ([]SigningKey, error) {
	var out []SigningKey
	err := db.View(ctx, tenant, func(tx *Tx) error {
		keys, err := tx.bucket(bucketKeys)
		if err != nil {
			return err
		}
		c := keys.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var r signingKeyRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode signing key %x: %w", k, err)
			}
			out = append(out, SigningKey{ID: r.ID, Alg: r.Alg, Private: r.Private, CreatedAt: r.CreatedAt})
		}
		return nil
	})
	return out, err
}
