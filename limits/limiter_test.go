package limits

import (
	"fmt"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{"200/10s", Rate{200, 10 * time.Second}, false},
		{"5/s", Rate{5, time.Second}, false},
		{"100/1m", Rate{100, time.Minute}, false},
		{"off", Rate{}, false},
		{"", Rate{}, true},
		{"200", Rate{}, true},
		{"0/10s", Rate{}, true},
		{"-1/10s", Rate{}, true},
		{"1.5/10s", Rate{}, true},
		{"200/0s", Rate{}, true},
		{"200/-1s", Rate{}, true},
		{"200/forever", Rate{}, true},
		{"200/10s/1", Rate{}, true},
		{"99999999999999999999/s", Rate{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"200/10s", "off", "5/s", "1/1ms", "x/y", "1/24h1ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if s != "off" && (r.Requests < 1 || r.Per < time.Millisecond || r.Per > 24*time.Hour) {
			t.Fatalf("ParseRate(%q) accepted %v", s, r)
		}
	})
}

func TestLimiter_BurstThenRefill(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Rate{200, 10 * time.Second}, func() time.Time { return now })
	for i := range 200 {
		d := l.Allow("a")
		if !d.Allowed || d.Limit != 200 || d.Remaining != 199-i {
			t.Fatalf("request %d of the burst: %+v", i, d)
		}
	}
	d := l.Allow("a")
	if d.Allowed || d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond || d.Remaining != 0 || d.Reset != 10*time.Second {
		t.Fatalf("201st: %+v, want refusal with retry of at most 50ms", d)
	}
	if !l.Allow("b").Allowed {
		t.Fatal("key b refused while a is exhausted")
	}
	if p := l.Peek("a"); p.Allowed {
		t.Fatalf("peek on an empty bucket: %+v", p)
	}
	now = now.Add(d.RetryAfter)
	if p := l.Peek("a"); !p.Allowed {
		t.Fatal("peek refused after waiting Retry-After")
	}
	if !l.Allow("a").Allowed {
		t.Fatal("refused after waiting Retry-After")
	}
	if l.Allow("a").Allowed {
		t.Fatal("peek consumed a token")
	}
}

func TestLimiter_SteadyRateNeverRefused(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Rate{200, 10 * time.Second}, func() time.Time { return now })
	for i := range 5000 { // 250 s at 20 req/s
		if !l.Allow("t").Allowed {
			t.Fatalf("steady request %d refused", i)
		}
		now = now.Add(50 * time.Millisecond)
	}
}

func TestLimiter_Off(t *testing.T) {
	l := New(Rate{}, nil)
	for range 10000 {
		if !l.Allow("t").Allowed {
			t.Fatal("unlimited limiter refused")
		}
	}
}

func BenchmarkLimiter_Allow(b *testing.B) {
	l := New(Rate{1 << 30, time.Second}, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow("tenant")
		}
	})
}

// BenchmarkLimiter_AllowManyTenants spreads the load over 1,000 tenants.
func BenchmarkLimiter_AllowManyTenants(b *testing.B) {
	l := New(Rate{1 << 30, time.Second}, nil)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("tenant-", i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(keys[i%len(keys)])
			i++
		}
	})
}

func TestLimiter_OverrideTakesEffectAtOnce(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Rate{200, 10 * time.Second}, func() time.Time { return now })
	l.Allow("t")
	l.SetRate("t", &Rate{2, time.Minute})
	if d := l.Allow("t"); !d.Allowed || d.Limit != 2 {
		t.Fatalf("first under override: %+v", d)
	}
	l.Allow("t")
	if l.Allow("t").Allowed {
		t.Fatal("third request allowed under 2/min")
	}
	l.SetRate("t", &Rate{})
	if !l.Allow("t").Allowed {
		t.Fatal("override off still limits")
	}
	l.SetRate("t", nil)
	if d := l.Allow("t"); d.Limit != 200 {
		t.Fatalf("default not restored: %+v", d)
	}
}

func TestLimiter_IdleBucketsDropped(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Rate{10, time.Second}, func() time.Time { return now })
	for i := range 10000 {
		l.Allow(fmt.Sprint("tenant-", i))
	}
	if l.Len() != 10000 {
		t.Fatalf("%d buckets, want 10000", l.Len())
	}
	now = now.Add(2 * time.Minute)
	for i := range 10000 {
		l.Allow(fmt.Sprint("active-", i%10))
	}
	if n := l.Len(); n > 10 {
		t.Fatalf("%d buckets after the idle ones refilled, want at most 10", n)
	}
}

func TestSourceKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not-an-ip", "not-an-ip"},
	}
	for _, tt := range tests {
		if got := SourceKey(tt.in); got != tt.want {
			t.Errorf("SourceKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSourceKey(f *testing.F) {
	for _, s := range []string{"203.0.113.7", "::1", "2001:db8::1", "fe80::1%lo", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := SourceKey(s)
		if k != s && len(k) > len("ffff:ffff:ffff:ffff::/64") {
			t.Fatalf("SourceKey(%q) = %q", s, k)
		}
	})
}

// TestLimiter_BoundedKeys floods a bounded limiter with new keys: it never
// holds many more than its bound, a newcomer is never refused, and a key in
// active use keeps its (spent) bucket.
func TestLimiter_BoundedKeys(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewBounded(Rate{2, time.Minute}, 1000, func() time.Time { return now })
	l.Allow("attacker")
	l.Allow("attacker")
	for i := range 100_000 {
		now = now.Add(time.Microsecond)
		if !l.Allow(fmt.Sprint("addr-", i)).Allowed {
			t.Fatalf("newcomer %d refused", i)
		}
		// 100 newcomers spread over 64 shards: far fewer than the 16
		// that would make the attacker's bucket the least recently used.
		if i%100 == 0 {
			if l.Allow("attacker").Allowed {
				t.Fatalf("spent key allowed again after %d newcomers", i)
			}
		}
	}
	if n := l.Len(); n > 1000+shards {
		t.Fatalf("%d buckets, want about 1000", n)
	}
	for i := range 10_000 {
		if d := l.Peek(fmt.Sprint("peeker-", i)); !d.Allowed || d.Remaining != 2 {
			t.Fatalf("peek of a new key: %+v", d)
		}
	}
	if l.Allow("attacker").Allowed {
		t.Fatal("peeks of new keys evicted a spent bucket")
	}
}

// TestRetryAfter checks the rounding every Retry-After of the server uses:
// up to whole seconds, and never 0, so that a client that waits is allowed.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"}, {time.Nanosecond, "1"}, {time.Second, "1"}, {time.Second + time.Millisecond, "2"}, {59*time.Second + 1, "60"},
	} {
		if got := RetryAfter(tc.d); got != tc.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
}
