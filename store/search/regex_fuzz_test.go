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

// FuzzPosix checks the rewriting of PostgreSQL regular expressions on any
// pattern: it never panics, nor do compiling and matching what it accepts;
// and a pattern of letters, digits and spaces finds exactly the values
// that contain it (as ~ does), in either case unless case-sensitive.
func FuzzPosix(f *testing.F) {
	for _, seed := range []string{`^Jerry((?!Jr).)*Jr{1}((?!Jr).)*$`, `[[:alpha:]]+`, `[]a]`, `\mfoo\M`, `a{2,3}`, `(?<x>a)`,
		`[a-c[]`, `\`, `[[:`, `x{256}`, `a{,3}`, `abc`, `(a|aa)+$`, `[^\d]`, `\y\Y\A\Z\b`} {
		f.Add(seed, "Jerry Smith Jr", false)
	}
	f.Fuzz(func(t *testing.T, pattern, s string, caseSensitive bool) {
		x, err := compileRegex("search", ModePosix, pattern, caseSensitive, &regexBudget{left: RegexBudget})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("compileRegex(%q): %T %v, want an *Error", pattern, err, err)
			}
			return
		}
		got := x.match(s)
		if x.budget.failed() != nil || pattern == "" || !utf8.ValidString(s) || strings.Trim(pattern, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ") != "" {
			return
		}
		want := strings.Contains(s, pattern)
		if !caseSensitive {
			want = strings.Contains(strings.ToLower(s), strings.ToLower(pattern))
		}
		if got != want && isASCII(s) {
			t.Fatalf("posix %q on %q (case-sensitive %v): %v, want %v", pattern, s, caseSensitive, got, want)
		}
	})
}

// isASCII reports whether s is ASCII, where lowering both sides is the
// same comparison as matching case-insensitively.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
