package store

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestText_Problem(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		wantName  string // textProblem(in, false)
		wantDescr string // textProblem(in, true)
	}{
		{"empty", "", "", ""},
		{"ascii", "Orders API v2", "", ""},
		{"unicode", "Zoë's Bücher 注文 🚀", "", ""},
		{"replacement character itself", "a\uFFFDb", "", ""},
		{"NUL", "ad\x00min", "must not contain control characters", "must not contain control characters"},
		{"ESC", "\x1b[31mred", "must not contain control characters", "must not contain control characters"},
		{"DEL", "a\x7fb", "must not contain control characters", "must not contain control characters"},
		{"tab", "a\tb", "must not contain control characters", ""},
		{"newline", "line one\nline two", "must not contain control characters", ""},
		{"carriage return", "a\r\nb", "must not contain control characters", ""},
		{"vertical tab", "a\vb", "must not contain control characters", "must not contain control characters"},
		{"C1 NEL", "a\u0085b", "must not contain control characters", "must not contain control characters"},
		{"C1 CSI", "a\u009bb", "must not contain control characters", "must not contain control characters"},
		{"line separator", "a\u2028b", "must not contain line or paragraph separators", ""},
		{"paragraph separator", "a\u2029b", "must not contain line or paragraph separators", ""},
		{"invalid byte", "caf\xe9", "must be valid UTF-8 text", "must be valid UTF-8 text"},
		{"truncated sequence", "\xe6\x97", "must be valid UTF-8 text", "must be valid UTF-8 text"},
		{"overlong NUL", "a\xc0\x80", "must be valid UTF-8 text", "must be valid UTF-8 text"},
		{"surrogate half", "\xed\xa0\x80", "must be valid UTF-8 text", "must be valid UTF-8 text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := textProblem(tc.in, false); got != tc.wantName {
				t.Errorf("as a name: %q, want %q", got, tc.wantName)
			}
			if got := textProblem(tc.in, true); got != tc.wantDescr {
				t.Errorf("as a description: %q, want %q", got, tc.wantDescr)
			}
		})
	}
}

func TestText_CheckName(t *testing.T) {
	if err := checkName("name", nil); err != nil {
		t.Fatalf("nil: %v", err)
	}
	bad := "a\x00b"
	err := checkName("profile.givenName", &bad)
	var e *Error
	if !errors.As(err, &e) || e.Code != EINVALID || e.Field != "profile.givenName" ||
		e.Message != "profile.givenName: must not contain control characters" {
		t.Fatalf("got %#v", err)
	}
	multi := "first line\nsecond line"
	if err := checkDescription("description", &multi); err != nil {
		t.Fatalf("description with a newline: %v", err)
	}
}

// FuzzText_Problem checks textProblem against the standard library's view of
// the same string.
func FuzzText_Problem(f *testing.F) {
	for _, s := range []string{"", "abc", "a\x00", "\xff", "a\u2028", "\u0085", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, descr := textProblem(s, false), textProblem(s, true)
		if !utf8.ValidString(s) && (name == "" || descr == "") {
			t.Fatalf("%q: invalid UTF-8 accepted: %q / %q", s, name, descr)
		}
		if name == "" && strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r <= 0x9f) }) {
			t.Fatalf("%q: control character accepted in a name", s)
		}
		if descr != "" && name == "" {
			t.Fatalf("%q: a description is stricter than a name", s)
		}
	})
}
