package search

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// regexOptions are testOptions with posix and similar_to allowed.
func regexOptions() Options {
	o := testOptions()
	o.Regex = true
	return o
}

// matchName parses search.name=pattern in mode (case-sensitive when cs)
// and reports whether it matches name.
func matchName(t *testing.T, mode, pattern string, cs bool, name string) (bool, error) {
	t.Helper()
	q := url.Values{"search.name": {pattern}, "mode": {mode}}
	if cs {
		q.Set("isCaseSensitive", "true")
	}
	query, err := Parse(q, regexOptions())
	if err != nil {
		return false, err
	}
	ok := query.Match(getter(map[string]string{"name": name}))
	return ok, query.Err()
}

// TestRegexMatch checks posix (PostgreSQL's ~ and ~*) and similar_to
// (SIMILAR TO) against what PostgreSQL answers for the same pattern and
// value, including Logto's own lookahead example.
func TestRegexMatch(t *testing.T) {
	jerry := `^Jerry((?!Jr).)*Jr{1}((?!Jr).)*$`
	tests := []struct {
		mode, pattern string
		cs            bool
		value         string
		want          bool
	}{
		{"posix", jerry, true, "Jerry Smith Jr", true},
		{"posix", jerry, true, "Jerry Jr Smith", true},
		{"posix", jerry, true, "Jerry Jr Jr", false},
		{"posix", jerry, true, "Jerry Smith", false},
		{"posix", jerry, true, "Tom Jerry Jr", false},
		{"posix", "err", true, "Jerry", true}, // found anywhere
		{"posix", "JERRY", false, "Jerry", true},
		{"posix", "JERRY", true, "Jerry", false},
		{"posix", "c$", true, "abc\n", false}, // $ is the end of the value only
		{"posix", "c$", true, "abc", true},
		{"posix", "b.c", true, "ab\nc", true}, // . matches a newline
		{"posix", `\mfoo\M`, true, "a foo b", true},
		{"posix", `\mfoo\M`, true, "afoob", false},
		{"posix", `\yfoo\y`, true, "(foo)", true},
		{"posix", `o\Yo`, true, "foo", true},
		{"posix", `a\bb`, true, "a\bb", true}, // \b is a backspace
		{"posix", `a\bb`, true, "a b", false},
		{"posix", `^[[:digit:]]+$`, true, "12345", true},
		{"posix", `^[[:alpha:][:digit:]_]+$`, true, "Zoë_9", true},
		{"posix", `^[[:upper:]]`, true, "zoë", false},
		{"posix", `[]a]`, true, "]", true},
		{"posix", `^[^]a]$`, true, "]", false},
		{"posix", `[a-c[]`, true, "[", true},
		{"posix", `^a{2,3}$`, true, "aaa", true},
		{"posix", `^a{2,3}$`, true, "aaaa", false},
		{"posix", `a{`, true, "a{", true},
		{"posix", `(a)\1`, true, "xaay", true},
		{"posix", `^\d{3}-\d{4}$`, true, "555-1234", true},
		{"posix", `foo(?=bar)`, true, "foobar", true},
		{"posix", `(?<!x)foo`, true, "xfoo", false},
		{"posix", `\Afoo\Z`, true, "foo", true},
		{"similar_to", `%(b|d)%`, true, "abc", true},
		{"similar_to", `%(b|d)%`, true, "ace", false},
		{"similar_to", `a_c`, true, "abc", true},
		{"similar_to", `a_c`, true, "abbc", false},
		{"similar_to", `abc`, true, "xabcx", false}, // the whole value
		{"similar_to", `abc.`, true, "abcd", false}, // . is a literal
		{"similar_to", `abc.`, true, "abc.", true},
		{"similar_to", `[0-9]{3}`, true, "123", true},
		{"similar_to", `[0-9]{3}`, true, "1234", false},
		{"similar_to", `ab|cd`, true, "cd", true},
		{"similar_to", `ab|cd`, true, "abd", false},
		{"similar_to", `a\%`, true, "a%", true},
		{"similar_to", `a\%`, true, "ab", false},
		{"similar_to", `\d+`, true, "2024", true},
		{"similar_to", `(Jerry)+ Jr`, true, "JerryJerry Jr", true},
		{"similar_to", `%^%$%`, true, "a^b$c", true}, // ^ and $ are literals
		{"similar_to", `a\"b\"c`, true, "abc", true}, // SUBSTRING separators change nothing
		{"similar_to", `[a\]]%`, true, "]x", true},
	}
	for _, tt := range tests {
		got, err := matchName(t, tt.mode, tt.pattern, tt.cs, tt.value)
		if err != nil || got != tt.want {
			t.Errorf("%s %q (case-sensitive %v) on %q: %v, %v; want %v", tt.mode, tt.pattern, tt.cs, tt.value, got, err, tt.want)
		}
	}
}

// TestRegexRefused checks that patterns PostgreSQL refuses, or that idbolt
// cannot match as PostgreSQL does, are an *Error naming the key.
func TestRegexRefused(t *testing.T) {
	tests := []struct {
		mode, pattern string
		cs            bool
		wantInReason  string
	}{
		{"similar_to", "abc", false, "case-insensitive"},
		{"similar_to", `a\"b\"c\"d`, true, "more than two"},
		{"posix", "(?i)abc", true, "groups"},
		{"posix", "(?<name>a)", true, "groups"},
		{"posix", "(?>a)", true, "groups"},
		{"posix", "a{256}", true, "at most 255"},
		{"posix", "a{3,2}", true, "minimum"},
		{"posix", "[[:foo:]]", true, "not supported"},
		{"posix", "[[.a.]]", true, "collating"},
		{"posix", `\p{L}`, true, `\p`},
		{"posix", `\k<x>`, true, `\k`},
		{"posix", `abc\`, true, "backslash"},
		{"posix", `[abc`, true, "unterminated"},
		{"posix", `(abc`, true, "invalid regular expression"},
		{"posix", `*a`, true, "invalid regular expression"},
		{"posix", strings.Repeat("a", MaxPatternLen+1), true, "too long"},
		{"similar_to", strings.Repeat("a", MaxPatternLen+1), true, "too long"},
		{"posix", "\xff", true, "UTF-8"},
	}
	for _, tt := range tests {
		_, err := matchName(t, tt.mode, tt.pattern, tt.cs, "abc")
		e, ok := err.(*Error)
		if !ok || e.Param != "search.name" || !strings.Contains(e.Reason, tt.wantInReason) {
			t.Errorf("%s %q: %v, want an *Error on search.name mentioning %q", tt.mode, quoteShort(tt.pattern), err, tt.wantInReason)
		}
	}
	// Where the list does not allow them, the modes are refused as before.
	if _, err := Parse(url.Values{"search": {"a"}, "mode": {"posix"}}, testOptions()); err == nil {
		t.Error("posix allowed without Options.Regex")
	}
	if _, err := Parse(url.Values{"search": {"a", "b"}, "mode": {"posix"}}, regexOptions()); err == nil {
		t.Error("posix took two values")
	}
}

// TestRegexHostile runs patterns with catastrophic backtracking against
// values built to trigger it and checks that each is cut: the match stops
// with an error instead of running for minutes, and every later match of
// the query answers false at once. The error does not quote the value
// (another user's data). The time each took is logged, not
// checked: timings on a shared machine are not pass/fail.
func TestRegexHostile(t *testing.T) {
	long := strings.Repeat("a", 64) + "!"
	tests := []struct {
		mode, pattern, value string
	}{
		{"posix", `^(a+)+$`, long},
		{"posix", `^(a|aa)+$`, long},
		{"posix", `^(a|a?)+$`, long},
		{"posix", `^(.*a){12}$`, long},
		{"posix", `^(\w+\s?)+$`, strings.Repeat("word ", 20) + "!"},
		{"posix", `(x+x+)+y`, strings.Repeat("x", 64)},
		{"posix", `^((a+)+)+b`, long},
		{"posix", `^(?=(a+)+$)`, long},
		{"similar_to", `(a|aa)+`, long},
		{"similar_to", `(aa|a)+`, long},
		{"similar_to", `%(%a%)+%b`, long},
	}
	for _, tt := range tests {
		q, err := Parse(url.Values{"search.name": {tt.pattern}, "mode": {tt.mode}, "isCaseSensitive": {"true"}}, regexOptions())
		if err != nil {
			t.Fatalf("%s %q: %v", tt.mode, tt.pattern, err)
		}
		rec := getter(map[string]string{"name": tt.value})
		start := time.Now()
		matched := q.Match(rec)
		took := time.Since(start)
		e, ok := q.Err().(*Error)
		if matched || !ok || e.Param != "search.name" || strings.Contains(e.Reason, "aaa") || strings.Contains(e.Reason, "word") {
			t.Errorf("%s %q: matched %v, Err %v; want the match cut", tt.mode, tt.pattern, matched, q.Err())
			continue
		}
		start = time.Now()
		if q.Match(rec) {
			t.Errorf("%s %q: matched after it was cut", tt.mode, tt.pattern)
		}
		t.Logf("%-10s %-22q cut after %v (next match %v): %s", tt.mode, tt.pattern, took, time.Since(start), e.Reason)
	}
}

// TestRegexBudget checks the time budget of a query: patterns that are
// each quick enough but together take longer than the budget stop the
// query, with an Error, and the rest of its matches answer false. The
// budget is shrunk so that the test does not take a second.
func TestRegexBudget(t *testing.T) {
	q, err := Parse(url.Values{"search": {`^(a|b|ab)*c`}, "mode": {"posix"}}, regexOptions())
	if err != nil {
		t.Fatal(err)
	}
	q.budget.left = 5 * time.Millisecond
	rec := getter(map[string]string{"name": strings.Repeat("ab", 10), "username": strings.Repeat("ba", 10)})
	n := 0
	for ; n < 1_000_000 && q.Err() == nil; n++ {
		if q.Match(rec) {
			t.Fatal("matched")
		}
	}
	if e, ok := q.Err().(*Error); !ok || e.Param != "search" || !strings.Contains(e.Reason, "together") {
		t.Fatalf("after %d records: Err %v, want the budget spent", n, q.Err())
	}
	t.Logf("budget of 5ms spent after %d records", n)
	// A query without regex items has no budget to spend.
	if q, _ := Parse(url.Values{"search": {"%a%"}}, regexOptions()); q.Err() != nil {
		t.Errorf("like query: Err %v", q.Err())
	}
}
