package store

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/store/kv"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// TestFindUsers_PlannerMatchesScan runs searches through the index planner
// and through a forced scan of the same users, and requires the same pages
// and totals; it also checks which searches the planner takes.
func TestFindUsers_PlannerMatchesScan(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	type seed struct{ username, email, phone, name string }
	seeds := []seed{
		{"alice", "alice@example.com", "614111110", "Alice A"},
		{"Alice", "Alice.Two@example.com", "614111120", "alice"},
		{"ALICE", "", "", "Alice"},
		{"bob", "bob@example.com", "614200000", ""},
		{"sam", "sam@example.com", "", "Sam"},
		{"", "ſam@example.com", "614300000", "long s"}, // folds to sam@example.com, lowers to itself
		{"kate", "\u212Aate@example.org", "", "kelvin"},
		{"Kate", "KATE@example.net", "614400000", ""},
		{"user_s", "user.s@example.com", "", ""},
		{"", "", "614500000", "phone only"},
		{"σίσυφος", "", "", ""}, // refused: not a username; skipped below
		{"", "ΣΊΣΥΦΟΣ@example.gr", "", "greek"},
		{"", "σίσυφος@example.gr", "", "greek final"}, // ς and σ fold together
	}
	var ids []string
	for i := range 30 {
		for _, s := range seeds {
			in := UserCreate{}
			set := func(v string) *string {
				if v == "" {
					return nil
				}
				return ptr(fmt.Sprintf("%s%d", v, i))
			}
			if s.email != "" {
				in.PrimaryEmail = ptr(fmt.Sprintf("%d.%s", i, s.email))
			}
			in.Username, in.Name = set(s.username), set(s.name)
			if s.phone != "" {
				in.PrimaryPhone = ptr(fmt.Sprintf("%s%02d", s.phone, i)) // valid numbers, so two digits
			}
			u, err := db.CreateUser(ctx, DefaultTenant, in)
			if ErrorCode(err) == EINVALID {
				continue
			} else if err != nil {
				t.Fatalf("seed %+v: %v", in, err)
			}
			ids = append(ids, u.ID)
		}
	}
	// Identities at two providers, some deleted with their users below.
	for i, id := range ids {
		for _, link := range []struct {
			every         int
			target, extID string
		}{{4, "github", fmt.Sprintf("Gh%d", i)}, {6, "google", fmt.Sprintf("g-%d", i)}} {
			if i%link.every == 0 {
				if _, _, err := db.SetUserIdentity(ctx, DefaultTenant, id, link.target, UserIdentity{UserID: link.extID}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// Gaps in the sequence, and suspended users.
	for i, id := range ids {
		switch i % 7 {
		case 3:
			if err := db.DeleteUser(ctx, DefaultTenant, id); err != nil {
				t.Fatal(err)
			}
		case 5:
			if _, err := db.UpdateUser(ctx, DefaultTenant, id, UserUpdate{IsSuspended: ptr(true)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	kept := ids[0]
	if ids[0] == "" {
		t.Fatal("no users")
	}

	for _, tc := range []struct {
		query   string
		planned bool
	}{
		{"search.primaryEmail=1.alice@example.com&mode.primaryEmail=exact", true},
		{"search.primaryEmail=1.ALICE@EXAMPLE.COM&mode.primaryEmail=exact", true},
		{"search.primaryEmail=1.ALICE@EXAMPLE.COM&mode.primaryEmail=exact&isCaseSensitive=true", true},
		{"search.primaryEmail=2.alice.two@example.com&mode.primaryEmail=exact&isCaseSensitive=true", true},
		{"search.primaryEmail=2.Alice.Two@example.com&mode.primaryEmail=exact&isCaseSensitive=true", true},
		{"search.primaryEmail=3.sam@example.com&mode.primaryEmail=exact", true},
		{"search.primaryEmail=3.SAM@example.com&mode.primaryEmail=exact", true},
		{"search.primaryEmail=3.ſam@example.com&mode.primaryEmail=exact&isCaseSensitive=true", true},
		{"search.primaryEmail=4.kate@example.org&mode.primaryEmail=exact", true},
		{"search.primaryEmail=4.\u212Aate@example.org&mode.primaryEmail=exact&isCaseSensitive=true", true},
		{"search.primaryEmail=5.σίσυφος@example.gr&mode.primaryEmail=exact", true},
		{"search.primaryEmail=5.ΣΊΣΥΦΟΣ@EXAMPLE.GR&mode.primaryEmail=exact", true},
		{"search.primaryEmail=6.bob@example.com&search.primaryEmail=7.bob@example.com&search.primaryEmail=nobody@x.io&mode.primaryEmail=exact", true},
		{"search.primaryEmail=%25alice%25", false},
		{"search.username=alice3&mode.username=exact", true},
		{"search.username=ALICE3&mode.username=exact", true},
		{"search.username=Alice3&mode.username=exact&isCaseSensitive=true", true},
		{"search.username=\u212Aate4&mode.username=exact", true},
		{"search.username=kate4&mode.username=exact&isCaseSensitive=true", true},
		{"search.username=alice%25", false},
		{"search.primaryPhone=61411111005&mode.primaryPhone=exact", true},
		{"search.primaryPhone=61411111005&search.primaryPhone=61440000012&mode.primaryPhone=exact", true},
		{"search.id=" + kept + "&mode.id=exact", true},
		{"search.id=" + kept + "&mode.id=exact&isCaseSensitive=true", true},
		{"search.username=alice8&mode.username=exact&search.name=%25A%25&joint=and", true},
		{"search.username=alice8&mode.username=exact&search.name=%25Z%25&joint=and", true},
		{"search.username=alice8&mode.username=exact&search.name=%25Z%25&joint=or", false},
		{"search.username=alice8&search.primaryEmail=9.bob@example.com&mode=exact&joint=or", true},
		{"search.username=alice8&search.primaryEmail=9.bob@example.com&mode=exact&joint=and", true},
		{"search.username=alice9&search.primaryEmail=9.alice@example.com&mode=exact&joint=and", true},
		{"search.username=alice9&search.primaryEmail=9.alice@example.com&search.customData.x=1&mode=exact&joint=and", true},
		{"search.username=alice9&search.customData.x=1&mode=exact&joint=or", false},
		{"search=alice1&mode=exact", false},
		{"search=alice", false},
		{"search.username=alice&search.username=Alice&search.username=ALICE&search.username=sam&mode.username=exact", true},
		{"search.identities.github=Gh8&mode=exact", true},
		{"search.identities.github=GH8&mode=exact", true},
		{"search.identities.github=GH8&mode=exact&isCaseSensitive=true", true},
		{"search.identities.github=Gh3&mode=exact", true}, // deleted with its user
		{"search.identities.GitHub=Gh8&mode=exact", true}, // targets compare exactly
		{"search.identities.github=Gh8&search.identities.google=G-12&mode=exact&joint=or", true},
		{"search.identities.github=Gh12&search.identities.google=g-12&mode=exact&joint=and", true},
		{"search.identities.github=%25h1%25", false},
		{"search.identities.google=g-1%25", false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			values, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := search.Parse(values, UserSearchOptions())
			if err != nil {
				t.Fatal(err)
			}
			err = db.View(ctx, DefaultTenant, func(tx *Tx) error {
				_, planned, err := planUserCandidates(tx, q)
				if err == nil && planned != tc.planned {
					err = fmt.Errorf("planned = %v, want %v", planned, tc.planned)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, suspended := range []*bool{nil, ptr(true), ptr(false)} {
				filter := UserFilter{Search: q, IsSuspended: suspended}
				for _, p := range []pagination.Params{{Page: 1, PageSize: 20}, {Page: 1, PageSize: 1}, {Page: 2, PageSize: 1}, {Page: 3, PageSize: 2}, {Page: 50, PageSize: 20}} {
					want, wantTotal, err := db.findUsers(ctx, DefaultTenant, filter, p, false)
					if err != nil {
						t.Fatal(err)
					}
					got, gotTotal, err := db.findUsers(ctx, DefaultTenant, filter, p, true)
					if err != nil {
						t.Fatal(err)
					}
					if gotTotal != wantTotal || !slices.Equal(userIDs(got), userIDs(want)) {
						t.Errorf("suspended %v, page %+v: planner %v of %d, scan %v of %d",
							suspended, p, userIDs(got), gotTotal, userIDs(want), wantTotal)
					}
				}
			}
		})
	}
}

// TestFoldedKeys_Budget finds every spelling of a username that folds to
// the searched one, and gives up (so the search scans) past its budget.
func TestFoldedKeys_Budget(t *testing.T) {
	db := mustOpen(t)
	ctx := context.Background()
	for _, name := range []string{"alice", "Alice", "ALICE", "alicex", "bob"} {
		if _, err := db.CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(name)}); err != nil {
			t.Fatal(err)
		}
	}
	err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketUsersByName)
		if err != nil {
			return err
		}
		budget := 100
		keys := foldedKeys(b, "", "aLiCe", false, &budget)
		var got []string
		for _, k := range keys {
			got = append(got, string(k))
		}
		slices.Sort(got)
		if want := []string{"ALICE", "Alice", "alice"}; !slices.Equal(got, want) {
			t.Errorf("keys %q, want %q", got, want)
		}
		budget = 3
		if keys := foldedKeys(b, "", "alice", false, &budget); keys != nil {
			t.Errorf("over budget: %q, want nil", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func userIDs(users []*User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// BenchmarkUsers_BucketBytes imports 100,000 users with a username, an email
// and a name, audit log off, and reports the bytes each user bucket
// allocates per user (leaf and branch pages), to show where a user's bytes
// on disk go.
func BenchmarkUsers_BucketBytes(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		b.StopTimer()
		db, err := Open(context.Background(), filepath.Join(b.TempDir(), "idbolt.db"), Options{NoSync: true, NoAudit: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := db.CreateTenant(context.Background(), NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for start := 0; start < n; start += MaxUserBatch {
			batch := make([]UserCreate, 0, MaxUserBatch)
			for i := start; i < start+MaxUserBatch; i++ {
				batch = append(batch, UserCreate{Username: ptr(fmt.Sprintf("user%d", i)),
					PrimaryEmail: ptr(fmt.Sprintf("user%d@example.com", i)), Name: ptr(fmt.Sprintf("User %d", i))})
			}
			if _, err := db.CreateUsers(context.Background(), DefaultTenant, batch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		err = kv.View(db.bolt, func(tx *kv.Tx) error {
			t := tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant))
			for _, name := range [][]byte{bucketUsers, bucketUserIDs, bucketUsersRank, bucketUsersByName, bucketUsersByEmail, bucketUsersByPhone} {
				s := t.Bucket(name).Stats()
				b.ReportMetric(float64(s.LeafAlloc+s.BranchAlloc)/n, string(name)+"-B/user")
				b.ReportMetric(float64(s.LeafInuse+s.BranchInuse)/float64(s.LeafAlloc+s.BranchAlloc), string(name)+"-fill")
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
		b.StartTimer()
	}
}

// FuzzFoldedKeys checks the planner's premise on any pair of strings: when
// a case-insensitive exact search for query matches a stored value, the
// index walk for query finds the value's key, as given (usernames, phones,
// ids) and lowercased (emails).
func FuzzFoldedKeys(f *testing.F) {
	for _, seed := range [][2]string{{"ſam", "SAM"}, {"\u212Aate", "kate"}, {"ΣΊΣΥΦΟΣ", "σίσυφος"},
		{"a\xffb", "A\xffB"}, {"İi", "ii"}, {"µ", "Μ"}, {"ß", "ẞ"}, {"\uFFFD", "\xff"}} {
		f.Add(seed[0], seed[1])
	}
	db := mustOpen(f)
	errRollback := fmt.Errorf("rollback")
	f.Fuzz(func(t *testing.T, stored, query string) {
		q, err := search.Parse(url.Values{"search.username": {query}, "mode.username": {"exact"}}, UserSearchOptions())
		if err != nil || stored == "" {
			return
		}
		if !q.Match(func(string) (string, bool) { return stored, true }) {
			return
		}
		for _, lower := range []bool{false, true} {
			key := stored
			if lower {
				key = strings.ToLower(stored)
			}
			err := db.update(func(tx *kv.Tx) error {
				b, err := tx.CreateBucket([]byte("fuzz"))
				if err != nil {
					return err
				}
				if err := b.Put([]byte(key), []byte("x")); err != nil {
					return err
				}
				budget := 1 << 20
				keys := foldedKeys(b, "", query, lower, &budget)
				if !slices.ContainsFunc(keys, func(k []byte) bool { return string(k) == key }) {
					t.Errorf("lower %v: stored %q (key %q) matches %q, walk finds %q", lower, stored, key, query, keys)
				}
				return errRollback
			})
			if err != errRollback {
				t.Fatal(err)
			}
		}
	})
}
