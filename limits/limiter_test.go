package limits

import (
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
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, retry := l.Allow("a")
	if ok || retry <= 0 || retry > 50*time.Millisecond {
		t.Fatalf("201st: ok=%v retry=%v, want refusal with retry of at most 50ms", ok, retry)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("key b refused while a is exhausted")
	}
	now = now.Add(retry)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("refused after waiting Retry-After")
	}
}

func TestLimiter_SteadyRateNeverRefused(t *testing.T) {
	now := time.Unix(0, 0)
	l := New(Rate{200, 10 * time.Second}, func() time.Time { return now })
	for i := range 5000 { // 250 s at 20 req/s
		if ok, _ := l.Allow("t"); !ok {
			t.Fatalf("steady request %d refused", i)
		}
		now = now.Add(50 * time.Millisecond)
	}
}

func TestLimiter_Off(t *testing.T) {
	l := New(Rate{}, nil)
	for range 10000 {
		if ok, _ := l.Allow("t"); !ok {
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
