package store

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
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

// TestCountActiveUsers_MatchesACount: random activity over 40 days, each
// day's entries written in batches out of day order (up to the writer's
// lateness bound), with entries that do not count mixed in, gives for
// every day of the last weeks the counts of a brute-force count of
// distinct users per day and per window.
func TestCountActiveUsers_MatchesACount(t *testing.T) {
	start := testNow.AddDate(0, 0, -40)
	now := start
	db := mustOpenClock(t, func() time.Time { return now })
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	today := utcDay(now.UnixMilli())
	active := map[uint32]map[string]bool{} // day -> users active
	entry := func(key, result, user string, day uint32) queuedAudit {
		at := int64(day)*dayMillis + rng.Int64N(dayMillis)
		record, err := appendCompactAudit(nil, key, at, randomSuffix(), &AuditPayload{Key: key, Result: result, UserID: user, ApplicationID: "app"})
		if err != nil {
			t.Fatal(err)
		}
		return queuedAudit{tenant: DefaultTenant, record: record}
	}
	var batch []queuedAudit
	for i := range 3000 {
		if at := start.Add(time.Duration(i) * (40 * 24 * time.Hour / 3000)); utcDay(at.UnixMilli()) != today {
			// The writer's day moves: what it has queued is written first.
			if err := db.writeAudits(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
			now, today = at, utcDay(at.UnixMilli())
		}
		user := fmt.Sprintf("user%02d", rng.IntN(60))
		day := today - uint32(rng.IntN(activeLateDays+1))
		switch rng.IntN(10) {
		case 0: // a failure does not count
			batch = append(batch, entry("ExchangeTokenBy.TokenExchange", "Error", user, day))
		case 1: // nor does a write about the user
			batch = append(batch, entry("Management.User.Update", "Success", user, day))
		case 2:
			batch = append(batch, entry("ExchangeTokenBy.ClientCredentials", "Success", "", day))
		default:
			key := []string{"ExchangeTokenBy.JwtBearer", "ExchangeTokenBy.TokenExchange", passwordVerifyKey}[rng.IntN(3)]
			batch = append(batch, entry(key, "Success", user, day))
			if active[day] == nil {
				active[day] = map[string]bool{}
			}
			active[day][user] = true
		}
		if rng.IntN(100) == 0 {
			if err := db.writeAudits(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	// Too late to count: older than activeLateDays. A mark of today makes
	// the last batch prune with today's cutoff.
	batch = append(batch, entry(passwordVerifyKey, "Success", "late", today-activeLateDays-1),
		entry(passwordVerifyKey, "Success", "user00", today))
	if active[today] == nil {
		active[today] = map[string]bool{}
	}
	active[today]["user00"] = true
	if err := db.writeAudits(batch); err != nil {
		t.Fatal(err)
	}
	// Days older than activeKeepDays before today were pruned.
	distinct := func(from, to int64) int {
		users := map[string]bool{}
		for d := from; d <= to; d++ {
			if d >= int64(today)-activeKeepDays {
				for u := range active[uint32(d)] {
					users[u] = true
				}
			}
		}
		return len(users)
	}
	for back := range 40 {
		last := int64(today) - int64(back)
		got, err := db.CountActiveUsers(ctx, DefaultTenant, time.UnixMilli(last*dayMillis+5))
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range got.Daily {
			if d := last - 29 + int64(i); n != distinct(d, d) {
				t.Errorf("day %d: %d active, want %d", d, n, distinct(d, d))
			}
		}
		want := ActiveUserCounts{Daily: got.Daily,
			Weekly: distinct(last-6, last), PreviousWeekly: distinct(last-13, last-7),
			Monthly: distinct(last-29, last), PreviousMonthly: distinct(last-59, last-30)}
		if *got != want {
			t.Errorf("%d days back: got %+v, want %+v", back, *got, want)
		}
	}
}

// TestCountActiveUsers_Prunes: marks and counts older than activeKeepDays
// go with the next batch that marks, and a user active again later counts
// as new.
func TestCountActiveUsers_Prunes(t *testing.T) {
	now := testNow
	db := mustOpenClock(t, func() time.Time { return now })
	ctx := context.Background()
	write := func(user string) {
		t.Helper()
		record, err := appendCompactAudit(nil, passwordVerifyKey, now.UnixMilli(), randomSuffix(), &AuditPayload{Key: passwordVerifyKey, Result: "Success", UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.writeAudits([]queuedAudit{{tenant: DefaultTenant, record: record}}); err != nil {
			t.Fatal(err)
		}
	}
	write("a")
	write("b")
	old := now
	now = now.Add((activeKeepDays + 1) * 24 * time.Hour)
	write("a")
	for _, b := range [][]byte{bucketUsersActive, bucketUsersActiveByUser, bucketUsersActiveDays} {
		n := 0
		err := db.View(ctx, DefaultTenant, func(tx *Tx) error {
			bk, err := tx.bucket(b)
			if err != nil {
				return err
			}
			return bk.ForEach(func(_, _ []byte) error { n++; return nil })
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s holds %d keys after pruning, want 1", b, n)
		}
	}
	got, err := db.CountActiveUsers(ctx, DefaultTenant, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.Daily[29] != 1 || got.Monthly != 1 || got.PreviousMonthly != 0 {
		t.Errorf("after pruning: %+v", *got)
	}
	if got, err := db.CountActiveUsers(ctx, DefaultTenant, old); err != nil || got.Daily[29] != 0 {
		t.Errorf("a pruned day: %+v, %v", got, err)
	}
}

// FuzzActiveUserOf: of any record the audit writer may get (a follower's
// forwarded batch is checked only as far as its head), activeUserOf never
// panics, and of one that decodes it finds exactly the user of a
// successful ExchangeTokenBy.* entry other than client credentials, or of
// a password verification, on the entry's UTC day.
func FuzzActiveUserOf(f *testing.F) {
	for _, p := range append(auditPayloads,
		AuditPayload{Key: passwordVerifyKey, Result: "Success", UserID: "u1"},
		AuditPayload{Key: "ExchangeTokenBy.TokenExchange", Result: "Success", UserID: "u2", ApplicationID: "app", ActorUserID: "u3"},
		AuditPayload{Key: "ExchangeTokenBy.JwtBearer", Result: "Error", UserID: "u2"}) {
		v, err := appendCompactAudit(nil, p.Key, 1795280000000, "abcdefgh", &p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		user, day, ok := activeUserOf(v)
		r, err := decodeAuditRecord(itob(1), v)
		if err != nil || !r.compact {
			return
		}
		p, err := decodeCompactPayload(r.Key, r.fields)
		if err != nil {
			return
		}
		want := p.Result == "Success" && p.UserID != "" && (r.Key == passwordVerifyKey ||
			(strings.HasPrefix(r.Key, "ExchangeTokenBy.") && r.Key != "ExchangeTokenBy.ClientCredentials"))
		if ok != want || (ok && (string(user) != p.UserID || day != utcDay(r.CreatedAt))) {
			t.Fatalf("activeUserOf = %q, %d, %v for key %q, payload %+v", user, day, ok, r.Key, p)
		}
	})
}

// activityBatch encodes n entries of key at ms, the i-th naming user(i)
// (none when user is nil), as the audit writer gets them.
func activityBatch(tb testing.TB, key string, ms int64, n int, user func(i int) string) []queuedAudit {
	tb.Helper()
	batch := make([]queuedAudit, n)
	for i := range batch {
		p := tokenAuditPayload()
		p.Key = key
		if user != nil {
			p.UserID = user(i)
		}
		record, err := appendCompactAudit(nil, key, ms, randomSuffix(), &p)
		if err != nil {
			tb.Fatal(err)
		}
		batch[i] = queuedAudit{tenant: DefaultTenant, record: record}
	}
	return batch
}

// BenchmarkActiveUsers_Write measures the audit writer's group commit of
// 2,000 token request entries, per entry: client credentials entries,
// which mark no one (the cost before active users), and token exchange
// entries of 2,000 users not yet marked that day (every entry adds a mark)
// or all marked already. Compare the three as ratios of one run.
func BenchmarkActiveUsers_Write(b *testing.B) {
	const size = auditFlushSize
	for _, tc := range []struct {
		name, key string
		newDay    bool
	}{
		{"client-credentials", "ExchangeTokenBy.ClientCredentials", false},
		{"users-new-marks", "ExchangeTokenBy.TokenExchange", true},
		{"users-marked", "ExchangeTokenBy.TokenExchange", false},
	} {
		b.Run(tc.name, func(b *testing.B) {
			now := testNow
			db := mustOpenClock(b, func() time.Time { return now })
			var user func(int) string
			if tc.key != "ExchangeTokenBy.ClientCredentials" {
				user = func(i int) string { return fmt.Sprintf("user%07d", i) }
			}
			// The same users every batch; a new day for each batch when the
			// marks are to be new, after one batch that marks them all.
			if err := db.writeAudits(activityBatch(b, tc.key, now.UnixMilli(), size, user)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if tc.newDay {
					now = now.Add(24 * time.Hour)
				}
				batch := activityBatch(b, tc.key, now.UnixMilli(), size, user)
				b.StartTimer()
				if err := db.writeAudits(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/entry")
		})
	}
}

// BenchmarkActiveUsers_Count measures CountActiveUsers with 100 and with
// 10,000 users, each active on 6 random days of the last 60: the answer
// reads 60 day counts either way, so the two should take about the same.
func BenchmarkActiveUsers_Count(b *testing.B) {
	for _, users := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("users=%d", users), func(b *testing.B) {
			now := testNow
			db := mustOpenClock(b, func() time.Time { return now })
			rng := rand.New(rand.NewPCG(5, 6))
			// Oldest day first, so that every entry is within the writer's
			// lateness bound of its clock.
			for back := 59; back >= 0; back-- {
				now = testNow.AddDate(0, 0, -back)
				var active []int
				for u := range users {
					if rng.IntN(10) == 0 {
						active = append(active, u)
					}
				}
				for len(active) > 0 {
					n := min(len(active), auditFlushSize)
					batch := activityBatch(b, passwordVerifyKey, now.UnixMilli(), n, func(i int) string { return fmt.Sprintf("user%07d", active[i]) })
					if err := db.writeAudits(batch); err != nil {
						b.Fatal(err)
					}
					active = active[n:]
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				c, err := db.CountActiveUsers(ctx, DefaultTenant, now)
				if err != nil || c.Monthly == 0 {
					b.Fatal(c, err)
				}
			}
		})
	}
}

// TestCheckIntegrity_UsersActive: a day count that disagrees with the
// marks, and a mark missing from one of its two buckets, are reported.
func TestCheckIntegrity_UsersActive(t *testing.T) {
	now := testNow
	db := mustOpenClock(t, func() time.Time { return now })
	ctx := context.Background()
	today := utcDay(now.UnixMilli())
	var batch []queuedAudit
	for i, user := range []string{"ada", "bob", "ada"} {
		record, err := appendCompactAudit(nil, passwordVerifyKey, int64(today-uint32(i))*dayMillis, randomSuffix(),
			&AuditPayload{Key: passwordVerifyKey, Result: "Success", UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, queuedAudit{tenant: DefaultTenant, record: record})
	}
	if err := db.writeAudits(batch); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatalf("before: %v", err)
	}
	// put sets key k of the tenant's bucket b to v, or deletes it when v is
	// nil, and returns what it held.
	put := func(b, k, v []byte) []byte {
		var old []byte
		err := db.updateLog(func(btx *kv.Tx) error {
			bk := btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(b)
			old = bytes.Clone(bk.Get(k))
			if v == nil {
				return bk.Delete(k)
			}
			return bk.Put(k, v)
		})
		if err != nil {
			t.Fatal(err)
		}
		return old
	}
	for _, tc := range []struct {
		name   string
		bucket []byte
		key    []byte
		value  func(old []byte) []byte
		want   string
	}{
		{"day count", bucketUsersActiveDays, dayKey(today), func(old []byte) []byte {
			v := bytes.Clone(old)
			v[3]++
			return v
		}, "counts 2 active users, its marks 1"},
		{"mirror", bucketUsersActive, append(dayKey(today-1), "bob"...), func([]byte) []byte { return nil }, "has no users_active mark"},
	} {
		old := put(tc.bucket, tc.key, tc.value(db.getActivity(t, tc.bucket, tc.key)))
		err := db.CheckIntegrity(ctx)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if old == nil {
			old = []byte{}
		}
		put(tc.bucket, tc.key, old)
	}
}

// getActivity returns a copy of key k of the default tenant's bucket b.
func (db *DB) getActivity(t *testing.T, b, k []byte) []byte {
	t.Helper()
	var v []byte
	err := db.View(context.Background(), DefaultTenant, func(tx *Tx) error {
		bk, err := tx.bucket(b)
		if err == nil {
			v = bytes.Clone(bk.Get(k))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
