package store

import (
	"unicode/utf8"
)

// Names and descriptions end up in logs, audit entries, consoles, emails and
// other systems' tokens. A control character in them (NUL, ESC, a newline in
// a name) truncates strings in C libraries, forges log lines or rewrites a
// terminal, and invalid UTF-8 would be replaced silently on the way out. So
// every entity's validation checks its text fields with checkName or
// checkDescription, on top of its own length rules.

// textProblem returns why s is not acceptable text, or "" when it is. A
// name may hold no control character at all: C0 (tab and newline
// included), DEL, C1, and the Unicode line and paragraph separators
// U+2028/U+2029 (line breaks to JavaScript and many log viewers). A
// multiline text (a description) may also hold tab, newline and carriage
// return, as Logto's descriptions can.
func textProblem(s string, multiline bool) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII: the common case, one byte at a time
			if (c < 0x20 || c == 0x7f) && !(multiline && (c == '\t' || c == '\n' || c == '\r')) {
				return "must not contain control characters"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return "must be valid UTF-8 text"
		case r >= 0x80 && r <= 0x9f:
			return "must not contain control characters"
		case (r == '\u2028' || r == '\u2029') && !multiline:
			return "must not contain line or paragraph separators"
		}
		i += size
	}
	return ""
}

// checkName returns EINVALID naming field when the name v (nil: not given)
// holds invalid UTF-8 or a control character; see textProblem.
func checkName(field string, v *string) error {
	if v == nil {
		return nil
	}
	if p := textProblem(*v, false); p != "" {
		return fieldError(field, "%s", p)
	}
	return nil
}

// checkDescription is checkName for multi-line text: tab, newline and
// carriage return are allowed.
func checkDescription(field string, v *string) error {
	if v == nil {
		return nil
	}
	if p := textProblem(*v, true); p != "" {
		return fieldError(field, "%s", p)
	}
	return nil
}
