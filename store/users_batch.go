package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/idbolt/idbolt/store/internal/rankindex"
)

// MaxUserBatch is the most users CreateUsers takes at once.
const MaxUserBatch = 1000

// CreateUsers validates every entry of ins as CreateUser does and creates
// them all in one transaction, or none. The users are returned in input
// order, and each is audited as Management.User.Create.
//
// Returns EINVALID when ins is empty or longer than MaxUserBatch, or when an
// entry is invalid, and ECONFLICT when an entry's username, email or phone is
// taken, by an existing user or by an earlier entry; the error's field and
// message start with the entry's place, e.g. "users[3].primaryEmail".
//
// Plain passwords are hashed with Argon2id before the transaction, in
// parallel on the hasher's slots (one per core): about 30 ms of CPU each, so
// 1,000 passwords take some 16 s on 2 cores, during which other tenants'
// password requests take turns with the batch. The whole batch is one
// request of the hasher's tenant queue, so it returns ETOOMANYREQUESTS only
// when that queue is already full. Imported digests cost almost nothing.
func (db *DB) CreateUsers(ctx context.Context, tenant string, ins []UserCreate) ([]*User, error) {
	if err := CheckUserBatchSize(len(ins)); err != nil {
		return nil, err
	}
	recs := make([]userRecord, len(ins))
	for i, in := range ins {
		rec, err := newUserRecord(in)
		if err != nil {
			return nil, PrefixError(entryName(i), err)
		}
		recs[i] = rec
	}
	if err := checkBatchUnique(recs); err != nil {
		return nil, err
	}
	if hasPassword(ins) {
		// Hashing is slow: find a taken name before paying for it.
		if err := db.View(ctx, tenant, func(tx *Tx) error { return checkEntriesUnique(tx, recs) }); err != nil {
			return nil, err
		}
		if err := db.hashPasswords(ctx, tenant, ins, recs); err != nil {
			return nil, err
		}
	}
	out := make([]*User, len(recs))
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		// Every check before the first write: a domain error returned
		// after a write would leave that write in the shared commit.
		if err := checkEntriesUnique(tx, recs); err != nil {
			return err
		}
		roles, err := defaultUserRoles(ctx, tx)
		if err != nil {
			return err
		}
		batch := make([]userRecord, len(recs)) // copies: fn may run more than once
		copy(batch, recs)
		now := msec(tx.now)
		for i := range batch {
			batch[i].CreatedAt, batch[i].UpdatedAt = now, now
		}
		if err := insertUserRecords(tx, batch); err != nil {
			return err
		}
		for i := range batch {
			r := &batch[i]
			if _, err := assign(tx, relUserRoles, r.ID, roles, false, nil); err != nil {
				return err
			}
			out[i] = r.toUser()
			if err := tx.audit("Management.User.Create", AuditPayload{UserID: r.ID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckUserBatchSize returns EINVALID naming users unless 1 <= n <= MaxUserBatch.
func CheckUserBatchSize(n int) error {
	if n < 1 || n > MaxUserBatch {
		return fieldError("users", "must hold 1 to %d users, got %d", MaxUserBatch, n)
	}
	return nil
}

func entryName(i int) string { return fmt.Sprintf("users[%d]", i) }

// PrefixError returns err with prefix put before its field and message, for
// an error about one entry of a list ("users[3]" makes the field
// primaryEmail "users[3].primaryEmail"). Any other error is returned as is.
func PrefixError(prefix string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	p := *e
	if p.Field != "" {
		p.Field = prefix + "." + p.Field
		p.Message = prefix + "." + p.Message
	} else {
		p.Message = prefix + ": " + p.Message
	}
	return &p
}

// checkEntriesUnique returns ECONFLICT naming the first entry whose username,
// email or phone an existing user holds. It only reads. Each index is probed
// in key order, so that consecutive probes walk neighbouring pages.
func checkEntriesUnique(tx *Tx, recs []userRecord) error {
	for i := range recs {
		if err := checkGivenUserID(tx, recs[i].ID); err != nil {
			return PrefixError(entryName(i), err)
		}
	}
	first, firstIndex := len(recs), 0 // the earliest entry that conflicts
	for x, ix := range userIndexes {
		b, err := tx.bucket(ix.bucket)
		if err != nil {
			return err
		}
		for _, p := range sortedIndexValues(recs, ix) {
			if p.entry < first && b.Get([]byte(p.value)) != nil {
				first, firstIndex = p.entry, x
			}
		}
	}
	if first == len(recs) {
		return nil
	}
	ix := userIndexes[firstIndex]
	return PrefixError(entryName(first), detailErrorf(ECONFLICT, ix.detail, "This %s is already in use.", ix.what))
}

// indexValue is one entry's value in one user index.
type indexValue struct {
	value string
	entry int // place in the batch
}

// sortedIndexValues returns the non-empty values recs have in ix, in key
// order.
func sortedIndexValues(recs []userRecord, ix userIndex) []indexValue {
	out := make([]indexValue, 0, len(recs))
	for i := range recs {
		if v := ix.value(&recs[i]); v != nil && *v != "" {
			out = append(out, indexValue{*v, i})
		}
	}
	slices.SortFunc(out, func(a, b indexValue) int { return strings.Compare(a.value, b.value) })
	return out
}

// insertUserRecords writes new users: records, ids, unique indexes and
// the rank index (updated once). Records take sequence numbers in batch
// order and are appended, and each takes the id its sequence has under the
// tenant's permutation (users_ids.go), which needs no index entry. The
// unique indexes, whose keys are random, get their entries in key order:
// bbolt's seeks then reuse the nodes and cache lines of the previous key.
func insertUserRecords(tx *Tx, recs []userRecord) error {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return err
	}
	rank, err := tx.bucket(bucketUsersRank)
	if err != nil {
		return err
	}
	seqs := make([]uint64, len(recs))
	for i := range recs {
		seq, err := users.NextSequence()
		if err != nil {
			return fmt.Errorf("user sequence: %w", err)
		}
		recs[i].Seq, seqs[i] = seq, seq
	}
	if err := assignUserIDs(tx, ids, users, recs); err != nil {
		return err
	}
	users.SetFillPercent(1.0) // append-only by sequence: fill every page
	for i := range recs {
		if err := putUserRecord(users, &recs[i]); err != nil {
			return err
		}
	}
	for _, ix := range userIndexes {
		b, err := tx.bucket(ix.bucket)
		if err != nil {
			return err
		}
		for _, p := range sortedIndexValues(recs, ix) {
			if err := b.Put([]byte(p.value), []byte(recs[p.entry].ID)); err != nil {
				return err
			}
		}
	}
	return rankindex.AddAll(rank, seqs)
}

// sortedByID returns the places of recs in the order of their ids.
func sortedByID(recs []userRecord) []int {
	byID := make([]int, len(recs))
	for i := range recs {
		byID[i] = i
	}
	slices.SortFunc(byID, func(a, b int) int { return strings.Compare(recs[a].ID, recs[b].ID) })
	return byID
}

func hasPassword(ins []UserCreate) bool {
	for i := range ins {
		if ins[i].Password != nil {
			return true
		}
	}
	return false
}

// checkBatchUnique returns ECONFLICT naming the later entry when two entries
// share a given id, a username, an email (case-insensitively) or a phone.
func checkBatchUnique(recs []userRecord) error {
	ids := make(map[string]int)
	for i := range recs {
		if id := recs[i].ID; id != "" {
			if j, dup := ids[id]; dup {
				return detailErrorf(ECONFLICT, "entity.unique_integrity_violation", "%s: The user id %q is given to %s too.", entryName(i), id, entryName(j))
			}
			ids[id] = i
		}
	}
	for _, ix := range userIndexes {
		seen := make(map[string]int, len(recs))
		for i := range recs {
			v := ix.value(&recs[i])
			if v == nil || *v == "" {
				continue
			}
			if j, dup := seen[*v]; dup {
				return detailErrorf(ECONFLICT, ix.detail, "%s: This %s is already in use by %s.", entryName(i), ix.what, entryName(j))
			}
			seen[*v] = i
		}
	}
	return nil
}

// hashPasswords sets the hash of every entry that has a plain password, on
// as many goroutines as the hasher has slots, all under one admission of
// tenant. It stops early when ctx is done.
func (db *DB) hashPasswords(ctx context.Context, tenant string, ins []UserCreate, recs []userRecord) error {
	ticket, err := db.hasher.admit(tenant)
	if err != nil {
		return err
	}
	defer ticket.close()
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	for range db.hasher.slots {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ins) {
					return
				}
				if ins[i].Password == nil {
					continue
				}
				err := ctx.Err()
				if err == nil {
					recs[i].PasswordHash, err = ticket.hash(ctx, *ins[i].Password)
				}
				if err != nil {
					mu.Lock()
					if failed == nil {
						failed = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return failed
}
