package search

import (
	"strings"
	"testing"
)

func TestLike(t *testing.T) {
	longA := strings.Repeat("a", 100000)
	tests := []struct {
		name          string
		pattern, s    string
		caseSensitive bool
		want          bool
		wantErr       bool
	}{
		{name: "literal", pattern: "abc", s: "abc", want: true},
		{name: "literal no implicit prefix", pattern: "abc", s: "xabc", want: false},
		{name: "literal no implicit suffix", pattern: "abc", s: "abcx", want: false},
		{name: "empty pattern empty string", pattern: "", s: "", want: true},
		{name: "empty pattern non-empty string", pattern: "", s: "a", want: false},
		{name: "percent matches empty", pattern: "%", s: "", want: true},
		{name: "percent matches anything", pattern: "%", s: "anything at all", want: true},
		{name: "double percent", pattern: "%%", s: "", want: true},
		{name: "prefix", pattern: "ab%", s: "abcdef", want: true},
		{name: "prefix mismatch", pattern: "ab%", s: "xabcdef", want: false},
		{name: "suffix", pattern: "%ef", s: "abcdef", want: true},
		{name: "suffix mismatch", pattern: "%ef", s: "abcdefx", want: false},
		{name: "contains", pattern: "%cd%", s: "abcdef", want: true},
		{name: "contains at edges", pattern: "%ab%", s: "ab", want: true},
		{name: "contains mismatch", pattern: "%dc%", s: "abcdef", want: false},
		{name: "percent needs backtracking", pattern: "%aab", s: "aaab", want: true},
		{name: "two percents", pattern: "a%b%c", s: "aXbYc", want: true},
		{name: "two percents order", pattern: "a%c%b", s: "aXbYc", want: false},
		{name: "underscore one char", pattern: "a_c", s: "abc", want: true},
		{name: "underscore not zero", pattern: "a_c", s: "ac", want: false},
		{name: "underscore not two", pattern: "a_c", s: "abbc", want: false},
		{name: "underscores count", pattern: "___", s: "abc", want: true},
		{name: "underscores too few chars", pattern: "___", s: "ab", want: false},
		{name: "underscore and percent", pattern: "%_", s: "", want: false},
		{name: "underscore and percent one", pattern: "%_", s: "x", want: true},
		{name: "underscore after percent", pattern: "%a_", s: "xxaxaY", want: true},
		{name: "escaped percent", pattern: `100\%`, s: "100%", want: true},
		{name: "escaped percent not wildcard", pattern: `100\%`, s: "1000", want: false},
		{name: "escaped underscore", pattern: `a\_b`, s: "a_b", want: true},
		{name: "escaped underscore not wildcard", pattern: `a\_b`, s: "axb", want: false},
		{name: "escaped backslash", pattern: `a\\b`, s: `a\b`, want: true},
		{name: "escaped ordinary char", pattern: `\a\b`, s: "ab", want: true},
		{name: "trailing backslash", pattern: `abc\`, s: `abc\`, wantErr: true},
		{name: "lone backslash", pattern: `\`, s: "", wantErr: true},
		{name: "escaped then trailing", pattern: `\\\`, s: `\`, wantErr: true},
		{name: "case-insensitive ascii", pattern: "HeLLo%", s: "hello world", want: true},
		{name: "case-sensitive ascii", pattern: "HeLLo%", s: "hello world", caseSensitive: true, want: false},
		{name: "case-sensitive exact case", pattern: "He%", s: "Hello", caseSensitive: true, want: true},
		{name: "non-letters not folded", pattern: "@", s: "`", want: false},
		{name: "unicode underscore is one rune", pattern: "_", s: "é", want: true},
		{name: "unicode underscore not one byte", pattern: "__", s: "é", want: false},
		{name: "emoji underscore", pattern: "a_b", s: "a😀b", want: true},
		{name: "unicode case-insensitive", pattern: "ÄÖÜ%", s: "äöü!", want: true},
		{name: "unicode case-sensitive", pattern: "ÄÖÜ%", s: "äöü!", caseSensitive: true, want: false},
		{name: "greek final sigma folds", pattern: "ΣΑΣ", s: "σας", want: true}, // σ, ς and Σ are one simple-fold orbit
		{name: "greek final sigma case-sensitive", pattern: "σας", s: "σασ", caseSensitive: true, want: false},
		{name: "kelvin sign folds to k", pattern: "\u212a", s: "k", want: true},
		{name: "long s folds to s", pattern: "S", s: "\u017f", want: true},
		{name: "cyrillic", pattern: "%ПРИВЕТ", s: "ну привет", want: true},
		{name: "escaped unicode", pattern: `\é`, s: "É", want: true},
		{name: "invalid utf8 matches itself", pattern: "a\xffb", s: "a\xffb", want: true},
		{name: "invalid utf8 distinct bytes", pattern: "a\xffb", s: "a\xfeb", want: false},
		{name: "invalid utf8 not replacement char", pattern: "\xff", s: "\ufffd", want: false},
		{name: "invalid utf8 byte is one char", pattern: "_", s: "\xff", want: true},
		{name: "pathological percents", pattern: "%a%a%a%a%a%b", s: longA, want: false},
		{name: "pathological percents match", pattern: "%a%a%a%a%a%b", s: longA + "b", want: true},
		{name: "pathological underscores", pattern: "%_a%_a%_a%_b", s: longA, want: false},
		{name: "long literal after percent", pattern: "%" + strings.Repeat("a", 200) + "b", s: longA, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Like(tt.pattern, tt.s, tt.caseSensitive)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Like(%q, %.20q) error = %v, wantErr %v", tt.pattern, tt.s, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Like(%q, %.20q, %v) = %v, want %v", tt.pattern, tt.s, tt.caseSensitive, got, tt.want)
			}
		})
	}
}

func TestEqualString(t *testing.T) {
	tests := []struct {
		a, b          string
		caseSensitive bool
		want          bool
	}{
		{"abc", "abc", false, true},
		{"ABC", "abc", false, true},
		{"ABC", "abc", true, false},
		{"abc", "abcd", false, false},
		{"", "", false, true},
		{"", "a", false, false},
		{"\u212a", "K", false, true}, // different byte lengths, equal under folding
		{"Straße", "STRASSE", false, false},
		{"\xff", "\xfe", false, false},
		{"\xff", "\xff", false, true},
		{"%", "%", false, true},
	}
	for _, tt := range tests {
		if got := equalString(tt.a, tt.b, tt.caseSensitive); got != tt.want {
			t.Errorf("equalString(%q, %q, %v) = %v, want %v", tt.a, tt.b, tt.caseSensitive, got, tt.want)
		}
		if got := equalString(tt.b, tt.a, tt.caseSensitive); got != tt.want {
			t.Errorf("equalString(%q, %q, %v) = %v, want %v (symmetry)", tt.b, tt.a, tt.caseSensitive, got, tt.want)
		}
	}
}
