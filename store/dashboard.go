package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/idbolt/idbolt/store/kv"

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

// Active users. Logto counts a user active on a day when a successful token
// request of theirs (an ExchangeTokenBy.* entry naming the user) is in the
// audit log; idbolt has no sign-in of its own, so a verified password
// (POST /api/users/{id}/password/verify, audited under Logto's key of a
// password sign-in) counts too. Rather than count distinct users over the
// log when asked, which costs as much as the log, the audit writer keeps,
// in the transaction that appends the entries (writeAudits):
//
//   - users_active, <day><user>: the user was active on the UTC day;
//   - users_active_by_user, <user>\x00<day>: the same marks by user, so that
//     a mark finds the user's previous and next active day;
//   - users_active_days, <day>: that day's number of active users, and of
//     them how many were last active before that exactly g days earlier,
//     for g from 1 to activeGaps.
//
// The distinct users of the days a..b are then the marks of those days
// whose previous mark is before a: for each day d, its count less the marks
// whose gap is at most d-a. With windows of at most activeGaps+1 days that
// is 60 reads for every number Logto's dashboard shows, whatever the number
// of users. Marks older than activeKeepDays are pruned as new ones come,
// and count no one even before.

// Buckets of user activity.
var (
	bucketUsersActive       = []byte("users_active")
	bucketUsersActiveByUser = []byte("users_active_by_user")
	bucketUsersActiveDays   = []byte("users_active_days")
)

const (
	// activeGaps is the longest gap between two active days of a user that
	// a day's counts tell apart: windows of up to activeGaps+1 days (MAU's
	// 30) count exactly.
	activeGaps = 29
	// activeKeepDays is how many days of marks and counts are kept: the
	// dashboard reads 60 days back (the MAU of the 30 days before the last
	// 30), plus a margin.
	activeKeepDays = 62
	// activeLateDays is how old an entry's day may be, against the writer's
	// clock, to count: entries reach the writer within seconds, and a mark
	// this recent never has a pruned mark within activeGaps before it, so
	// the gaps stay exact.
	activeLateDays = activeKeepDays - activeGaps - 1
	// passwordVerifyKey is the log key of a password verification, Logto's
	// key of a password sign-in.
	passwordVerifyKey = "Interaction.SignIn.Identifier.Password.Submit"
	dayMillis         = 24 * 60 * 60 * 1000
)

// activeDaySize is the size of a users_active_days value: the day's count,
// then the count of each gap from 1 to activeGaps, each 4 bytes big-endian.
const activeDaySize = 4 * (1 + activeGaps)

// utcDay is the UTC day of epoch milliseconds ms, counted from 1970-01-01.
func utcDay(ms int64) uint32 {
	if ms < 0 {
		return 0
	}
	return uint32(ms / dayMillis)
}

func dayKey(day uint32) []byte { return binary.BigEndian.AppendUint32(make([]byte, 0, 4), day) }

// activeUserOf returns the user an audit record shows active, and the day,
// if it does: a successful ExchangeTokenBy.* or password verification entry
// that names a user. Other records are told apart by their key alone, so a
// client credentials token costs a few bytes of decoding.
func activeUserOf(record []byte) (user []byte, day uint32, ok bool) {
	if len(record) == 0 || record[0] != auditFormatCompact {
		return nil, 0, false
	}
	createdAt, size := binary.Varint(record[1:])
	if size <= 0 || len(record) < 1+size+6 {
		return nil, 0, false
	}
	d := auditDecoder{v: record[1+size+6:]}
	key, _, err := d.bytes()
	if err != nil || string(key) == "ExchangeTokenBy.ClientCredentials" {
		return nil, 0, false
	}
	if !bytes.HasPrefix(key, []byte("ExchangeTokenBy.")) && string(key) != passwordVerifyKey {
		return nil, 0, false
	}
	success := false
	fr := newAuditFieldReader(d.v)
	for {
		tag, _, strs, err := fr.next()
		switch {
		case err != nil || tag == 0:
			return nil, 0, false
		case tag == auditTagResult:
			success = string(strs[0]) == "Success"
		case tag == auditTagUser:
			if !success || len(strs[0]) == 0 {
				return nil, 0, false
			}
			return bytes.Clone(strs[0]), utcDay(createdAt), true
		}
	}
}

// activityMarker marks users active in the audit writer's transaction. The
// day counts a batch changes are summed in memory and written once per day
// at the end (flush): a batch of 2,000 new marks puts a few day records, not
// thousands, into the file and into the write-set a cluster replicates.
type activityMarker struct {
	today   uint32
	tenants map[string]*tenantActivity
}

// tenantActivity is one tenant's activity buckets and the changes of its
// day counts in the transaction.
type tenantActivity struct {
	marks, byUser, days *kv.Bucket
	deltas              map[uint32]*[1 + activeGaps]int64 // day -> change of each count
}

// tenant returns tenant's activity in the transaction, pruning its old
// marks the first time.
func (m *activityMarker) tenant(tenant string, tb *kv.Bucket) (*tenantActivity, error) {
	if t := m.tenants[tenant]; t != nil {
		return t, nil
	}
	t, err := activityOf(tb)
	if err != nil {
		return nil, err
	}
	if err := pruneActivity(t.marks, t.byUser, t.days, m.today); err != nil {
		return nil, err
	}
	if m.tenants == nil {
		m.tenants = map[string]*tenantActivity{}
	}
	m.tenants[tenant] = t
	return t, nil
}

// activityOf returns the activity buckets of tenant bucket tb.
func activityOf(tb *kv.Bucket) (*tenantActivity, error) {
	t := &tenantActivity{marks: tb.Bucket(bucketUsersActive), byUser: tb.Bucket(bucketUsersActiveByUser),
		days: tb.Bucket(bucketUsersActiveDays), deltas: map[uint32]*[1 + activeGaps]int64{}}
	if t.marks == nil || t.byUser == nil || t.days == nil {
		return nil, fmt.Errorf("user activity buckets missing")
	}
	return t, nil
}

// mark records user active on day in tenant bucket tb, unless the entry is
// older than activeLateDays or the mark exists.
func (m *activityMarker) mark(tenant string, tb *kv.Bucket, user []byte, day uint32) error {
	if day+activeLateDays < m.today || bytes.IndexByte(user, 0) >= 0 {
		return nil
	}
	t, err := m.tenant(tenant, tb)
	if err != nil {
		return err
	}
	prefix := append(append(make([]byte, 0, len(user)+5), user...), 0)
	k := append(prefix, dayKey(day)...)
	// The user's active days before and after this one. (An empty value
	// reads as nil, so the cursor, not Get, tells whether the mark exists.)
	c := t.byUser.Cursor()
	nk, _ := c.Seek(k)
	if bytes.Equal(nk, k) {
		return nil
	}
	var pk []byte
	if nk == nil {
		pk, _ = c.Last()
	} else {
		pk, _ = c.Prev()
	}
	userDay := func(key []byte) (uint32, bool) {
		if key == nil || len(key) != len(k) || !bytes.HasPrefix(key, prefix) {
			return 0, false
		}
		return binary.BigEndian.Uint32(key[len(prefix):]), true
	}
	prev, hasPrev := userDay(pk)
	next, hasNext := userDay(nk)
	t.add(day, 0, 1)
	if hasPrev {
		t.add(day, day-prev, 1)
	}
	if hasNext {
		if hasPrev {
			t.add(next, next-prev, -1)
		}
		t.add(next, next-day, 1)
	}
	if err := t.byUser.Put(k, nil); err != nil {
		return err
	}
	return t.marks.Put(append(dayKey(day), user...), nil)
}

// add adds delta to day's count of active users (gap 0) or of those whose
// previous active day is gap days before (gap 1..activeGaps; a longer gap
// is not counted).
func (t *tenantActivity) add(day, gap uint32, delta int64) {
	if gap > activeGaps {
		return
	}
	d := t.deltas[day]
	if d == nil {
		d = new([1 + activeGaps]int64)
		t.deltas[day] = d
	}
	d[gap] += delta
}

// flush writes the day counts the marks changed.
func (m *activityMarker) flush() error {
	for _, t := range m.tenants {
		for day, d := range t.deltas {
			k := dayKey(day)
			v := make([]byte, activeDaySize)
			copy(v, t.days.Get(k))
			for gap, delta := range d {
				n := int64(binary.BigEndian.Uint32(v[4*gap:])) + delta
				if n < 0 || n > math.MaxUint32 {
					return fmt.Errorf("user activity count of day %d, gap %d, would be %d", day, gap, n)
				}
				binary.BigEndian.PutUint32(v[4*gap:], uint32(n))
			}
			if err := t.days.Put(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// pruneActivity deletes up to auditFlushSize marks, and the day counts,
// older than activeKeepDays before today. Run on every batch that marks (a
// batch marks at most auditFlushSize), it keeps up with any rate of marks,
// and costs a seek when there is nothing to prune.
func pruneActivity(marks, byUser, days *kv.Bucket, today uint32) error {
	if today < activeKeepDays {
		return nil
	}
	cutoff := today - activeKeepDays
	c := marks.Cursor()
	n := 0
	for k, _ := c.First(); k != nil && n < auditFlushSize && len(k) >= 4 && binary.BigEndian.Uint32(k) < cutoff; k, _ = c.First() {
		n++
		userKey := append(append(append(make([]byte, 0, len(k)+1), k[4:]...), 0), k[:4]...)
		if err := byUser.Delete(userKey); err != nil {
			return err
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	dc := days.Cursor()
	for k, _ := dc.First(); k != nil && len(k) == 4 && binary.BigEndian.Uint32(k) < cutoff; k, _ = dc.First() {
		if err := dc.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// usersActive checks the activity buckets: every mark is in both, and each
// day's counts are what the marks say. A day's count of active users must
// equal its marks from the second day that has marks on (pruning takes the
// first day's marks a chunk at a time), and its gap counts must equal the
// marks whose previous mark is that many days before from 30 days past the
// first day on (before that, a previous mark may have been pruned).
func (c *integrityCheck) usersActive() error {
	t, err := activityOf(c.tx.b)
	if err != nil {
		return err
	}
	marks, byUser, days := t.marks, t.byUser, t.days
	type dayCounts [1 + activeGaps]int64
	want := map[uint32]*dayCounts{}
	var first uint32
	hasFirst := false
	var prevUser []byte
	var prevDay uint32
	err = byUser.ForEach(func(k, _ []byte) error {
		i := bytes.IndexByte(k, 0)
		if i <= 0 || len(k) != i+5 {
			c.report("users_active_by_user key %x is not <user>\\x00<day>", k)
			return nil
		}
		user, day := k[:i], binary.BigEndian.Uint32(k[i+1:])
		if !hasKey(marks, append(dayKey(day), user...)) {
			c.report("user %q active on day %d has no users_active mark", user, day)
		}
		if !hasFirst || day < first {
			first, hasFirst = day, true
		}
		w := want[day]
		if w == nil {
			w = new(dayCounts)
			want[day] = w
		}
		w[0]++
		if bytes.Equal(user, prevUser) && day-prevDay <= activeGaps {
			w[day-prevDay]++
		}
		prevUser, prevDay = append(prevUser[:0], user...), day
		return nil
	})
	if err != nil {
		return err
	}
	if n, m := marks.Stats().KeyN, byUser.Stats().KeyN; n != m {
		c.report("users_active holds %d marks, users_active_by_user %d", n, m)
	}
	return days.ForEach(func(k, v []byte) error {
		if len(k) != 4 || len(v) != activeDaySize {
			c.report("users_active_days record %x is malformed", k)
			return nil
		}
		day := binary.BigEndian.Uint32(k)
		w := want[day]
		if w == nil {
			w = new(dayCounts)
		}
		for gap := range w {
			got := int64(binary.BigEndian.Uint32(v[4*gap:]))
			switch {
			case gap == 0 && hasFirst && day > first && got != w[0]:
				c.report("day %d counts %d active users, its marks %d", day, got, w[0])
			case gap > 0 && hasFirst && day > first+activeGaps && got != w[gap]:
				c.report("day %d counts %d users last active %d days before, its marks %d", day, got, gap, w[gap])
			}
		}
		return nil
	})
}

// hasKey reports whether b holds key k, whatever its value.
func hasKey(b *kv.Bucket, k []byte) bool {
	got, _ := b.Cursor().Seek(k)
	return bytes.Equal(got, k)
}

// ActiveUserCounts are the active users around a day, as Logto's dashboard
// shows them.
type ActiveUserCounts struct {
	// Daily holds the users active on each of the 30 days ending with the
	// day, oldest first.
	Daily [30]int
	// Weekly and Monthly are the distinct users active in the 7 and 30
	// days ending with the day; the Previous ones in the 7 and 30 days
	// before those.
	Weekly, PreviousWeekly, Monthly, PreviousMonthly int
}

// CountActiveUsers counts tenant's active users around the UTC day of day
// (see the comment above bucketUsersActive): 60 reads whatever the number
// of users. Days older than activeKeepDays before today count no one, and
// a window that reaches before them counts the users of the days after.
func (db *DB) CountActiveUsers(ctx context.Context, tenant string, day time.Time) (*ActiveUserCounts, error) {
	if err := db.waitForAudits(ctx); err != nil {
		return nil, err
	}
	const span = 60 // days read: the previous MAU's 30 and the MAU's 30
	last := utcDay(day.UnixMilli())
	var counts [span][1 + activeGaps]int // counts[i]: day last-span+1+i
	// Days before keepFrom are pruned, or will be with the next mark:
	// they count no one, whether or not they are gone yet, and a window
	// starts no earlier, so that a user whose previous mark was pruned is
	// counted by the marks left.
	keepFrom := int64(utcDay(msec(db.now()))) - activeKeepDays
	err := db.View(ctx, tenant, func(tx *Tx) error {
		days, err := tx.bucket(bucketUsersActiveDays)
		if err != nil {
			return err
		}
		first := int64(last) - span + 1
		c := days.Cursor()
		for k, v := c.Seek(dayKey(uint32(max(first, keepFrom, 0)))); k != nil; k, v = c.Next() {
			if len(k) != 4 || len(v) != activeDaySize {
				return fmt.Errorf("user activity of day %x: bad record", k)
			}
			d := binary.BigEndian.Uint32(k)
			if d > last {
				break
			}
			for g := range counts[0] {
				counts[int64(d)-first][g] = int(binary.BigEndian.Uint32(v[4*g:]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// distinct counts the users active in days from..to (indexes of
	// counts): the marks whose previous mark is before from.
	distinct := func(from, to int) int {
		from = max(from, int(keepFrom-(int64(last)-span+1)))
		n := 0
		for d := from; d <= to; d++ {
			n += counts[d][0]
			for g := 1; g <= d-from; g++ {
				n -= counts[d][g]
			}
		}
		return n
	}
	out := &ActiveUserCounts{
		Weekly: distinct(span-7, span-1), PreviousWeekly: distinct(span-14, span-8),
		Monthly: distinct(span-30, span-1), PreviousMonthly: distinct(span-60, span-31),
	}
	for i := range out.Daily {
		out.Daily[i] = counts[span-30+i][0]
	}
	return out, nil
}
