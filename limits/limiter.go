package limits

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
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

// Limiter keeps one token bucket per key. A bucket holds up to Requests
// tokens and refills at Requests per Per, so a burst of Requests passes and a
// steady Requests/Per never waits. It is safe for concurrent use.
type Limiter struct {
	rate Rate
	now  func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter; now nil means time.Now.
func New(rate Rate, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{rate: rate, now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket. When none is left it returns false
// and how long until one will be.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l.rate.Unlimited() {
		return true, 0
	}
	now := l.now()
	perToken := float64(l.rate.Per) / float64(l.rate.Requests)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(l.rate.Requests), last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = math.Min(float64(l.rate.Requests), b.tokens+float64(elapsed)/perToken)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration(math.Ceil((1 - b.tokens) * perToken))
}
