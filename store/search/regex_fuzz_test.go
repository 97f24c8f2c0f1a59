package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSimilarTo checks the SIMILAR TO translation on any pattern: it never
// panics; its result is anchored as PostgreSQL's is; compiling and
// matching never panic; and where SIMILAR TO and LIKE mean the same (a
// pattern of literals, %, _ and escaped punctuation), the translated
// pattern matches exactly what Like matches.
func FuzzSimilarTo(f *testing.F) {
	for _, seed := range []struct{ pattern, s string }{
		{"%", ""}, {"a_c", "abc"}, {`a\%b`, "a%b"}, {"%(b|d)%", "abc"}, {`[a\]]%`, "]x"},
		{`a\"b\"c`, "abc"}, {`a\"b\"c\"d`, "abcd"}, {"(a|aa)+", "aaaa!"}, {`\`, ""}, {"[", "["},
		{"a{2,3}", "aaa"}, {"%.^$%", ".^$"}, {"ß_", "ßx"}, {`\d+`, "123"},
	} {
		f.Add(seed.pattern, seed.s)
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		out, err := translateSimilarTo(pattern)
		if err != nil {
			if strings.Count(pattern, `\"`) < 3 {
				t.Fatalf("translateSimilarTo(%q): %v", pattern, err)
			}
			return
		}
		if !strings.HasPrefix(out, "^(?:") || !strings.HasSuffix(out, ")$") {
			t.Fatalf("translateSimilarTo(%q) = %q: not anchored", pattern, out)
		}
		x, err := compileRegex("search", ModeSimilarTo, pattern, true, &regexBudget{left: RegexBudget})
		if err != nil {
			return // refused: an *Error, which Parse reports as 400
		}
		got := x.match(s)
		if x.budget.failed() != nil || !likeEquivalent(pattern) || !utf8.ValidString(s) {
			return
		}
		want, err := Like(pattern, s, true)
		if err == nil && got != want {
			t.Fatalf("SIMILAR TO %q on %q: %v, LIKE says %v (regexp %q)", pattern, s, got, want, out)
		}
	})
}

// likeEquivalent reports whether p means the same in SIMILAR TO as in
// LIKE: no character that SIMILAR TO reads as a regular-expression
// operator, and no escape of a letter or digit (an escape such as \d in
// SIMILAR TO) or of a double quote (a SUBSTRING separator).
func likeEquivalent(p string) bool {
	if !utf8.ValidString(p) || strings.ContainsAny(p, "|*+?{}()[]") {
		return false
	}
	rs := []rune(p)
	for i := 0; i < len(rs); i++ {
		if rs[i] != '\\' {
			continue
		}
		if i+1 == len(rs) {
			return false // LIKE refuses a trailing escape; SIMILAR TO drops it
		}
		i++
		if c := rs[i]; c == '"' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c > utf8.RuneSelf {
			return false
		}
	}
	return true
}
