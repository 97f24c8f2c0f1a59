package store

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// movableClock is a clock a test moves by hand; safe for concurrent use.
type movableClock struct{ ms atomic.Int64 }

func newMovableClock(t time.Time) *movableClock {
	c := &movableClock{}
	c.ms.Store(t.UnixMilli())
	return c
}

func (c *movableClock) Now() time.Time               { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *movableClock) Add(d time.Duration)          { c.ms.Add(d.Milliseconds()) }
func (c *movableClock) In(d time.Duration) time.Time { return c.Now().Add(d) }

// waitJTIs waits until tenant's jti bucket holds want entries (the writer
// commits in the background) and fails the test if it does not within
// 10 s.
func waitJTIs(t *testing.T, db *DB, tenant string, want int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		err := db.View(context.Background(), tenant, func(tx *Tx) error {
			got = tx.b.Bucket(bucketJTIs).Stats().KeyN
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
	}
	t.Fatalf("the file holds %d jtis, want %d", got, want)
}

func wantReplayRefused(t *testing.T, err error, what string) {
	t.Helper()
	if ErrorCode(err) != EFORBIDDEN || ErrorMessage(err) != "assertion jti was already used" {
		t.Errorf("%s: %v, want the replay refused", what, err)
	}
}

func TestJTI_Claim(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	clock := newMovableClock(testNow)
	db.now = clock.Now
	j := NewJTI("robot", "once", clock.In(time.Minute))

	t.Run("OK", func(t *testing.T) {
		if err := db.ClaimJTI(ctx, DefaultTenant, j); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrInFlight", func(t *testing.T) {
		wantReplayRefused(t, db.ClaimJTI(ctx, DefaultTenant, j), "a claim while the first is in flight")
	})
	t.Run("Released", func(t *testing.T) {
		db.ReleaseJTI(DefaultTenant, j)
		if err := db.ClaimJTI(ctx, DefaultTenant, j); err != nil {
			t.Fatalf("claim after release: %v", err)
		}
		db.KeepJTI(ctx, DefaultTenant, j)
		// A kept jti is not released by a stray release.
		db.ReleaseJTI(DefaultTenant, j)
		wantReplayRefused(t, db.ClaimJTI(ctx, DefaultTenant, j), "replay")
	})
	t.Run("OtherClientSameJTI", func(t *testing.T) {
		if err := db.ClaimJTI(ctx, DefaultTenant, NewJTI("other-bot", "once", clock.In(time.Minute))); err != nil {
			t.Fatalf("another client's jti of the same name: %v", err)
		}
	})
	t.Run("TenantIsolation", func(t *testing.T) {
		if err := db.ClaimJTI(ctx, "other", j); err != nil {
			t.Fatalf("the same jti in another tenant: %v", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		clock.Add(time.Minute)
		if err := db.ClaimJTI(ctx, DefaultTenant, NewJTI("robot", "once", clock.In(time.Minute))); err != nil {
			t.Fatalf("claim once the first assertion expired: %v", err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := db.ClaimJTI(ctx, "nosuchtenant", j); ErrorCode(err) != ENOTFOUND {
			t.Errorf("unknown tenant: %v", err)
		}
	})
}

// TestJTI_Concurrent: of many concurrent claims of one jti, exactly one wins.
func TestJTI_Concurrent(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	j := NewJTI("robot", "race", testNow.Add(time.Minute))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if err := db.ClaimJTI(ctx, DefaultTenant, j); err == nil {
				wins.Add(1)
				db.KeepJTI(ctx, DefaultTenant, j)
			} else {
				wantReplayRefused(t, err, "concurrent claim")
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Errorf("%d claims won, want 1", got)
	}
}

// TestJTI_ClientBudget: a client that holds its most live jtis is refused,
// another client of the tenant is not; expired entries free the budget and
// leave memory and the file, so both stay bounded.
func TestJTI_ClientBudget(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	clock := newMovableClock(testNow)
	db.now = clock.Now
	const budget = 5
	db.jtis.max = budget
	claim := func(client string, i int) error {
		j := NewJTI(client, strconv.Itoa(i), clock.In(time.Hour))
		err := db.ClaimJTI(ctx, DefaultTenant, j)
		if err == nil {
			db.KeepJTI(ctx, DefaultTenant, j)
		}
		return err
	}
	for i := range budget {
		if err := claim("noisy", i); err != nil {
			t.Fatalf("noisy jti %d: %v", i, err)
		}
	}
	for i := budget; i < 3*budget; i++ {
		if err := claim("noisy", i); ErrorCode(err) != EFORBIDDEN {
			t.Fatalf("noisy jti %d beyond its budget: %v", i, err)
		}
	}
	for i := range budget {
		if err := claim("quiet", i); err != nil {
			t.Fatalf("quiet is blocked by noisy: jti %d: %v", i, err)
		}
	}
	waitJTIs(t, db, DefaultTenant, 2*budget)

	// An hour on, every entry has expired: the budget is free again, and
	// the old entries are gone from memory and, after the next write, from
	// the file.
	clock.Add(time.Hour)
	if err := claim("noisy", 100); err != nil {
		t.Fatalf("noisy after its jtis expired: %v", err)
	}
	set := db.jtis.set(DefaultTenant)
	set.mu.Lock()
	entries, heapLen := len(set.entries), len(set.expiries)
	set.mu.Unlock()
	if entries != 1 || heapLen != 1 {
		t.Errorf("memory holds %d entries (%d in the heap) after expiry, want 1", entries, heapLen)
	}
	waitJTIs(t, db, DefaultTenant, 1)
}

// TestJTI_Persisted: a kept jti is refused after a restart on the same file
// until it expires, and a restarted server prunes what expired meanwhile.
func TestJTI_Persisted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "idbolt.db")
	clock := newMovableClock(testNow)
	open := func() *DB {
		db, err := Open(ctx, path, Options{NoSync: true, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	if _, _, err := db.CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	short := NewJTI("robot", "short", clock.In(time.Minute))
	long := NewJTI("robot", "long", clock.In(time.Hour))
	for _, j := range []JTI{short, long} {
		if err := db.ClaimJTI(ctx, DefaultTenant, j); err != nil {
			t.Fatal(err)
		}
		db.KeepJTI(ctx, DefaultTenant, j)
	}
	db.Close() // a clean stop writes every queued jti

	db = open()
	defer db.Close()
	wantReplayRefused(t, db.ClaimJTI(ctx, DefaultTenant, long), "replay after a restart")
	wantReplayRefused(t, db.ClaimJTI(ctx, DefaultTenant, short), "replay of the short one after a restart")
	clock.Add(2 * time.Minute)
	if err := db.ClaimJTI(ctx, DefaultTenant, NewJTI("robot", "short", clock.In(time.Minute))); err != nil {
		t.Fatalf("short after it expired: %v", err)
	}
	db.Close()

	clock.Add(time.Minute)
	db = open()
	// The first claim after the start loads the file, sees the expired
	// entry and has the writer prune it.
	wantReplayRefused(t, db.ClaimJTI(ctx, DefaultTenant, long), "replay after a second restart")
	waitJTIs(t, db, DefaultTenant, 1) // only the long one
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error { // bbolt's own page check
		for err := range tx.Check() {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestJTI_IntegrityCheck: CheckIntegrity finds a malformed jti entry.
func TestJTI_IntegrityCheck(t *testing.T) {
	db := mustOpen(t)
	hash := NewJTI("robot", "x", testNow).Hash
	key := jtiKey(msec(testNow), hash[:])
	put := func(k, v []byte) {
		t.Helper()
		if err := db.update(func(tx *kv.Tx) error {
			return tx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketJTIs).Put(k, v)
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(key, nil)
	if err := db.CheckIntegrity(context.Background()); err == nil || !contains([]byte(err.Error()), []byte("no client id")) {
		t.Errorf("integrity: %v", err)
	}
	put(key, []byte("robot")) // repaired, so that mustOpen's own check passes
}

// TestJTI_SweepIdleTenant: once its jtis expire, a tenant that claims no
// more leaves memory when the writer next runs for any tenant, and its
// jtis are still refused until then, and read back if needed.
func TestJTI_SweepIdleTenant(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t)
	clock := newMovableClock(testNow)
	db.now = clock.Now
	keep := func(tenant, jti string, d time.Duration) JTI {
		t.Helper()
		j := NewJTI("robot", jti, clock.In(d))
		if err := db.ClaimJTI(ctx, tenant, j); err != nil {
			t.Fatal(err)
		}
		db.KeepJTI(ctx, tenant, j)
		return j
	}
	idle := keep("other", "idle", time.Minute)
	keep(DefaultTenant, "busy", time.Hour)
	waitJTIs(t, db, "other", 1)
	tenants := func() int {
		db.jtis.mu.Lock()
		defer db.jtis.mu.Unlock()
		return len(db.jtis.tenants)
	}
	if got := tenants(); got != 2 {
		t.Fatalf("%d tenant sets in memory, want 2", got)
	}
	wantReplayRefused(t, db.ClaimJTI(ctx, "other", idle), "replay in the idle tenant")

	clock.Add(2 * time.Minute)
	keep(DefaultTenant, "busy-2", time.Hour)
	for deadline := time.Now().Add(10 * time.Second); tenants() != 1 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if got := tenants(); got != 1 {
		t.Fatalf("%d tenant sets in memory after the idle one's jtis expired, want 1", got)
	}
	// The idle tenant's set is made again, from the file, when it claims.
	if err := db.ClaimJTI(ctx, "other", NewJTI("robot", "idle", clock.In(time.Minute))); err != nil {
		t.Fatalf("the expired jti of the swept tenant: %v", err)
	}
}

// BenchmarkJTI_ClaimKeep measures what the replay check adds to a JWT
// bearer token: one claim and one keep of a fresh jti (the file write is
// the writer goroutine's, group-committed, but its CPU is counted too).
// Assertions expire an hour after they are made, in whole seconds, 1000 a
// second.
func BenchmarkJTI_ClaimKeep(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b)
	db.jtis.max = 1 << 30
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		exp := testNow.Add(time.Hour + time.Duration(i/1000)*time.Second)
		j := NewJTI("robot", strconv.Itoa(i), exp)
		if err := db.ClaimJTI(ctx, DefaultTenant, j); err != nil {
			b.Fatal(err)
		}
		db.KeepJTI(ctx, DefaultTenant, j)
	}
}
