package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

// TestCreateUsers_SharedCommit runs failing and succeeding batches alongside
// single creates, so that they share group commits: a refused batch must
// leave nothing behind, not even in a commit that others complete.
func TestCreateUsers_SharedCommit(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("taken")}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range n {
		wg.Go(func() {
			_, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(fmt.Sprintf("single%d", i))})
			errs <- err
		})
		wg.Go(func() {
			_, err := db.CreateUsers(ctx, DefaultTenant, []UserCreate{
				{Username: ptr(fmt.Sprintf("bad%da", i))}, {Username: ptr(fmt.Sprintf("bad%db", i))}, {Username: ptr("taken")}})
			if ErrorCode(err) != ECONFLICT {
				err = fmt.Errorf("batch with a taken name: %v", err)
			} else {
				err = nil
			}
			errs <- err
		})
		wg.Go(func() {
			users, err := db.CreateUsers(ctx, DefaultTenant, []UserCreate{
				{Username: ptr(fmt.Sprintf("good%da", i))}, {Username: ptr(fmt.Sprintf("good%db", i))}})
			if err == nil && (len(users) != 2 || *users[1].Username != fmt.Sprintf("good%db", i)) {
				err = fmt.Errorf("batch answered %+v", users)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	count := func(pattern string) int {
		q, err := search.Parse(map[string][]string{"search.username": {pattern}}, UserSearchOptions())
		if err != nil {
			t.Fatal(err)
		}
		_, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{Search: q}, pagination.Params{Page: 1, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	if got := count("bad%"); got != 0 {
		t.Errorf("%d users of refused batches exist", got)
	}
	if got, want := count("%"), 1+n+2*n; got != want {
		t.Errorf("%d users, want %d", got, want)
	}
}

func TestRankAddAll_MatchesRankAdd(t *testing.T) {
	db := mustOpen(t)
	var seqs []uint64
	for s := uint64(1); s < 5000; s++ {
		seqs = append(seqs, s)
	}
	seqs = append(seqs, 1<<12+5000, 1<<18-1, 1<<18, 1<<18+1, 1<<30, 1<<30+64)
	err := db.update(func(tx *kv.Tx) error {
		one, err := tx.CreateBucket([]byte("rank_one"))
		if err != nil {
			return err
		}
		all, err := tx.CreateBucket([]byte("rank_all"))
		if err != nil {
			return err
		}
		for _, s := range seqs {
			if err := rankindex.Add(one, s, 1); err != nil {
				return err
			}
		}
		// In batches of uneven sizes, as imports would come.
		for i := 0; i < len(seqs); i += 777 {
			if err := rankindex.AddAll(all, seqs[i:min(i+777, len(seqs))]); err != nil {
				return err
			}
		}
		if err := rankindex.AddAll(all, nil); err != nil {
			return err
		}
		if a, b := dump(one), dump(all); a != b {
			t.Errorf("rankindex.Add gave\n%s\nrankindex.AddAll gave\n%s", a, b)
		}
		if err := tx.DeleteBucket([]byte("rank_one")); err != nil {
			return err
		}
		return tx.DeleteBucket([]byte("rank_all"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func dump(b *kv.Bucket) string {
	var sb strings.Builder
	b.ForEach(func(k, v []byte) error {
		fmt.Fprintf(&sb, "%x=%x\n", k, v)
		return nil
	})
	return sb.String()
}
