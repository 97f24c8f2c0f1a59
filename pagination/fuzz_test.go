package pagination

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "page=1", "page_size=20", "page=2&page_size=50", "page=0", "page=-1",
		"page=1.5", "page=1e9", "page=0x10", "page=%2B5", "page=+5", "page=%205",
		"page=", "page=abc", "page_size=101", "page=99999999999999999999999",
		"page=1&page=2", "pag%65=3", "page=007", "page=2147483647", "page=2147483648",
		"page_size=99999999999999999999999", "page=%D9%A5", "page;x=1", "%zz=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		// ParseQuery may return an error along with the pairs it could
		// parse; handlers use r.URL.Query(), which ignores that error.
		q, _ := url.ParseQuery(rawQuery)
		p, err := Parse(q)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not match ErrInvalid", rawQuery, err)
			}
			if p != (Params{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", rawQuery, p)
			}
			return
		}
		if p.Page < 1 || p.Page > MaxPage {
			t.Fatalf("Parse(%q).Page = %d out of range", rawQuery, p.Page)
		}
		if p.PageSize < 1 || p.PageSize > MaxPageSize {
			t.Fatalf("Parse(%q).PageSize = %d out of range", rawQuery, p.PageSize)
		}
		if p.Offset() < 0 {
			t.Fatalf("Parse(%q).Offset() = %d", rawQuery, p.Offset())
		}
		_, hasPage := q["page"]
		_, hasSize := q["page_size"]
		if p.Explicit != (hasPage || hasSize) {
			t.Fatalf("Parse(%q).Explicit = %v", rawQuery, p.Explicit)
		}
	})
}

func FuzzWriteHeaders(f *testing.F) {
	f.Add("page=1&page_size=20", 1, 20, 103797)
	f.Add("search=%25sample%25&page_size=2", 1, 2, 1)
	f.Add("", 1, 20, 103797)
	f.Add("page=999999&page_size=20", 999999, 20, 103797)
	f.Add("", 1, 20, 0)
	f.Add("a=1&&b=%zz&pag%65=2&", 2, 1, 3)
	f.Add(`q=<a>"b c"&page=1`, 1, 20, 1)
	f.Add("page=1&page=2", 2147483647, 100, -1)
	f.Add("page", 0, 0, 5)
	const base = "https://idbolt.example"
	f.Fuzz(func(t *testing.T, rawQuery string, page, pageSize, total int) {
		p := Params{Page: page, PageSize: pageSize}
		h := http.Header{}
		WriteHeaders(h, base, "/t/acme/api/users", rawQuery, p, total)
		links := h.Values("Link")
		if len(links) < 2 || len(links) > 4 {
			t.Fatalf("got %d Link values: %q", len(links), links)
		}
		for _, l := range links {
			if !strings.HasPrefix(l, "<"+base) {
				t.Fatalf("Link %q does not start with <%s", l, base)
			}
			i := strings.Index(l, ">")
			if i < 0 || !strings.HasPrefix(l[i:], `>; rel="`) {
				t.Fatalf("Link %q: URL not closed by >; rel=", l)
			}
			if strings.ContainsAny(l[1:i], "<>\" \r\n") {
				t.Fatalf("Link %q: URL contains a byte that breaks the header", l)
			}
			switch l[i+len(`>; rel="`):] {
			case `first"`, `prev"`, `last"`, `next"`:
			default:
				t.Fatalf("Link %q does not end with a known rel", l)
			}
			u, err := url.Parse(l[1:i])
			if err != nil {
				t.Fatalf("Link %q: URL does not parse: %v", l, err)
			}
			if got := len(u.Query()["page"]); got != 1 {
				t.Fatalf("Link %q: %d page values, want 1", l, got)
			}
		}
	})
}
