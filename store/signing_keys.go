package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// SigningKey is a tenant's token signing key. Private holds the private key
// as a JSON Web Key; the store treats it as opaque bytes and keeps it sealed
// under the master key in the file.
type SigningKey struct {
	ID        string // the JWK "kid"
	Alg       string
	Private   []byte
	CreatedAt int64
	// RetireAt is when a rotated-out key stops verifying and leaves the
	// JWKS (epoch ms); zero for the current key.
	RetireAt int64
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
	sealed, err := tx.db.sealer.seal(k.Private, signingKeyAD(tx.tenant, k.ID))
	if err != nil {
		return err
	}
	return putJSON(keys, itob(seq), signingKeyRecord{ID: k.ID, Alg: k.Alg, Sealed: sealed, CreatedAt: k.CreatedAt, RetireAt: k.RetireAt})
}

// KeyRotation says how RotateSigningKey replaces the key that signs.
type KeyRotation struct {
	// Next becomes the key that signs.
	Next SigningKey
	// Grace is how long the key that signed until now keeps verifying
	// (and stays in the JWKS) as the previous key.
	Grace time.Duration
	// DropPrevious confirms dropping the previous key while tokens it
	// signed may still be live; without it such a rotation is refused.
	DropPrevious bool
}

// RotateSigningKey makes rot.Next the key that signs. As in Logto, two keys
// remain: the new one and the one that signed until now, which keeps
// verifying for rot.Grace; every older key is deleted. It also, within the
// same transaction, runs each of also. Returns the keys that remain,
// newest first.
//
// Returns EUNPROCESSABLE (oidc.previous_key_in_use) when the previous key
// still verifies tokens that may be live, that is before its retire time
// and less than the longest token lifetime after it stopped signing,
// unless rot.DropPrevious is set: rotating twice in a row must not cut off
// live tokens by accident.
func (db *DB) RotateSigningKey(ctx context.Context, tenant string, rot KeyRotation,
	also ...func(*Tx) error) ([]SigningKey, error) {
	var out []SigningKey
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		for _, fn := range also {
			if err := fn(tx); err != nil {
				return err
			}
		}
		now := msec(tx.now)
		if !rot.DropPrevious {
			if until, err := previousKeyLiveUntil(tx, now); err != nil {
				return err
			} else if until > now {
				return detailErrorf(EUNPROCESSABLE, "oidc.previous_key_in_use",
					"The previous signing key verifies tokens that may be live until %s, and rotating again would delete it. "+
						"Rotate after that time, or send \"dropPreviousKey\": true to cut those tokens off now.",
					time.UnixMilli(until).UTC().Format(time.RFC3339))
			}
		}
		err := rewriteKeys(tx, func(i int, r *signingKeyRecord) (keep bool) {
			if i > 0 {
				return false // only the key that signed until now stays
			}
			if r.RetireAt == 0 {
				r.RetireAt = now + rot.Grace.Milliseconds()
			}
			return r.RetireAt > now
		})
		if err != nil {
			return err
		}
		if err := putSigningKey(tx, rot.Next); err != nil {
			return err
		}
		if out, err = readKeys(tx); err != nil {
			return err
		}
		return tx.auditTarget("Management.SigningKey.Rotate", "signingKey", rot.Next.ID)
	})
	return out, err
}

// previousKeyLiveUntil returns until when (epoch ms) the tenant's rotated-out
// keys may verify live tokens: a key stops signing when the next one is
// made, its tokens live at most maxAccessTokenTTL after that, and it stops
// verifying at its retire time. Zero when no such token can be live.
func previousKeyLiveUntil(tx *Tx, now int64) (int64, error) {
	keys, err := readKeys(tx)
	if err != nil {
		return 0, err
	}
	var until int64
	for i := 1; i < len(keys); i++ {
		live := min(keys[i].RetireAt, keys[i-1].CreatedAt+maxAccessTokenTTL*1000)
		if keys[i].RetireAt != 0 && live > now {
			until = max(until, live)
		}
	}
	return until, nil
}

// DeleteSigningKey deletes key kid of tenant. Returns ENOTFOUND
// (oidc.key_not_found), or EUNPROCESSABLE for the tenant's only key
// (oidc.key_required) or the key that currently signs
// (oidc.only_previous_key_can_be_deleted), as Logto.
func (db *DB) DeleteSigningKey(ctx context.Context, tenant, kid string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		keys, err := readKeys(tx)
		if err != nil {
			return err
		}
		if err := checkKeyDelete(len(keys), slices.IndexFunc(keys, func(k SigningKey) bool { return k.ID == kid }), kid); err != nil {
			return err
		}
		if err := rewriteKeys(tx, func(_ int, r *signingKeyRecord) bool { return r.ID != kid }); err != nil {
			return err
		}
		return tx.auditTarget("Management.SigningKey.Delete", "signingKey", kid)
	})
}

// checkKeyDelete applies Logto's rules for deleting key id, found at index
// i (-1: not found) of n keys, newest first: only a previous key goes.
func checkKeyDelete(n, i int, id string) error {
	// Logto's checks, in its order: the last key, an unknown key, the key
	// that currently signs.
	switch {
	case n <= 1:
		return detailErrorf(EUNPROCESSABLE, "oidc.key_required", "At least one key must be kept.")
	case i < 0:
		return detailErrorf(ENOTFOUND, "oidc.key_not_found", "The key %q does not exist.", id)
	case i == 0:
		return detailErrorf(EUNPROCESSABLE, "oidc.only_previous_key_can_be_deleted",
			"Only a previous key can be deleted; the current one signs. Rotate first.")
	}
	return nil
}

// rewriteKeys calls fn for every stored key, newest first; fn may change the
// record, and a false result deletes it.
func rewriteKeys(tx *Tx, fn func(i int, r *signingKeyRecord) (keep bool)) error {
	keys, err := tx.bucket(bucketKeys)
	if err != nil {
		return err
	}
	type change struct {
		key  []byte
		rec  signingKeyRecord
		keep bool
	}
	var changes []change
	c := keys.Cursor()
	i := 0
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var r signingKeyRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode signing key %x: %w", k, err)
		}
		keep := fn(i, &r)
		changes = append(changes, change{append([]byte(nil), k...), r, keep})
		i++
	}
	for _, ch := range changes {
		var err error
		if ch.keep {
			err = putJSON(keys, ch.key, ch.rec)
		} else {
			err = keys.Delete(ch.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readKeys returns the stored keys, newest first, unsealed.
func readKeys(tx *Tx) ([]SigningKey, error) {
	keys, err := tx.bucket(bucketKeys)
	if err != nil {
		return nil, err
	}
	var out []SigningKey
	c := keys.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var r signingKeyRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Errorf("decode signing key %x: %w", k, err)
		}
		if len(r.Private) > 0 || len(r.Sealed) == 0 {
			// Open seals every clear key, so one here was not written by idbolt.
			return nil, fmt.Errorf("signing key %s of tenant %s is not sealed", r.ID, tx.tenant)
		}
		private, err := tx.db.sealer.open(r.Sealed, signingKeyAD(tx.tenant, r.ID))
		if err != nil {
			return nil, fmt.Errorf("signing key %s of tenant %s: %w", r.ID, tx.tenant, err)
		}
		out = append(out, SigningKey{ID: r.ID, Alg: r.Alg, Private: private, CreatedAt: r.CreatedAt, RetireAt: r.RetireAt})
	}
	return out, nil
}

// SigningKeys returns tenant's signing keys, newest (the one that signs)
// first, including rotated-out keys whose grace has not passed. Returns
// ENOTFOUND for an unknown tenant.
func (db *DB) SigningKeys(ctx context.Context, tenant string) ([]SigningKey, error) {
	var out []SigningKey
	err := db.View(ctx, tenant, func(tx *Tx) error {
		all, err := readKeys(tx)
		now := msec(tx.now)
		for _, k := range all {
			if k.RetireAt == 0 || k.RetireAt > now {
				out = append(out, k)
			}
		}
		return err
	})
	return out, err
}

// eachSigningKey calls fn for every signing key record of every tenant, and
// stores the record again when fn reports it changed it.
func eachSigningKey(tenants *kv.Bucket, fn func(tenant string, r *signingKeyRecord) (changed bool, err error)) error {
	return tenants.ForEachBucket(func(name []byte) error {
		keys := tenants.Bucket(name).Bucket(bucketKeys)
		if keys == nil {
			return nil
		}
		type change struct {
			key []byte
			rec signingKeyRecord
		}
		var changes []change // bbolt forbids puts while a cursor walks
		err := keys.ForEach(func(k, v []byte) error {
			var r signingKeyRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("tenant %s: decode signing key %x: %w", name, k, err)
			}
			changed, err := fn(string(name), &r)
			if changed {
				changes = append(changes, change{bytes.Clone(k), r})
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, ch := range changes {
			if err := putJSON(keys, ch.key, ch.rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// sealClearSigningKeys seals the clear private keys a file written by an
// older version holds, keeping their ids, so tokens they signed still
// verify. A backup taken before holds them in clear, so it marks their
// tenants in meta for a rotation (RotateExposedSigningKey). It returns how
// many it sealed.
func sealClearSigningKeys(tenants, meta *kv.Bucket, s *sealer) (int, error) {
	n := 0
	err := eachSigningKey(tenants, func(tenant string, r *signingKeyRecord) (bool, error) {
		if len(r.Private) == 0 {
			return false, nil
		}
		sealed, err := s.seal(r.Private, signingKeyAD(tenant, r.ID))
		if err != nil {
			return false, err
		}
		r.Sealed, r.Private = sealed, nil
		n++
		return true, meta.Put(append(bytes.Clone(keyExposedPrefix), tenant...), []byte(r.Alg))
	})
	return n, err
}

// keyExposedPrefix, followed by a tenant id, marks in meta a tenant whose
// signing keys an older version kept in clear; the value is their algorithm.
var keyExposedPrefix = []byte("exposed_signing_key/")

// ExposedSigningKey names a tenant whose signing keys an older version kept
// in clear, so that any backup taken then can sign its tokens: it must
// rotate them (RotateExposedSigningKey).
type ExposedSigningKey struct {
	Tenant string
	Alg    string // the algorithm of the exposed keys, for the new one
}

// ExposedSigningKeys returns the tenants whose signing keys still await
// their rotation after an upgrade.
func (db *DB) ExposedSigningKeys(ctx context.Context) ([]ExposedSigningKey, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []ExposedSigningKey
	err := kv.View(db.bolt, func(tx *kv.Tx) error {
		c := tx.Bucket(bucketMeta).Cursor()
		for k, v := c.Seek(keyExposedPrefix); k != nil && bytes.HasPrefix(k, keyExposedPrefix); k, v = c.Next() {
			out = append(out, ExposedSigningKey{Tenant: string(k[len(keyExposedPrefix):]), Alg: string(v)})
		}
		return nil
	})
	return out, err
}

// RotateExposedSigningKey rotates tenant's keys to next as RotateSigningKey
// does, the exposed keys verifying only as long as the longest token
// lifetime, and clears the tenant's mark in the same transaction.
func (db *DB) RotateExposedSigningKey(ctx context.Context, tenant string, next SigningKey) error {
	mark := append(bytes.Clone(keyExposedPrefix), tenant...)
	rot := KeyRotation{Next: next, Grace: maxAccessTokenTTL * time.Second, DropPrevious: true}
	_, err := db.RotateSigningKey(ctx, tenant, rot, func(tx *Tx) error {
		return tx.tx.Bucket(bucketMeta).Delete(mark)
	})
	if ErrorCode(err) == ENOTFOUND { // the tenant is gone, and its keys with it
		return db.update(func(tx *kv.Tx) error { return tx.Bucket(bucketMeta).Delete(mark) })
	}
	return err
}

// resealSigningKeys re-encrypts every signing key from one master key to
// another.
func resealSigningKeys(tenants *kv.Bucket, from, to *sealer) error {
	return eachSigningKey(tenants, func(tenant string, r *signingKeyRecord) (bool, error) {
		ad := signingKeyAD(tenant, r.ID)
		private, err := from.open(r.Sealed, ad)
		if err != nil {
			return false, fmt.Errorf("tenant %s: signing key %s: %w", tenant, r.ID, err)
		}
		if r.Sealed, err = to.seal(private, ad); err != nil {
			return false, err
		}
		return true, nil
	})
}
