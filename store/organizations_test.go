package store

import (
	"strings"
	"testing"
)

// browserScheme returns the scheme a browser would read from raw: the WHATWG
// URL parser strips leading and trailing C0 controls and spaces and removes
// every ASCII tab and newline before it reads the scheme, case-insensitively.
func browserScheme(raw string) string {
	s := strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// FuzzIsBrandingURL: an organization's logo URL comes from any Management
// API caller and is shown by consoles, so no URL isBrandingURL accepts may be
// read by a browser as javascript:, data: or vbscript:, and every accepted URL
// is absolute and at most maxURLField bytes.
func FuzzIsBrandingURL(f *testing.F) {
	for _, s := range []string{
		"https://cdn.example.com/logo.png", "myapp://assets/logo.png", "urn:example:logo", "ftp://f.example.com/l.png",
		"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "\x01javascript:x",
		"data:image/png;base64,AA==", "vbscript:msgbox(1)", "https:/logo.png", "/logo.png", "", "jav&#x09;ascript:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isBrandingURL(s) {
			return
		}
		if scheme := browserScheme(s); scriptSchemes[scheme] {
			t.Fatalf("accepted %q, which a browser reads as %s:", s, scheme)
		}
		if len(s) > maxURLField || !strings.Contains(s, ":") {
			t.Fatalf("accepted %q: not an absolute URL of at most %d bytes", s, maxURLField)
		}
	})
}
