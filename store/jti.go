package store

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// An assertion of the JWT bearer grant that carries a jti may be used once
// (RFC 7523 section 3). The grant claims its jti here before it issues a
// token. A claim is checked and recorded in memory, under the tenant's
// mutex, so that of two concurrent requests with the same jti exactly one
// wins. A jti that got a token is also written to the data file (queued and
// group-committed, like token requests' audit entries), so a restarted
// server still refuses a replay; a tenant's jtis are read from the file the
// first time the tenant claims one after Open. In cluster mode the grant
// waits for its jti's write to be committed by a quorum before it hands out
// the token, so that a leader killed right after cannot let the next one
// accept a replay; concurrent grants still share one write.
//
// Memory and disk are bounded per client: a client holds at most
// maxJTIsPerClient live jtis, and an entry lives only until its assertion
// could no longer be accepted anyway (at most about an hour, see the grant).
// A client that signs too many assertions with a jti is refused; the other
// clients of its tenant are not affected.

// bucketJTIs holds a tenant's used jtis: expiry (8-byte big-endian ms) +
// sha256(client id \x00 jti) -> client id. Expired entries are a prefix of
// the cursor order, so pruning never reads a live one, and new entries
// (which expire about an hour from now) are appended near the end rather
// than spread over the tree. The file is never searched for one jti: the
// tenant's live entries are all in memory once it is loaded.
var bucketJTIs = []byte("jtis")

// jtiKeySize is the length of a bucketJTIs key.
const jtiKeySize = 8 + sha256.Size

// DefaultMaxJTIsPerClient is how many live jtis one client may hold when
// Options.MaxJTIsPerClient is zero: 10,000 assertions within their
// lifetime (at most an hour) is far beyond what a program that reuses its
// tokens needs, and costs at most about 1 MB of memory per client.
const DefaultMaxJTIsPerClient = 10_000

// jti writer settings: as the audit writer's.
const (
	jtiFlushEvery = 100 * time.Millisecond
	jtiFlushSize  = 2000
	jtiQueueSize  = 16384
)

// JTI is one assertion's jti, as the replay check sees it.
type JTI struct {
	// ClientID is the API client whose service user signed the assertion;
	// its budget pays for the entry.
	ClientID string
	// Hash is sha256(client id \x00 jti): jtis are the client's own names,
	// so two clients' jtis never collide.
	Hash [32]byte
	// Expires is when the assertion can no longer be accepted anyway; the
	// entry is forgotten then.
	Expires time.Time
}

// NewJTI returns the JTI of assertion jti signed for clientID, remembered
// until expires.
func NewJTI(clientID, jti string, expires time.Time) JTI {
	return JTI{ClientID: clientID, Hash: sha256.Sum256([]byte(clientID + "\x00" + jti)), Expires: expires}
}

// jtiKey is the bucketJTIs key of an entry.
func jtiKey(expires int64, hash []byte) []byte {
	k := make([]byte, 8, jtiKeySize)
	binary.BigEndian.PutUint64(k, uint64(expires))
	return append(k, hash...)
}

// jtiEntry is a claimed jti in memory. A pending entry is a request in
// flight; a kept one got a token and is in the expiry heap.
type jtiEntry struct {
	expires  int64 // ms
	clientID string
	kept     bool
}

// jtiExpiry is an element of the expiry heap.
type jtiExpiry struct {
	expires int64
	hash    [32]byte
}

// jtiHeap orders kept entries by expiry, so pruning is a pop of the front.
type jtiHeap []jtiExpiry

func (h jtiHeap) Len() int           { return len(h) }
func (h jtiHeap) Less(i, j int) bool { return h[i].expires < h[j].expires }
func (h jtiHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *jtiHeap) Push(x any)        { *h = append(*h, x.(jtiExpiry)) }
func (h *jtiHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// jtiSet is one tenant's claimed jtis.
type jtiSet struct {
	mu     sync.Mutex
	loaded bool // the file's entries were read
	// dropped is set when sweep removed the set from jtiSets: a claim that
	// got it just before must take the new one instead.
	dropped   bool
	entries   map[[32]byte]*jtiEntry
	perClient map[string]int
	expiries  jtiHeap
}

// jtiSets holds every tenant's jtiSet, and the queue to the jti writer.
type jtiSets struct {
	mu      sync.Mutex
	tenants map[string]*jtiSet
	max     int // live jtis per client
	queue   chan queuedJTI
	done    chan struct{} // closed when the writer has exited
}

// queuedJTI is a kept jti waiting for the writer, or (put false) a request
// to prune the tenant's expired entries.
type queuedJTI struct {
	tenant   string
	put      bool
	hash     [32]byte
	expires  int64
	clientID string
	// done, when set, receives the outcome of the write that holds the
	// entry (KeepJTI in cluster mode).
	done chan<- error
}

func newJTISets(max int) *jtiSets {
	if max <= 0 {
		max = DefaultMaxJTIsPerClient
	}
	return &jtiSets{tenants: map[string]*jtiSet{}, max: max, queue: make(chan queuedJTI, jtiQueueSize),
		done: make(chan struct{})}
}

// set returns tenant's jtiSet, made empty and not loaded the first time.
func (s *jtiSets) set(tenant string) *jtiSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[tenant]
	if !ok {
		t = &jtiSet{entries: map[[32]byte]*jtiEntry{}, perClient: map[string]int{}}
		s.tenants[tenant] = t
	}
	return t
}

// sweep prunes every tenant's set, so that the entries of a tenant that no
// longer claims jtis (idle or deleted) leave memory too, and drops the sets
// left empty. A dropped set is read from the file again when needed, which
// loses nothing: it held no pending entry and no live one.
func (s *jtiSets) sweep(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tenant, t := range s.tenants {
		t.mu.Lock()
		if t.prune(now); len(t.entries) == 0 {
			t.dropped = true
			delete(s.tenants, tenant)
		}
		t.mu.Unlock()
	}
}

// reload has every set read the file's entries again at its next claim
// (loadJTIs merges them with those in memory, so a pending claim stays).
func (s *jtiSets) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tenants {
		t.mu.Lock()
		t.loaded = false
		t.mu.Unlock()
	}
}

// prune forgets kept entries that expired at or before now.
func (t *jtiSet) prune(now int64) {
	for len(t.expiries) > 0 && t.expiries[0].expires <= now {
		x := heap.Pop(&t.expiries).(jtiExpiry)
		if e, ok := t.entries[x.hash]; ok && e.kept && e.expires == x.expires {
			t.forget(x.hash, e)
		}
	}
}

// forget removes an entry and gives its place back to its client.
func (t *jtiSet) forget(hash [32]byte, e *jtiEntry) {
	delete(t.entries, hash)
	if t.perClient[e.clientID]--; t.perClient[e.clientID] <= 0 {
		delete(t.perClient, e.clientID)
	}
}

// add records an entry and charges its client.
func (t *jtiSet) add(hash [32]byte, e *jtiEntry) {
	t.entries[hash] = e
	t.perClient[e.clientID]++
	if e.kept {
		heap.Push(&t.expiries, jtiExpiry{expires: e.expires, hash: hash})
	}
}

// loadJTIs reads tenant's unexpired entries from the file. It reports
// whether it saw expired ones, which the writer should then prune.
func (db *DB) loadJTIs(ctx context.Context, tenant string, t *jtiSet, now int64) (sawExpired bool, err error) {
	err = db.View(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketJTIs)
		if err != nil {
			return err
		}
		c := b.Cursor()
		if k, _ := c.First(); k != nil && len(k) == jtiKeySize && int64(binary.BigEndian.Uint64(k)) <= now {
			sawExpired = true
		}
		for k, v := c.Seek(jtiKey(now+1, nil)); k != nil; k, v = c.Next() {
			if len(k) != jtiKeySize || len(v) == 0 {
				return fmt.Errorf("tenant %s: jti entry %x: bad key or no client id", tenant, k)
			}
			hash, expires := [32]byte(k[8:]), int64(binary.BigEndian.Uint64(k))
			if e, ok := t.entries[hash]; ok {
				// Twice live only if the clock went back; the later wins.
				if e.expires >= expires {
					continue
				}
				t.forget(hash, e)
			}
			t.add(hash, &jtiEntry{expires: expires, clientID: string(v), kept: true})
		}
		return nil
	})
	return sawExpired, err
}

// ClaimJTI reserves j in tenant for a request in flight, which must then
// call KeepJTI (it got a token) or ReleaseJTI (it did not). Of concurrent
// claims of one jti exactly one succeeds.
//
// Returns EFORBIDDEN (oidc.invalid_grant) when j was already used, or when
// j's client already holds the most live jtis it may; ENOTFOUND for an
// unknown tenant.
func (db *DB) ClaimJTI(ctx context.Context, tenant string, j JTI) error {
	t := db.jtis.set(tenant)
	t.mu.Lock()
	for t.dropped {
		t.mu.Unlock()
		t = db.jtis.set(tenant)
		t.mu.Lock()
	}
	// The writer may wait for t.mu (sweep), so t.mu is never held while
	// waiting for room in the writer's queue: the prune request is queued
	// after the unlock (deferred calls run last in, first out).
	pruneFile := false
	defer func() {
		if pruneFile {
			db.queueJTI(queuedJTI{tenant: tenant})
		}
	}()
	defer t.mu.Unlock()
	now := msec(db.now())
	if !t.loaded {
		sawExpired, err := db.loadJTIs(ctx, tenant, t, now)
		if err != nil {
			clear(t.entries)
			clear(t.perClient)
			t.expiries = t.expiries[:0]
			return err
		}
		t.loaded, pruneFile = true, sawExpired
	}
	t.prune(now)
	if e, ok := t.entries[j.Hash]; ok {
		if e.expires > now {
			return errInvalidGrant("assertion jti was already used")
		}
		t.forget(j.Hash, e) // a pending entry whose request outlived it
	}
	if t.perClient[j.ClientID] >= db.jtis.max {
		return errInvalidGrant("the client has %d assertions with a jti that have not expired; try again later, or sign assertions with a shorter exp",
			db.jtis.max)
	}
	t.add(j.Hash, &jtiEntry{expires: msec(j.Expires), clientID: j.ClientID})
	return nil
}

// KeepJTI marks j, claimed by ClaimJTI, as used until j.Expires, and
// queues it for the data file. The writer commits queued jtis together at
// least every 100 ms, so a crash (not a Close) of a single server forgets
// at most that window; KeepJTI returns nil at once.
//
// In cluster mode it returns once the write that holds j is committed by a
// quorum and applied here, so a replay reaching the next leader is refused
// even if this one is killed right after; jtis kept meanwhile share that
// write. Returns EUNAVAILABLE if the write failed (this node lost the
// leadership), or ctx's error: the caller must not hand out its token then.
// j stays used on this node either way.
func (db *DB) KeepJTI(ctx context.Context, tenant string, j JTI) error {
	t := db.jtis.set(tenant)
	t.mu.Lock()
	e, ok := t.entries[j.Hash]
	ok = ok && !e.kept
	var q queuedJTI
	if ok {
		e.kept = true
		heap.Push(&t.expiries, jtiExpiry{expires: e.expires, hash: j.Hash})
		q = queuedJTI{tenant: tenant, put: true, hash: j.Hash, expires: e.expires, clientID: e.clientID}
	}
	t.mu.Unlock()
	if !ok {
		return nil
	}
	if db.replicator == nil {
		db.queueJTI(q)
		return nil
	}
	done := make(chan error, 1)
	q.done = done
	if !db.queueJTI(q) {
		return errJTINotKept()
	}
	select {
	case err := <-done:
		if err != nil {
			if ErrorCode(err) != EUNAVAILABLE {
				err = errJTINotKept()
			}
			return err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errJTINotKept refuses a grant whose jti could not be written.
func errJTINotKept() *Error {
	return &Error{Code: EUNAVAILABLE, Detail: "oidc.jti_not_kept", RetryAfter: time.Second,
		Message: "The assertion's jti could not be recorded; try again with a new assertion."}
}

// ReleaseJTI forgets j, claimed by ClaimJTI, for a request that got no
// token: the same assertion may be sent again.
func (db *DB) ReleaseJTI(tenant string, j JTI) {
	t := db.jtis.set(tenant)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.entries[j.Hash]; ok && !e.kept {
		t.forget(j.Hash, e)
	}
}

// queueJTI hands q to the writer and reports whether it did: after Close
// q is dropped.
func (db *DB) queueJTI(q queuedJTI) bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return false
	}
	db.jtis.queue <- q
	return true
}

// jtiLoop group-commits queued jtis as auditLoop does audit entries. A
// batch with a waiting grant (KeepJTI in cluster mode) is written as soon
// as the queue is empty rather than after the flush interval: the grants
// that arrive while one write is under way share the next. After each
// batch it prunes the expired entries of the tenants it wrote from the
// file, and those of every tenant from memory.
func (db *DB) jtiLoop() {
	defer close(db.jtis.done)
	batch := make([]queuedJTI, 0, jtiFlushSize)
	for first := range db.jtis.queue {
		batch = append(batch[:0], first)
		waiting := first.done != nil
		timer := time.NewTimer(jtiFlushEvery)
	gather:
		for len(batch) < jtiFlushSize {
			var q queuedJTI
			var ok bool
			if waiting {
				select {
				case q, ok = <-db.jtis.queue:
				default:
					break gather // a grant waits: write what is queued now
				}
			} else {
				select {
				case q, ok = <-db.jtis.queue:
				case <-timer.C:
					break gather
				}
			}
			if !ok {
				break gather
			}
			batch = append(batch, q)
			waiting = waiting || q.done != nil
		}
		timer.Stop()
		err := db.updateLog(func(btx *kv.Tx) error { return db.writeJTIs(btx, batch) })
		if err != nil && db.logAuditError != nil {
			db.logAuditError(fmt.Errorf("write assertion jtis: %w", err), len(batch))
		}
		for _, q := range batch {
			if q.done != nil {
				q.done <- err
			}
		}
		db.jtis.sweep(msec(db.now()))
	}
}

// writeJTIs stores a batch, then prunes each tenant of it once. Entries of
// a tenant deleted meanwhile are dropped.
func (db *DB) writeJTIs(btx *kv.Tx, batch []queuedJTI) error {
	tenants := btx.Bucket(bucketTenants)
	touched := map[string]bool{}
	for i := range batch {
		q := &batch[i]
		tb := tenants.Bucket([]byte(q.tenant))
		if tb == nil {
			continue
		}
		if q.put {
			if err := putJTI(tb, q.hash[:], q.expires, q.clientID); err != nil {
				return fmt.Errorf("tenant %s: %w", q.tenant, err)
			}
		}
		touched[q.tenant] = true
	}
	now := msec(db.now())
	for tenant := range touched {
		if _, err := pruneJTIs(tenants.Bucket([]byte(tenant)), now, pruneChunk); err != nil {
			return fmt.Errorf("tenant %s: %w", tenant, err)
		}
	}
	return nil
}

// putJTI stores one entry in a tenant bucket.
func putJTI(tb *kv.Bucket, hash []byte, expires int64, clientID string) error {
	b := tb.Bucket(bucketJTIs)
	if b == nil {
		return fmt.Errorf("jti bucket missing")
	}
	return b.Put(jtiKey(expires, hash), []byte(clientID))
}

// pruneJTIs deletes up to limit entries of a tenant bucket that expired at
// or before now, oldest first, and returns how many it deleted.
func pruneJTIs(tb *kv.Bucket, now int64, limit int) (int, error) {
	b := tb.Bucket(bucketJTIs)
	if b == nil {
		return 0, fmt.Errorf("jti bucket missing")
	}
	n := 0
	c := b.Cursor()
	// Delete moves the cursor to the next key, so the loop re-reads First.
	for k, _ := c.First(); k != nil && n < limit; k, _ = c.First() {
		if len(k) != jtiKeySize {
			return n, fmt.Errorf("jti entry %x: bad key length", k)
		}
		if int64(binary.BigEndian.Uint64(k)) > now {
			break
		}
		if err := c.Delete(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// jtis checks that every jti entry has a well-formed key and a client id.
func (c *integrityCheck) jtis() error {
	b, err := c.tx.bucket(bucketJTIs)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		if len(k) != jtiKeySize {
			c.report("jti entry %x: bad key length", k)
		} else if len(v) == 0 {
			c.report("jti entry %x: no client id", k)
		}
		return nil
	})
}
