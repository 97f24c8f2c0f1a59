package auth

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
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
