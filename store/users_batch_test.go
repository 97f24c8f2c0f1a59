package store

import (
	"context"
	"errors"
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

// TestCreateUsers_ConflictNamesFirstEntry checks which entry a refused batch
// names now that each index is probed in key order rather than entry by
// entry: the earliest conflicting entry, and of its values the first in the
// order username, email, phone.
func TestCreateUsers_ConflictNamesFirstEntry(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("taken"),
		PrimaryEmail: ptr("Taken@Example.com"), PrimaryPhone: ptr("16502530000")}); err != nil {
		t.Fatal(err)
	}
	free := func(i int) UserCreate {
		return UserCreate{Username: ptr(fmt.Sprintf("a%d", i)), PrimaryEmail: ptr(fmt.Sprintf("z%d@example.com", i))}
	}
	with := func(i int, edit func(*UserCreate)) UserCreate {
		u := free(i)
		edit(&u)
		return u
	}
	takenName := func(u *UserCreate) { u.Username = ptr("taken") }
	takenEmail := func(u *UserCreate) { u.PrimaryEmail = ptr("TAKEN@example.COM") }
	takenPhone := func(u *UserCreate) { u.PrimaryPhone = ptr("16502530000") }
	tests := []struct {
		name   string
		batch  []UserCreate
		prefix string
		detail string
	}{
		{"later username, earlier email", []UserCreate{free(0), with(1, takenEmail), with(2, takenName)},
			"users[1]", "user.email_already_in_use"},
		{"username and email of one entry", []UserCreate{free(0), free(1), with(2, func(u *UserCreate) { takenEmail(u); takenName(u) })},
			"users[2]", "user.username_already_in_use"},
		{"phone before username", []UserCreate{free(0), free(1), free(2), with(3, takenPhone), free(4), with(5, takenName)},
			"users[3]", "user.phone_already_in_use"},
		{"last entry only", []UserCreate{free(0), free(1), free(2), with(3, takenEmail)},
			"users[3]", "user.email_already_in_use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.CreateUsers(ctx, DefaultTenant, tt.batch)
			var e *Error
			if !errors.As(err, &e) || e.Code != ECONFLICT || e.Detail != tt.detail || !strings.HasPrefix(e.Message, tt.prefix+":") {
				t.Fatalf("got %#v, want ECONFLICT %s naming %s", err, tt.detail, tt.prefix)
			}
		})
	}
	// A batch that passes: every entry is found by id, username and email.
	var batch []UserCreate
	for i := range 300 {
		batch = append(batch, free(i))
	}
	users, err := db.CreateUsers(ctx, DefaultTenant, batch)
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(ctx, DefaultTenant, func(tx *Tx) error {
		for i, u := range users {
			r, err := findUserRecord(tx, u.ID)
			if err != nil {
				return err
			}
			if *r.Username != *batch[i].Username {
				t.Errorf("id %s holds %s, want %s", u.ID, *r.Username, *batch[i].Username)
			}
			for _, ix := range userIndexes[:2] { // username, email
				b, err := tx.bucket(ix.bucket)
				if err != nil {
					return err
				}
				if v := ix.value(r); string(b.Get([]byte(*v))) != u.ID {
					t.Errorf("entry %d: %s index has %q for %s, want %s", i, ix.what, b.Get([]byte(*v)), *v, u.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
