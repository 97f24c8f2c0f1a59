package store

import (
	"context"
	"sort"

	"github.com/idbolt/idbolt/store/internal/rankindex"
)

// UserCounts is what the dashboard counts of a tenant's users: all of
// them, and those created after each of Since (epoch milliseconds).
type UserCounts struct {
	Total int
	New   []int
}

// CountUsers returns the number of tenant's users and, for each of since,
// how many were created after it. A user's createdAt is the clock of the
// transaction that made it, so creation times follow the users' creation
// order, which the rank index (users_rank) can seek by position: each count
// is a binary search of O(log n) seeks, whatever the number of users.
// (On a cluster whose leader changed, clocks a little apart can make the
// order disagree by that much.)
func (db *DB) CountUsers(ctx context.Context, tenant string, since ...int64) (*UserCounts, error) {
	out := &UserCounts{New: make([]int, len(since))}
	err := db.View(ctx, tenant, func(tx *Tx) error {
		users, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		rank, err := tx.bucket(bucketUsersRank)
		if err != nil {
			return err
		}
		out.Total = rankindex.Total(rank)
		for i, from := range since {
			var searchErr error
			// The newest n users were created after from; the user at
			// offset n (from the newest) was not.
			out.New[i] = sort.Search(out.Total, func(offset int) bool {
				if searchErr != nil {
					return true
				}
				k, v, err := rankindex.SeekNewest(rank, users.Cursor(), offset)
				if err == nil && k == nil {
					return true
				}
				var r userRecord
				if err == nil {
					r, err = decodeUserRecord(k, v)
				}
				if err != nil {
					searchErr = err
					return true
				}
				return r.CreatedAt <= from
			})
			if searchErr != nil {
				return searchErr
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
