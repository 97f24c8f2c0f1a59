package search

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// refLike is the reference LIKE implementation the fuzzer checks Like
// against: the pattern translated to an anchored regexp, which Go's
// regexp package matches in linear time with the same simple case
// folding ((?i)). ok is false when the reference has no answer: a
// malformed pattern, or input that is not valid UTF-8 (which regexp
// decodes differently, as U+FFFD).
func refLike(pattern, s string, caseSensitive bool) (match, ok bool) {
	if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
		return false, false
	}
	var b strings.Builder
	b.WriteString(`(?s)`)
	if !caseSensitive {
		b.WriteString(`(?i)`)
	}
	b.WriteString(`\A`)
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '%':
			b.WriteString(`.*`)
		case '_':
			b.WriteString(`.`)
		case '\\':
			i++
			if i == len(rs) {
				return false, false
			}
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		default:
			b.WriteString(regexp.QuoteMeta(string(rs[i])))
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return false, false
	}
	return re.MatchString(s), true
}

func FuzzLike(f *testing.F) {
	seeds := []struct {
		pattern, s string
		cs         bool
	}{
		{"%", "", false},
		{"", "", false},
		{"a%b_c", "aXXbYc", false},
		{`100\%`, "100%", true},
		{`abc\`, `abc\`, false},
		{"%a%a%a%a%a%b", strings.Repeat("a", 64), false},
		{"%_a%_a", "xaxa", false},
		{"ÄÖ_", "äöü", false},
		{"\u212a%", "kelvin", false},
		{"ς", "Σ", false},
		{"a\xffb", "a\xfeb", false},
		{"_", "\xff", true},
	}
	for _, s := range seeds {
		f.Add(s.pattern, s.s, s.cs)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, cs bool) {
		// Parse caps patterns at MaxValueLen; twice that still covers
		// everything while keeping each run (and the fuzzer's
		// minimization of long inputs) quick, since both Like and the
		// reference take time proportional to len(pattern)*len(s).
		if len(pattern) > 2*MaxValueLen || len(s) > 4096 {
			return
		}
		got, err := Like(pattern, s, cs)
		if err != nil && !errors.Is(err, errTrailingBackslash) {
			t.Fatalf("Like(%q, %q) unexpected error %v", pattern, s, err)
		}
		if err != nil && got {
			t.Fatalf("Like(%q, %q) = true with error", pattern, s)
		}
		// Like with the string itself, all metacharacters escaped, must
		// always match: every character equals itself.
		var esc strings.Builder
		for _, r := range s {
			if r == '%' || r == '_' || r == '\\' {
				esc.WriteByte('\\')
			}
			esc.WriteRune(r)
		}
		if utf8.ValidString(s) {
			if self, err := Like(esc.String(), s, cs); err != nil || !self {
				t.Fatalf("Like(%q, %q) = %v, %v; want a self-match", esc.String(), s, self, err)
			}
		}
		want, ok := refLike(pattern, s, cs)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("Like(%q, %q) error %v, but the reference accepts the pattern", pattern, s, err)
		}
		if got != want {
			t.Fatalf("Like(%q, %q, cs=%v) = %v, reference says %v", pattern, s, cs, got, want)
		}
	})
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		"",
		"search=%25foo%25",
		"search.username=alice&mode.username=exact&joint=and&isCaseSensitive=true",
		"search.customData.plan=pro&mode.customData.plan=exact",
		"search.id=a&search.id=b&mode=exact",
		"search=a&mode=posix",
		"search.customData.a.b=x",
		"search.foo.bar=1&jointMode=or",
		"search=a%5C",
		"search.=&mode.=&joint=&isCaseSensitive=",
		"searchFoo=1&page=2",
		"search=a&joint=and&jointMode=or",
		"%zz=1&search=a",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	opts := testOptions()
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // keep what parsed, as net/http does
		q, err := Parse(v, opts)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *Error", raw, err, err)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) error %T, want *Error itself", raw, err)
			}
			if se.Param == "" || se.Reason == "" {
				t.Fatalf("Parse(%q) error %#v lacks Param or Reason", raw, se)
			}
			return
		}
		if len(q.Items) > MaxItems {
			t.Fatalf("Parse(%q) returned %d items", raw, len(q.Items))
		}
		for _, it := range q.Items {
			if it.Mode != ModeLike && it.Mode != ModeExact {
				t.Fatalf("Parse(%q) item mode %q", raw, it.Mode)
			}
			if len(it.Values) == 0 || len(it.Values) > MaxValues || (it.Mode == ModeLike && len(it.Values) != 1) {
				t.Fatalf("Parse(%q) item %+v has a bad value count", raw, it)
			}
		}
		// Match must not panic, whatever the record holds; use the
		// query's own values as field values so some items match.
		rec := map[string]string{}
		for k, vals := range v {
			if len(vals) > 0 {
				rec[strings.TrimPrefix(k, "search.")] = vals[0]
				rec["name"] = vals[0]
			}
		}
		q.Match(getter(rec))
		q.Match(getter(nil))
	})
}
