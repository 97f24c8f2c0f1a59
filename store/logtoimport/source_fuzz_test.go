package logtoimport

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzErrorDetail feeds errorDetail what a hostile or broken source may
// answer: the detail it gives, which is printed on the operator's
// terminal, is valid UTF-8, has no control character and is bounded.
func FuzzErrorDetail(f *testing.F) {
	for _, seed := range []string{
		`{"code":"auth.unauthorized","message":"Unauthorized."}`,
		`{"error":"invalid_client","error_description":"client authentication failed"}`,
		"<html>502 Bad Gateway</html>",
		"{\"code\":\"x\",\"message\":\"\x1b]0;pwned\x07\x1b[2J\"}",
		"\xff\xfe\x00",
		strings.Repeat("é", 400),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d := errorDetail(body)
		if !utf8.ValidString(d) {
			t.Fatalf("invalid UTF-8: %q", d)
		}
		if len(d) > maxPrintable+len("...") {
			t.Fatalf("%d bytes: %q", len(d), d)
		}
		for _, r := range d {
			if unicode.IsControl(r) {
				t.Fatalf("control character %U in %q", r, d)
			}
		}
	})
}
