package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idbolt/idbolt/store/kv"
)

// CookieKey is a tenant's key for signing cookies, Logto's "cookie-keys".
// idbolt sets no cookies yet; the console's sessions will be signed with
// the newest key and verified with it or the previous one.
type CookieKey struct {
	ID        string
	Value     []byte // the secret; sealed under the master key in the file
	CreatedAt int64
}

// cookieKeyRecord is a cookie key as stored.
type cookieKeyRecord struct {
	ID        string `json:"id"`
	Sealed    []byte `json:"sealed"`
	CreatedAt int64  `json:"ca"`
}

func cookieKeyAD(tenant, id string) []byte { return associatedData("cookie-key", tenant, id) }

// newCookieKeyValue returns the secret of a new cookie key: 256 random bits.
func newCookieKeyValue() []byte { return []byte(NewSecret()) }

// putCookieKey seals a new cookie key and appends it: the newest signs.
func putCookieKey(tx *Tx, value []byte) (*CookieKey, error) {
	keys, err := tx.bucket(bucketCookieKeys)
	if err != nil {
		return nil, err
	}
	seq, err := keys.NextSequence()
	if err != nil {
		return nil, err
	}
	k := &CookieKey{ID: newID(21), Value: value, CreatedAt: msec(tx.now)}
	sealed, err := tx.db.sealer.seal(value, cookieKeyAD(tx.tenant, k.ID))
	if err != nil {
		return nil, err
	}
	return k, putJSON(keys, itob(seq), cookieKeyRecord{ID: k.ID, Sealed: sealed, CreatedAt: k.CreatedAt})
}

// readCookieKeys returns the tenant's cookie keys, newest first, unsealed,
// with their bucket keys.
func readCookieKeys(tx *Tx) (keys []CookieKey, seqs [][]byte, err error) {
	b, err := tx.bucket(bucketCookieKeys)
	if err != nil {
		return nil, nil, err
	}
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var r cookieKeyRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, nil, fmt.Errorf("decode cookie key %x: %w", k, err)
		}
		value, err := tx.db.sealer.open(r.Sealed, cookieKeyAD(tx.tenant, r.ID))
		if err != nil {
			return nil, nil, fmt.Errorf("cookie key %s of tenant %s: %w", r.ID, tx.tenant, err)
		}
		keys = append(keys, CookieKey{ID: r.ID, Value: value, CreatedAt: r.CreatedAt})
		seqs = append(seqs, bytes.Clone(k))
	}
	return keys, seqs, nil
}

// CookieKeys returns tenant's cookie keys, newest (the one that signs)
// first. A tenant created before cookie keys existed has none until its
// first RotateCookieKeys. Returns ENOTFOUND for an unknown tenant.
func (db *DB) CookieKeys(ctx context.Context, tenant string) ([]CookieKey, error) {
	var out []CookieKey
	err := db.View(ctx, tenant, func(tx *Tx) (err error) {
		out, _, err = readCookieKeys(tx)
		return err
	})
	return out, err
}

// RotateCookieKeys makes a new cookie key the one that signs and keeps the
// one that signed until now as the previous key; older keys are deleted, as
// Logto keeps two. Returns the keys that remain, newest first, or ENOTFOUND.
func (db *DB) RotateCookieKeys(ctx context.Context, tenant string) ([]CookieKey, error) {
	value := newCookieKeyValue()
	var out []CookieKey
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		keys, seqs, err := readCookieKeys(tx)
		if err != nil {
			return err
		}
		b, err := tx.bucket(bucketCookieKeys)
		if err != nil {
			return err
		}
		for i := 1; i < len(seqs); i++ {
			if err := b.Delete(seqs[i]); err != nil {
				return err
			}
		}
		next, err := putCookieKey(tx, value)
		if err != nil {
			return err
		}
		out = append([]CookieKey{*next}, keys[:min(1, len(keys))]...)
		return tx.auditTarget("Management.CookieKey.Rotate", "cookieKey", next.ID)
	})
	return out, err
}

// DeleteCookieKey deletes cookie key id of tenant. Returns ENOTFOUND
// (oidc.key_not_found), or EUNPROCESSABLE for the key that signs
// (oidc.only_previous_key_can_be_deleted, or oidc.key_required when it is
// the only one).
func (db *DB) DeleteCookieKey(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		keys, seqs, err := readCookieKeys(tx)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(keys, func(k CookieKey) bool { return k.ID == id })
		if err := checkKeyDelete(len(keys), i, id); err != nil {
			return err
		}
		b, err := tx.bucket(bucketCookieKeys)
		if err != nil {
			return err
		}
		if err := b.Delete(seqs[i]); err != nil {
			return err
		}
		return tx.auditTarget("Management.CookieKey.Delete", "cookieKey", id)
	})
}

// resealCookieKeys re-encrypts every cookie key from one master key to
// another.
func resealCookieKeys(tenants *kv.Bucket, from, to *sealer) error {
	return resealRecords(tenants, bucketCookieKeys, "cookie key", func(tenant string, _ []byte, r *cookieKeyRecord) (bool, error) {
		ad := cookieKeyAD(tenant, r.ID)
		value, err := from.open(r.Sealed, ad)
		if err != nil {
			return false, err
		}
		r.Sealed, err = to.seal(value, ad)
		return err == nil, err
	})
}
