package store

import (
	"bytes"

	"github.com/idbolt/idbolt/store/internal/rankindex"
)

// users checks the user records against their indexes, which the search
// planner (users_search_plan.go) trusts to be complete: every record decodes and
// is under its own sequence, every user is found by its id (through
// user_ids, or as the id the tenant's permutation gives its sequence),
// user_ids holds nothing else, every unique index holds exactly one entry
// per user that has the value, pointing at that user, and the rank index
// counts every user.
func (c *integrityCheck) users() error {
	users, err := c.tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	ids, err := c.tx.bucket(bucketUserIDs)
	if err != nil {
		return err
	}
	rank, err := c.tx.bucket(bucketUsersRank)
	if err != nil {
		return err
	}
	perm, hasPerm, err := c.tx.userIDPermutation()
	if err != nil {
		c.report("%v", err)
	}
	indexed := make([]int, len(userIndexes))
	n, indexedIDs := 0, 0
	err = users.ForEach(func(k, v []byte) error {
		n++
		r, err := decodeUserRecord(k, v)
		if err != nil {
			c.report("%v", err)
			return nil
		}
		if r.Seq != btoi(k) {
			c.report("user %s: stored at sequence %d, records %d", r.ID, btoi(k), r.Seq)
		}
		switch seq := ids.Get([]byte(r.ID)); {
		case seq != nil && !bytes.Equal(seq, k):
			c.report("user %s: user_ids holds %x, record is at %x", r.ID, seq, k)
		case seq != nil:
			indexedIDs++
		case !hasPerm:
			c.report("user %s: not in user_ids, and the tenant has no user id key", r.ID)
		default:
			if id, err := perm.id(r.Seq); err != nil || id != r.ID {
				c.report("user %s: not in user_ids, and its sequence %d has id %s", r.ID, r.Seq, id)
			}
		}
		for i, ix := range userIndexes {
			val := ix.value(&r)
			if val == nil || *val == "" {
				continue
			}
			indexed[i]++
			b, err := c.tx.bucket(ix.bucket)
			if err != nil {
				return err
			}
			if owner := b.Get([]byte(*val)); string(owner) != r.ID {
				c.report("user %s: %s %q is indexed to %q", r.ID, ix.what, *val, owner)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if got := ids.Stats().KeyN; got != indexedIDs {
		c.report("user_ids holds %d entries for %d users found through it", got, indexedIDs)
	}
	for i, ix := range userIndexes {
		b, err := c.tx.bucket(ix.bucket)
		if err != nil {
			return err
		}
		if got := b.Stats().KeyN; got != indexed[i] {
			c.report("%s holds %d entries for %d users with a %s", ix.bucket, got, indexed[i], ix.what)
		}
	}
	if got := rankindex.Total(rank); got != n {
		c.report("users_rank counts %d users, there are %d", got, n)
	}
	return nil
}
