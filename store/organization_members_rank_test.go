package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/idbolt/idbolt/pagination"
)

// TestPrefixRankWalk checks every page of a ranked relation against the
// sorted ids, across links and unlinks, with ids of uneven lengths that
// share prefixes (the cases a shorter-than-level id creates).
func TestPrefixRankWalk(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ab0z"
	var ids []string
	for len(ids) < 400 {
		n := 1 + rng.IntN(5)
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if !slices.Contains(ids, string(b)) {
			ids = append(ids, string(b))
		}
	}
	live := map[string]bool{}
	for round := 0; round < 6; round++ {
		err := db.Update(ctx, DefaultTenant, func(tx *Tx) error {
			for _, id := range ids {
				// Half the writes go through the inverse relation, which
				// must keep the same rank index.
				rel, a, b := relOrgUsers, "org", id
				if rng.IntN(2) == 0 {
					rel, a, b = relOrgUsers.inverse(), id, "org"
				}
				if rng.IntN(3) == 0 {
					if _, err := rel.unlink(tx, a, b); err != nil {
						return err
					}
					delete(live, id)
				} else if rng.IntN(2) == 0 {
					if _, err := rel.link(tx, a, b); err != nil {
						return err
					}
					live[id] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for id := range live {
			want = append(want, id)
		}
		slices.Sort(want)
		for _, size := range []int{1, 7, 20} {
			for page := 1; (page-1)*size <= len(want); page++ {
				var got []string
				var total int
				err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
					var err error
					total, err = relOrgUsers.walk(ctx, tx, "org", pagination.Params{Page: page, PageSize: size}, nil,
						func(b string) error { got = append(got, b); return nil })
					return err
				})
				if err != nil {
					t.Fatalf("round %d page %d/%d: %v", round, page, size, err)
				}
				wantPage := pageOf(want, pagination.Params{Page: page, PageSize: size})
				if total != len(want) || fmt.Sprint(got) != fmt.Sprint(wantPage) {
					t.Fatalf("round %d page %d size %d: got %v (total %d), want %v (total %d)",
						round, page, size, got, total, wantPage, len(want))
				}
			}
		}
	}
	// The relation pairs point at no real organization or users; drop them
	// so that the integrity check at cleanup sees a consistent file.
	if err := db.Update(ctx, DefaultTenant, func(tx *Tx) error { return relOrgUsers.unlinkAll(tx, "org") }); err != nil {
		t.Fatal(err)
	}
}
