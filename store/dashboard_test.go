package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// TestCountUsers_MatchesACount: with users made at increasing times (some
// in the same millisecond) and some deleted, each count of CountUsers's
// binary search equals a count of the live users' creation times.
func TestCountUsers_MatchesACount(t *testing.T) {
	var clock atomic.Int64
	clock.Store(testNow.UnixMilli())
	db := mustOpenClock(t, func() time.Time { return time.UnixMilli(clock.Load()) })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	created := map[string]int64{}
	var ids []string
	for i := range 300 {
		clock.Add(rng.Int64N(3) * 1000) // 0, 1 or 2 s: some users share a millisecond
		u, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(fmt.Sprintf("u%d", i))})
		if err != nil {
			t.Fatal(err)
		}
		created[u.ID] = u.CreatedAt
		ids = append(ids, u.ID)
	}
	for _, i := range rng.Perm(len(ids))[:60] {
		if err := db.DeleteUser(ctx, DefaultTenant, ids[i]); err != nil {
			t.Fatal(err)
		}
		delete(created, ids[i])
	}
	first, last := testNow.UnixMilli(), clock.Load()
	froms := []int64{first - 1, first, last, last + 1}
	for range 40 {
		froms = append(froms, first+rng.Int64N(last-first+1))
	}
	got, err := db.CountUsers(ctx, DefaultTenant, froms...)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total != len(created) {
		t.Errorf("total %d, want %d", got.Total, len(created))
	}
	for i, from := range froms {
		want := 0
		for _, at := range created {
			if at > from {
				want++
			}
		}
		if got.New[i] != want {
			t.Errorf("created after %d: %d, want %d", from, got.New[i], want)
		}
	}
	empty, err := db.CountUsers(ctx, "nosuchtenant", first)
	if err == nil {
		t.Errorf("an unknown tenant counted %+v", empty)
	}
}
