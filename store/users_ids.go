package store

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"unicode"

	"github.com/idbolt/idbolt/store/kv"
)

// User ids. A user id is a capability (an organization owner adds members
// by id), so it must stay unguessable; Logto's form is 12 characters of
// idAlphabet. Random ids need an index from id to the user's sequence,
// and at 1,000,000 users writing that index into random pages was most of
// a bulk import. A new user's id is therefore the tenant's secret keyed
// permutation of its sequence number, written in idAlphabet: the id
// decodes back to the sequence, so it needs no index entry, and without
// the key the ids of neighbouring users are unrelated.
//
// The permutation is Triple DES (crypto/des), a standard 64-bit block
// cipher, restricted to [0, 36^12) by cycle-walking (Black and Rogaway,
// "Ciphers with Arbitrary Finite Domains"): encrypt, and encrypt again
// while the result is 36^12 or more. It is a mode of use of a standard
// cipher, not a new primitive. 36^12 is about 2^62.03, so a walk takes
// about four block operations on average, and decryption walks back the
// same way. The standard library has no other 64-bit block cipher; a
// 128-bit one (AES) cannot be cycle-walked down to 2^62, and a Feistel
// network over it would be a construction of our own. A 64-bit block is
// enough here: the cipher is never used to encrypt data, only to name at
// most 2^62 users. The key is 24 random bytes, of which DES uses 168 bits
// (the lowest bit of each byte is parity).
//
// Ids of users created before a tenant had a key, and the rare id that
// the permutation gave to a user an older random id already held, stay in
// user_ids. A lookup decodes the id, reads the user at that sequence and
// takes it only if the stored id is the id asked for (an id of another
// tenant or a random string decodes to some sequence too); otherwise it
// asks the index.

// keyUserIDKey in a tenant's meta bucket holds the tenant's user id key,
// sealed under the master key with the tenant in its associated data.
var keyUserIDKey = []byte("user_id_key")

// userIDSpace is the number of user ids: 36^12, 12 characters of idAlphabet.
const userIDSpace uint64 = 4738381338321616896

// userIDLen is the length of a user id.
const userIDLen = 12

// userIDKeySize is the size of a Triple DES key (three DES keys).
const userIDKeySize = 24

// userIDKeyAD binds a sealed user id key to its tenant, so a key copied to
// another tenant does not open.
func userIDKeyAD(tenant string) []byte { return associatedData("user-id-key", tenant) }

// userIDPermutation is a keyed permutation of [0, userIDSpace).
type userIDPermutation struct {
	block cipher.Block
	seqs  *seqMemo
}

// seqMemo remembers the sequences of ids looked up lately: decrypting one
// walks Triple DES about four times, a fifth of a GET of a user by id.
type seqMemo struct {
	mu   sync.RWMutex
	seqs map[uint64]uint64 // decoded id -> sequence
}

// maxSeqMemo bounds a tenant's memo; ids are the caller's, so it starts
// afresh when full.
const maxSeqMemo = 4096

// newUserIDPermutation returns the permutation of a 24-byte key.
func newUserIDPermutation(key []byte) (userIDPermutation, error) {
	if len(key) != userIDKeySize {
		return userIDPermutation{}, fmt.Errorf("user id key: want %d bytes, got %d", userIDKeySize, len(key))
	}
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		return userIDPermutation{}, fmt.Errorf("user id key: %w", err)
	}
	return userIDPermutation{block: block, seqs: &seqMemo{seqs: map[uint64]uint64{}}}, nil
}

// id returns the id of the user at sequence seq.
func (p userIDPermutation) id(seq uint64) (string, error) {
	if seq >= userIDSpace {
		return "", fmt.Errorf("user sequence %d is beyond the %d user ids", seq, userIDSpace)
	}
	return encodeUserID(p.walk(seq, false)), nil
}

// seq returns the sequence whose id is id; false when id is not 12
// characters of idAlphabet.
func (p userIDPermutation) seq(id string) (uint64, bool) {
	x, ok := decodeUserID(id)
	if !ok {
		return 0, false
	}
	m := p.seqs
	m.mu.RLock()
	seq, ok := m.seqs[x]
	m.mu.RUnlock()
	if ok {
		return seq, true
	}
	seq = p.walk(x, true)
	m.mu.Lock()
	if len(m.seqs) >= maxSeqMemo {
		clear(m.seqs)
	}
	m.seqs[x] = seq
	m.mu.Unlock()
	return seq, true
}

// walk encrypts (or decrypts) x until the result is in [0, userIDSpace).
// It ends: x is in the domain, and the cipher's cycle through x comes back
// to x at the latest.
func (p userIDPermutation) walk(x uint64, decrypt bool) uint64 {
	var b [8]byte
	for {
		binary.BigEndian.PutUint64(b[:], x)
		if decrypt {
			p.block.Decrypt(b[:], b[:])
		} else {
			p.block.Encrypt(b[:], b[:])
		}
		if x = binary.BigEndian.Uint64(b[:]); x < userIDSpace {
			return x
		}
	}
}

// encodeUserID writes x < userIDSpace as 12 base-36 digits of idAlphabet.
func encodeUserID(x uint64) string {
	var out [userIDLen]byte
	for i := userIDLen - 1; i >= 0; i-- {
		out[i] = idAlphabet[x%36]
		x /= 36
	}
	return string(out[:])
}

// decodeUserID reverses encodeUserID; false when id is not 12 characters of
// idAlphabet.
func decodeUserID(id string) (uint64, bool) {
	if len(id) != userIDLen {
		return 0, false
	}
	var x uint64
	for i := 0; i < len(id); i++ {
		var d byte
		switch c := id[i]; {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'z':
			d = c - 'a' + 10
		default:
			return 0, false
		}
		x = x*36 + uint64(d)
	}
	return x, true
}

// foldToUserID returns the one string of idAlphabet equal to v under
// simple case folding, as a case-insensitive search compares; false when
// there is none of the length of an id.
func foldToUserID(v string) (string, bool) {
	out := make([]byte, 0, userIDLen)
	for _, r := range v {
		c, ok := idAlphabetFold(r)
		if !ok || len(out) == userIDLen {
			return "", false
		}
		out = append(out, c)
	}
	if len(out) != userIDLen {
		return "", false
	}
	return string(out), true
}

// idAlphabetFold returns the character of idAlphabet that r equals under
// simple case folding (K and the Kelvin sign are k; ſ is s).
func idAlphabetFold(r rune) (byte, bool) {
	for f := r; ; {
		if '0' <= f && f <= '9' || 'a' <= f && f <= 'z' {
			return byte(f), true
		}
		if f = unicode.SimpleFold(f); f == r {
			return 0, false
		}
	}
}

// userIDKeys caches each tenant's permutation. An entry is used only while
// the tenant's sealed key in the file is the one it was made from: a
// tenant can be deleted and created again with the same id, and a
// follower's file changes under it.
type userIDKeys struct {
	mu       sync.RWMutex
	byTenant map[string]userIDKeyEntry
}

// userIDKeyEntry is a cached permutation and the sealed key it came from.
type userIDKeyEntry struct {
	sealed []byte
	perm   userIDPermutation
}

// permutation returns the permutation sealed holds for tenant.
func (c *userIDKeys) permutation(s *sealer, tenant string, sealed []byte) (userIDPermutation, error) {
	c.mu.RLock()
	e, ok := c.byTenant[tenant]
	c.mu.RUnlock()
	if ok && bytes.Equal(e.sealed, sealed) {
		return e.perm, nil
	}
	key, err := s.open(sealed, userIDKeyAD(tenant))
	if err != nil {
		return userIDPermutation{}, fmt.Errorf("tenant %s: user id key: %w", tenant, err)
	}
	perm, err := newUserIDPermutation(key)
	clear(key)
	if err != nil {
		return userIDPermutation{}, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	c.mu.Lock()
	if c.byTenant == nil {
		c.byTenant = make(map[string]userIDKeyEntry)
	}
	c.byTenant[tenant] = userIDKeyEntry{sealed: bytes.Clone(sealed), perm: perm} // sealed is bbolt's memory
	c.mu.Unlock()
	return perm, nil
}

// userIDPermutation returns the tenant's permutation; false when the
// tenant has no key yet (no user was created since it got one).
func (tx *Tx) userIDPermutation() (userIDPermutation, bool, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return userIDPermutation{}, false, err
	}
	sealed := meta.Get(keyUserIDKey)
	if sealed == nil {
		return userIDPermutation{}, false, nil
	}
	perm, err := tx.db.userIDKeys.permutation(tx.db.sealer, tx.tenant, sealed)
	return perm, err == nil, err
}

// ensureUserIDPermutation returns the tenant's permutation, first making
// a random key for a tenant that has none (a new tenant, or one of a file
// from before user id keys). The key is written in tx, so a replicated
// write carries it to every node.
func (tx *Tx) ensureUserIDPermutation() (userIDPermutation, error) {
	perm, ok, err := tx.userIDPermutation()
	if err != nil || ok {
		return perm, err
	}
	key := make([]byte, userIDKeySize)
	if _, err := rand.Read(key); err != nil {
		return userIDPermutation{}, fmt.Errorf("user id key: %w", err)
	}
	defer clear(key)
	sealed, err := tx.db.sealer.seal(key, userIDKeyAD(tx.tenant))
	if err != nil {
		return userIDPermutation{}, err
	}
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return userIDPermutation{}, err
	}
	if err := meta.Put(keyUserIDKey, sealed); err != nil {
		return userIDPermutation{}, err
	}
	return newUserIDPermutation(key)
}

// findPermutedUser returns the user whose id the tenant's permutation made
// from its sequence; false when id is not such an id of a live user.
func findPermutedUser(tx *Tx, users *kv.Bucket, id string) (*userRecord, bool, error) {
	perm, ok, err := tx.userIDPermutation()
	if err != nil || !ok {
		return nil, false, err
	}
	seq, ok := perm.seq(id)
	if !ok {
		return nil, false, nil
	}
	k := itob(seq)
	v := users.Get(k)
	if v == nil {
		return nil, false, nil
	}
	r, err := decodeUserRecord(k, v)
	if err != nil {
		return nil, false, err
	}
	// Any 12 characters decode to a sequence: only the stored id says
	// whether this user has that id.
	if r.ID != id {
		return nil, false, nil
	}
	return &r, true, nil
}

// findUserSeqKey returns the sequence key of user id, by permutation or by
// index; false when there is no such user.
func findUserSeqKey(tx *Tx, id string) ([]byte, bool, error) {
	r, err := findUserRecord(tx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return itob(r.Seq), true, nil
}

// userIDInUse reports whether id names an existing user, by index or by
// permutation.
func userIDInUse(tx *Tx, ids, users *kv.Bucket, id string) (bool, error) {
	if ids.Get([]byte(id)) != nil {
		return true, nil
	}
	_, ok, err := findPermutedUser(tx, users, id)
	return ok, err
}

// checkGivenUserID returns ECONFLICT when id, given to a new user, is
// the id of an existing one; an empty id (one to make) passes.
func checkGivenUserID(tx *Tx, id string) error {
	if id == "" {
		return nil
	}
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return err
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	if inUse, err := userIDInUse(tx, ids, users, id); err != nil || inUse {
		return cmpErr(err, errIDInUse("user", id))
	}
	return nil
}

// cmpErr returns err when it is not nil, else alt.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// assignUserIDs gives each of recs, whose sequences are set, the id its
// sequence has under the tenant's permutation. An id that an older user
// holds in user_ids (its random id happened to be this one) is replaced by
// a random id that no user and no entry of recs has, which goes into
// user_ids. It writes nothing but that index entry and, for a tenant
// without one, the key. byID lists the places of recs in id order, for
// the probes of user_ids to walk neighbouring pages.
func assignUserIDs(tx *Tx, ids, users *kv.Bucket, recs []userRecord) error {
	perm, err := tx.ensureUserIDPermutation()
	if err != nil {
		return err
	}
	// An id given by the caller (checkGivenUserID found it free) is
	// indexed first, so that a permuted id equal to it is replaced below.
	given := make([]bool, len(recs))
	for i := range recs {
		if recs[i].ID != "" {
			given[i] = true
			if err := ids.Put([]byte(recs[i].ID), itob(recs[i].Seq)); err != nil {
				return err
			}
			continue
		}
		if recs[i].ID, err = perm.id(recs[i].Seq); err != nil {
			return err
		}
	}
	if k, _ := ids.Cursor().First(); k == nil {
		return nil // no user has an indexed id: nothing to collide with
	}
	var taken []int
	for _, i := range sortedByID(recs) {
		if !given[i] && ids.Get([]byte(recs[i].ID)) != nil {
			taken = append(taken, i)
		}
	}
	for _, i := range taken {
		id, err := randomFreeUserID(tx, ids, users, recs)
		if err != nil {
			return err
		}
		recs[i].ID = id
		if err := ids.Put([]byte(id), itob(recs[i].Seq)); err != nil {
			return err
		}
	}
	return nil
}

// randomFreeUserID returns a random id that no user and no entry of recs
// has.
func randomFreeUserID(tx *Tx, ids, users *kv.Bucket, recs []userRecord) (string, error) {
	for range 100 {
		id := newID(userIDLen)
		inUse, err := userIDInUse(tx, ids, users, id)
		if err != nil {
			return "", err
		}
		if !inUse && !batchHasID(recs, id) {
			return id, nil
		}
	}
	return "", errors.New("no free user id in 100 random draws")
}

// batchHasID reports whether an entry of recs has id.
func batchHasID(recs []userRecord, id string) bool {
	for i := range recs {
		if recs[i].ID == id {
			return true
		}
	}
	return false
}
