package auth

import (
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
)

func TestClipJSON(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"client_credentials", 128, "client_credentials"},
		{strings.Repeat("a", 200), 128, strings.Repeat("a", 128)},
		{strings.Repeat("<", 200), 128, strings.Repeat("<", 21)},
		{"ab\"cd", 8, "ab\""}, {"ab\"cd", 7, "ab"},
		{"héllo", 4, "h"}, // é is two bytes, each counted as six
		{"", 128, ""},
	}
	for _, tt := range tests {
		if got := clipJSON(tt.in, tt.n); got != tt.want {
			t.Errorf("clipJSON(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzClipJSON checks the promise the audit bound rests on: the clipped
// value is a prefix that encoding/json writes in at most n bytes plus the
// quotes, and valid UTF-8 is never cut inside a rune.
func FuzzClipJSON(f *testing.F) {
	for _, s := range []string{"abc", "<>&\"\\", "\x00\x01\u2028é", "\xff\xfe", strings.Repeat("<", 300)} {
		f.Add(s, 128)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := clipJSON(s, n)
		if !strings.HasPrefix(s, got) {
			t.Fatalf("clipJSON(%q, %d) = %q, not a prefix", s, n, got)
		}
		data, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > n+2 {
			t.Fatalf("clipJSON(%q, %d) = %q encodes to %d bytes", s, n, got, len(data))
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("clipJSON(%q, %d) = %q cut a rune", s, n, got)
		}
	})
}

// TestAudit_EntryBound stores the largest entries a token request can make,
// from the worst input (every kept parameter, the user agent and the error
// description full of characters JSON escapes, the longest address), and
// checks them against maxAuditEntry and maxAuditSummary, on which the
// README's bound rests.
func TestAudit_EntryBound(t *testing.T) {
	a, db, _, _ := testAuth(t, "ES256")
	worst := strings.Repeat("<\x00", 400)
	r := httptest.NewRequest("POST", "/oidc/token", nil)
	r.RemoteAddr = "[fe80::ffff:ffff:ffff:ffff%abcdefghijklmno]:65535"
	r.Header.Set("User-Agent", worst)
	form := url.Values{"unknown": {worst}}
	for k := range auditParams {
		form.Set(k, worst)
	}
	req := &tokenRequest{GrantType: worst, ClientID: worst, Form: form}
	a.audit(r, "default", "src", req, &oauthError{Type: "unsupported_grant_type", Description: worst})
	a.suppress.pending[suppressionKey{"default", "src"}] = &suppressed{ip: ClientIP(r), count: math.MaxInt, since: time.Unix(1<<40, 0)}
	a.FlushAuditSummaries()

	var entries []*store.AuditEntry
	for deadline := time.Now().Add(10 * time.Second); len(entries) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		entries, _, err = db.FindAuditEntries(context.Background(), "default", store.AuditFilter{}, pagination.Params{Page: 1, PageSize: 10})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries, want 2", len(entries))
	}
	for _, e := range entries {
		// As stored: 8-byte key, 16-byte leaf element, 8-byte time, id
		// length and id, key length and key, payload.
		size := 8 + 16 + 8 + 1 + len(e.ID) + 2 + len(e.Key) + len(e.Payload)
		bound := maxAuditEntry
		if e.Key == auditSummaryKey {
			bound = maxAuditSummary
		}
		t.Logf("%s: %d bytes (bound %d)", e.Key, size, bound)
		if size > bound {
			t.Errorf("%s entry of %d bytes, over its bound of %d: %s", e.Key, size, bound, e.Payload)
		}
		if strings.Contains(string(e.Payload), "unknown") {
			t.Errorf("an unknown parameter was kept: %s", e.Payload)
		}
	}
}

// BenchmarkAudit_FlushDueWithManyPending measures a token request's flush
// when 100,000 summaries are pending and one falls due per request (many
// addresses failing in turn): only the due one may cost anything, not a
// scan of all that are pending.
func BenchmarkAudit_FlushDueWithManyPending(b *testing.B) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"), store.Options{NoSync: true, NoAudit: true, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a, err := New(Config{Store: db, BaseURL: "http://idbolt.test", Alg: "ES256", Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	const pending = 100_000
	for i := range pending {
		a.suppress.count("t"+strconv.Itoa(i), "src", "127.0.0.1", now.Add(time.Duration(i)*time.Microsecond))
	}
	now = now.Add(time.Minute)
	b.ResetTimer()
	for i := range b.N {
		if i%pending == pending-1 {
			b.StopTimer()
			for j := range pending {
				a.suppress.count("t"+strconv.Itoa(j), "src", "127.0.0.1", now.Add(time.Duration(j)*time.Microsecond-time.Minute))
			}
			b.StartTimer()
		}
		now = now.Add(time.Microsecond)
		a.flushAuditSummaries(now)
	}
}
