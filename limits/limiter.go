package limits

import (
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate is a budget of Requests per Per. The zero Rate means unlimited.
type Rate struct {
	Requests int
	Per      time.Duration
}

// Unlimited reports whether r imposes no limit.
func (r Rate) Unlimited() bool { return r.Requests <= 0 || r.Per <= 0 }

// String formats r as ParseRate reads it.
func (r Rate) String() string {
	if r.Unlimited() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Requests, r.Per)
}

// ParseRate reads "200/10s" (requests per Go duration; "200/s" means one
// second) or "off". It rejects zero, negative or absurd values.
func ParseRate(s string) (Rate, error) {
	if s == "off" {
		return Rate{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("rate %q: want REQUESTS/DURATION (e.g. 200/10s) or off", s)
	}
	requests, err := strconv.Atoi(n)
	if err != nil || requests < 1 || requests > 1_000_000_000 {
		return Rate{}, fmt.Errorf("rate %q: requests must be a whole number from 1 to 1e9", s)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per
	}
	d, err := time.ParseDuration(per)
	if err != nil || d < time.Millisecond || d > 24*time.Hour {
		return Rate{}, fmt.Errorf("rate %q: duration must be between 1ms and 24h", s)
	}
	return Rate{Requests: requests, Per: d}, nil
}

// Decision is the outcome of one Allow, with what the RateLimit headers need.
type Decision struct {
	Allowed bool
	// Limit is the bucket size; zero when the key is unlimited.
	Limit int
	// Remaining is the whole number of requests left right now.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
	// RetryAfter is how long until the next request will be allowed; zero
	// when this one was.
	RetryAfter time.Duration
}

// shards spreads keys over independent locks so that tenants do not contend.
const shards = 64

// Limiter keeps one token bucket per key. A bucket holds up to Requests
// tokens and refills at Requests per Per, so a burst of Requests passes and a
// steady Requests/Per is never refused. Buckets that have refilled are
// dropped, so memory is bounded by the keys active within one period.
// It is safe for concurrent use.
type Limiter struct {
	def  Rate
	now  func() time.Time
	seed maphash.Seed
	// shardCap bounds the buckets of one shard; zero means unbounded.
	shardCap int

	mu        sync.RWMutex
	overrides map[string]Rate

	lastSweep atomic.Int64 // unix nanoseconds of the last sweep of all shards
	shards    [shards]shard
}

// sweepEvery is how often buckets that have refilled are dropped.
const sweepEvery = time.Minute

type shard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   Rate
}

// New returns a Limiter with default rate def; now nil means time.Now.
func New(def Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{def: def, now: now, seed: maphash.MakeSeed(), overrides: map[string]Rate{}}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// NewBounded is New for keys an attacker can choose, such as source
// addresses: it holds at most about maxKeys buckets. A new key at the bound
// takes the place of the bucket used least recently, so the bound never
// refuses a newcomer; at worst an address idle for a while starts afresh.
func NewBounded(def Rate, maxKeys int, now func() time.Time) *Limiter {
	l := New(def, now)
	l.shardCap = max(1, (maxKeys+shards-1)/shards)
	return l
}

// SetRate gives key its own rate; nil restores the default. It takes effect
// at the next request.
func (l *Limiter) SetRate(key string, r *Rate) {
	l.mu.Lock()
	if r == nil {
		delete(l.overrides, key)
	} else {
		l.overrides[key] = *r
	}
	l.mu.Unlock()
}

// RateFor returns the rate that applies to key.
func (l *Limiter) RateFor(key string) Rate {
	l.mu.RLock()
	r, ok := l.overrides[key]
	l.mu.RUnlock()
	if !ok {
		return l.def
	}
	return r
}

// Allow takes one token from key's bucket and reports the decision.
func (l *Limiter) Allow(key string) Decision { return l.take(key, true) }

// Peek reports whether key has a token left, without taking it. It stores
// nothing for a key not seen before.
func (l *Limiter) Peek(key string) Decision { return l.take(key, false) }

func (l *Limiter) take(key string, consume bool) Decision {
	rate := l.RateFor(key)
	if rate.Unlimited() {
		return Decision{Allowed: true}
	}
	now := l.now()
	if last := l.lastSweep.Load(); now.UnixNano()-last > int64(sweepEvery) && l.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		l.sweep(now)
	}
	s := &l.shards[maphash.String(l.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[key]
	if b == nil && !consume {
		// A key never seen has a full bucket; peeking stores nothing, so
		// that lookups alone cannot fill a bounded limiter.
		return Decision{Allowed: true, Limit: rate.Requests, Remaining: rate.Requests}
	}
	if b == nil || b.rate != rate {
		if b == nil && l.shardCap > 0 && len(s.buckets) >= l.shardCap {
			s.evict(now)
		}
		b = &bucket{tokens: float64(rate.Requests), last: now, rate: rate}
		s.buckets[key] = b
	}
	perToken := float64(rate.Per) / float64(rate.Requests)
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(rate.Requests), b.tokens+float64(elapsed)/perToken)
		b.last = now
	}
	d := Decision{Limit: rate.Requests}
	if b.tokens >= 1 {
		d.Allowed = true
		if consume {
			b.tokens--
		}
	} else {
		d.RetryAfter = time.Duration(math.Ceil((1 - b.tokens) * perToken))
	}
	d.Remaining = int(b.tokens)
	d.Reset = time.Duration(math.Ceil((float64(rate.Requests) - b.tokens) * perToken))
	return d
}

// sweep drops buckets that have refilled completely (a new bucket would be
// the same), one shard lock at a time.
func (l *Limiter) sweep(now time.Time) {
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for k, b := range s.buckets {
			if now.Sub(b.last) >= b.rate.Per {
				delete(s.buckets, k)
			}
		}
		s.mu.Unlock()
	}
}

// evict makes room in a full shard: it drops the buckets that have refilled
// and, if none has, the one used least recently. The caller holds s.mu.
func (s *shard) evict(now time.Time) {
	dropped := false
	var oldest string
	var oldestLast time.Time
	for k, b := range s.buckets {
		if now.Sub(b.last) >= b.rate.Per {
			delete(s.buckets, k)
			dropped = true
		} else if oldest == "" || b.last.Before(oldestLast) {
			oldest, oldestLast = k, b.last
		}
	}
	if !dropped && oldest != "" {
		delete(s.buckets, oldest)
	}
}

// Len returns the number of buckets held (for tests and metrics).
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
