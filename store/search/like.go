package search

import (
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of one element of a compiled LIKE pattern.
type tokKind uint8

const (
	tokLit    tokKind = iota // one literal character
	tokAnyOne                // _
	tokAnyRun                // %
)

// token is one element of a compiled LIKE pattern. c is only meaningful
// for tokLit and holds a char as returned by decodeChar.
type token struct {
	kind tokKind
	c    rune
}

// pattern is a compiled LIKE pattern. It does not depend on case
// sensitivity (folding happens at match time), so a Query can change
// CaseSensitive without recompiling.
type pattern struct {
	toks []token
}

// invalidBase offsets bytes that are not valid UTF-8 beyond the Unicode
// range. Decoding such a byte as utf8.RuneError would make every invalid
// byte equal to every other one (and to a real U+FFFD); keeping the byte
// value makes "\xff" match only "\xff", as it would byte-wise in SQL.
const invalidBase = unicode.MaxRune + 1

// decodeChar returns the character at s[i:] and its width in bytes. A
// byte that does not start a valid UTF-8 sequence is one character of its
// own, distinct from every rune (see invalidBase).
func decodeChar(s string, i int) (rune, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && n == 1 {
		return invalidBase + rune(s[i]), 1
	}
	return r, n
}

// charEq reports whether two chars from decodeChar are equal, under
// Unicode simple case folding unless caseSensitive. Simple folding (the
// rule of strings.EqualFold and regexp's (?i)) maps one rune to one rune,
// so _ means "one character" whichever case a value is written in.
func charEq(a, b rune, caseSensitive bool) bool {
	if a == b {
		return true
	}
	if caseSensitive || a >= invalidBase || b >= invalidBase {
		return false
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		// ASCII fast path: two distinct ASCII characters fold together
		// only as an upper/lower letter pair. (The Kelvin sign and the
		// long s, which fold to k and s, are not ASCII and take the
		// general path below.)
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	// Walk the fold orbit of the smaller rune up to the larger one, as
	// strings.EqualFold does: orbits are cycles in increasing order.
	if a > b {
		a, b = b, a
	}
	r := unicode.SimpleFold(a)
	for r != a && r < b {
		r = unicode.SimpleFold(r)
	}
	return r == b
}

// equalString reports whether a and b are equal, under simple case
// folding unless caseSensitive. It does not allocate, unlike lowering
// both sides, which matters because it runs once per record.
func equalString(a, b string, caseSensitive bool) bool {
	if caseSensitive {
		return a == b
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, na := decodeChar(a, i)
		cb, nb := decodeChar(b, j)
		if !charEq(ca, cb, false) {
			return false
		}
		i += na
		j += nb
	}
	return i == len(a) && j == len(b)
}

// compileLike parses a LIKE pattern. The only malformed pattern is one
// ending in a lone backslash, which has nothing to escape; PostgreSQL
// rejects it too, and guessing a meaning would hide client bugs.
func compileLike(p string) (*pattern, error) {
	toks := make([]token, 0, len(p))
	for i := 0; i < len(p); {
		c, n := decodeChar(p, i)
		i += n
		switch c {
		case '%':
			// %% is the same as %; collapsing keeps the matcher's
			// backtracking point unique.
			if len(toks) > 0 && toks[len(toks)-1].kind == tokAnyRun {
				continue
			}
			toks = append(toks, token{kind: tokAnyRun})
		case '_':
			toks = append(toks, token{kind: tokAnyOne})
		case '\\':
			if i == len(p) {
				return nil, errTrailingBackslash
			}
			c, n = decodeChar(p, i)
			i += n
			toks = append(toks, token{kind: tokLit, c: c})
		default:
			toks = append(toks, token{kind: tokLit, c: c})
		}
	}
	return &pattern{toks: toks}, nil
}

// errTrailingBackslash is returned by Like for a malformed pattern. It is
// not an *Error because Like has no query parameter to name; Parse turns
// it into one. It is a constant so the package has no mutable state.
const errTrailingBackslash = likeError(`pattern ends with an unescaped backslash (write \\ for a literal backslash)`)

// likeError is a string error type, which lets errTrailingBackslash be a
// constant.
type likeError string

func (e likeError) Error() string { return string(e) }

// match reports whether s matches the whole pattern. It is the classic
// greedy wildcard algorithm: on a mismatch it resumes after the most
// recent %, letting that % swallow one more character. Only the most
// recent % ever needs revisiting (an earlier % could only absorb what the
// later one can), so the cost is O(len(toks)*len(s)) with no recursion,
// however many % the pattern holds. It does not allocate.
func (p *pattern) match(s string, caseSensitive bool) bool {
	toks := p.toks
	ti, si := 0, 0
	starT, starS := -1, 0
	for si < len(s) {
		if ti < len(toks) {
			switch t := toks[ti]; t.kind {
			case tokAnyRun:
				if ti == len(toks)-1 {
					return true // a trailing % takes whatever is left
				}
				starT, starS = ti, si
				ti++
				continue
			case tokAnyOne:
				_, n := decodeChar(s, si)
				si += n
				ti++
				continue
			default:
				c, n := decodeChar(s, si)
				if charEq(t.c, c, caseSensitive) {
					si += n
					ti++
					continue
				}
			}
		}
		if starT < 0 {
			return false
		}
		_, n := decodeChar(s, starS)
		starS += n
		si = starS
		ti = starT + 1
	}
	for ti < len(toks) && toks[ti].kind == tokAnyRun {
		ti++
	}
	return ti == len(toks)
}

// Like reports whether s matches the SQL LIKE pattern over the whole
// string: % matches any run of characters (including none), _ exactly one
// character (rune), and \ makes the next character literal. Unless
// caseSensitive, characters are compared under Unicode simple case folding.
// A byte that is not valid UTF-8 counts as one character and matches only
// itself. Like returns an error for a pattern ending in a lone backslash.
//
// Matching takes O(len(pattern)*len(s)) time whatever the pattern, so it
// is safe on untrusted patterns.
func Like(pattern, s string, caseSensitive bool) (bool, error) {
	p, err := compileLike(pattern)
	if err != nil {
		return false, err
	}
	return p.match(s, caseSensitive), nil
}
