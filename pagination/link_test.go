package pagination

import (
	"net/http"
	"slices"
	"testing"
)

func TestWriteHeaders(t *testing.T) {
	const (
		base   = "https://idbolt.example"
		users  = "/api/users"
		tenant = "/t/acme/api/users"
	)
	tests := []struct {
		name      string
		baseURL   string
		path      string
		rawQuery  string
		p         Params
		total     int
		wantTotal string
		wantLinks []string
	}{
		{
			name:      "logto first page of many",
			baseURL:   base,
			path:      users,
			rawQuery:  "page=1&page_size=20",
			p:         Params{Page: 1, PageSize: 20, Explicit: true},
			total:     103797,
			wantTotal: "103797",
			wantLinks: []string{
				`<https://idbolt.example/api/users?page=1&page_size=20>; rel="first"`,
				`<https://idbolt.example/api/users?page=5190&page_size=20>; rel="last"`,
				`<https://idbolt.example/api/users?page=2&page_size=20>; rel="next"`,
			},
		},
		{
			name:      "logto search without page appends page and keeps encoding",
			baseURL:   base,
			path:      users,
			rawQuery:  "search=%25sample%25&page_size=2",
			p:         Params{Page: 1, PageSize: 2, Explicit: true},
			total:     1,
			wantTotal: "1",
			wantLinks: []string{
				`<https://idbolt.example/api/users?search=%25sample%25&page_size=2&page=1>; rel="first"`,
				`<https://idbolt.example/api/users?search=%25sample%25&page_size=2&page=1>; rel="last"`,
			},
		},
		{
			name:      "logto empty query with defaults",
			baseURL:   base,
			path:      users,
			rawQuery:  "",
			p:         Params{Page: 1, PageSize: DefaultPageSize},
			total:     103797,
			wantTotal: "103797",
			wantLinks: []string{
				`<https://idbolt.example/api/users?page=1>; rel="first"`,
				`<https://idbolt.example/api/users?page=5190>; rel="last"`,
				`<https://idbolt.example/api/users?page=2>; rel="next"`,
			},
		},
		{
			name:      "logto page past the end links back",
			baseURL:   base,
			path:      users,
			rawQuery:  "page=999999&page_size=20",
			p:         Params{Page: 999999, PageSize: 20, Explicit: true},
			total:     103797,
			wantTotal: "103797",
			wantLinks: []string{
				`<https://idbolt.example/api/users?page=1&page_size=20>; rel="first"`,
				`<https://idbolt.example/api/users?page=999998&page_size=20>; rel="prev"`,
				`<https://idbolt.example/api/users?page=5190&page_size=20>; rel="last"`,
			},
		},
		{
			name:      "empty list has last page 1",
			baseURL:   base,
			path:      users,
			rawQuery:  "",
			p:         Params{Page: 1, PageSize: DefaultPageSize},
			total:     0,
			wantTotal: "0",
			wantLinks: []string{
				`<https://idbolt.example/api/users?page=1>; rel="first"`,
				`<https://idbolt.example/api/users?page=1>; rel="last"`,
			},
		},
		{
			name:      "tenant prefix middle page has all four",
			baseURL:   base,
			path:      tenant,
			rawQuery:  "page_size=10&page=3&search=bob",
			p:         Params{Page: 3, PageSize: 10, Explicit: true},
			total:     95,
			wantTotal: "95",
			wantLinks: []string{
				`<https://idbolt.example/t/acme/api/users?page_size=10&page=1&search=bob>; rel="first"`,
				`<https://idbolt.example/t/acme/api/users?page_size=10&page=2&search=bob>; rel="prev"`,
				`<https://idbolt.example/t/acme/api/users?page_size=10&page=10&search=bob>; rel="last"`,
				`<https://idbolt.example/t/acme/api/users?page_size=10&page=4&search=bob>; rel="next"`,
			},
		},
		{
			name:      "tenant prefix last page has no next",
			baseURL:   base,
			path:      tenant,
			rawQuery:  "page=10&page_size=10",
			p:         Params{Page: 10, PageSize: 10, Explicit: true},
			total:     95,
			wantTotal: "95",
			wantLinks: []string{
				`<https://idbolt.example/t/acme/api/users?page=1&page_size=10>; rel="first"`,
				`<https://idbolt.example/t/acme/api/users?page=9&page_size=10>; rel="prev"`,
				`<https://idbolt.example/t/acme/api/users?page=10&page_size=10>; rel="last"`,
			},
		},
		{
			name:      "trailing slash on base URL is trimmed",
			baseURL:   base + "/",
			path:      tenant,
			rawQuery:  "",
			p:         Params{Page: 1, PageSize: DefaultPageSize},
			total:     5,
			wantTotal: "5",
			wantLinks: []string{
				`<https://idbolt.example/t/acme/api/users?page=1>; rel="first"`,
				`<https://idbolt.example/t/acme/api/users?page=1>; rel="last"`,
			},
		},
		{
			name:      "escaped page key is replaced in place keeping its spelling",
			baseURL:   base,
			path:      users,
			rawQuery:  "a=1&pag%65=2&b=2",
			p:         Params{Page: 2, PageSize: 1, Explicit: true},
			total:     3,
			wantTotal: "3",
			wantLinks: []string{
				`<https://idbolt.example/api/users?a=1&pag%65=1&b=2>; rel="first"`,
				`<https://idbolt.example/api/users?a=1&pag%65=1&b=2>; rel="prev"`,
				`<https://idbolt.example/api/users?a=1&pag%65=3&b=2>; rel="last"`,
				`<https://idbolt.example/api/users?a=1&pag%65=3&b=2>; rel="next"`,
			},
		},
		{
			name:      "empty pairs dropped and bad escapes kept raw",
			baseURL:   base,
			path:      users,
			rawQuery:  "&a=1&&b=%zz&page=1&",
			p:         Params{Page: 1, PageSize: 20},
			total:     1,
			wantTotal: "1",
			wantLinks: []string{
				`<https://idbolt.example/api/users?a=1&b=%zz&page=1>; rel="first"`,
				`<https://idbolt.example/api/users?a=1&b=%zz&page=1>; rel="last"`,
			},
		},
		{
			name:      "page key without value and plus encoding kept",
			baseURL:   base,
			path:      users,
			rawQuery:  "q=a+b&page",
			p:         Params{Page: 1, PageSize: 20},
			total:     1,
			wantTotal: "1",
			wantLinks: []string{
				`<https://idbolt.example/api/users?q=a+b&page=1>; rel="first"`,
				`<https://idbolt.example/api/users?q=a+b&page=1>; rel="last"`,
			},
		},
		{
			name:      "repeated page keeps only the first occurrence",
			baseURL:   base,
			path:      users,
			rawQuery:  "page=1&x=y&page=2",
			p:         Params{Page: 1, PageSize: 20},
			total:     1,
			wantTotal: "1",
			wantLinks: []string{
				`<https://idbolt.example/api/users?page=1&x=y>; rel="first"`,
				`<https://idbolt.example/api/users?page=1&x=y>; rel="last"`,
			},
		},
		{
			name:      "bytes that would break the Link value are escaped",
			baseURL:   base,
			path:      users,
			rawQuery:  `q=<a>"b c"&page=1`,
			p:         Params{Page: 1, PageSize: 20},
			total:     1,
			wantTotal: "1",
			wantLinks: []string{
				`<https://idbolt.example/api/users?q=%3Ca%3E%22b%20c%22&page=1>; rel="first"`,
				`<https://idbolt.example/api/users?q=%3Ca%3E%22b%20c%22&page=1>; rel="last"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			WriteHeaders(h, tt.baseURL, tt.path, tt.rawQuery, tt.p, tt.total)
			if got := h.Values("Total-Number"); !slices.Equal(got, []string{tt.wantTotal}) {
				t.Errorf("Total-Number = %q, want [%q]", got, tt.wantTotal)
			}
			got := h.Values("Link")
			if !slices.Equal(got, tt.wantLinks) {
				t.Errorf("Link mismatch\n got: %q\nwant: %q", got, tt.wantLinks)
			}
		})
	}
}

// TestWriteHeadersKeepsExistingHeaders checks that Total-Number replaces any
// earlier value while Link values are added after existing ones.
func TestWriteHeadersKeepsExistingHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Total-Number", "999")
	h.Add("Link", `<https://other.example/>; rel="help"`)
	WriteHeaders(h, "https://idbolt.example", "/api/users", "", Params{Page: 1, PageSize: 20}, 3)
	if got := h.Values("Total-Number"); !slices.Equal(got, []string{"3"}) {
		t.Errorf("Total-Number = %q, want [3]", got)
	}
	want := []string{
		`<https://other.example/>; rel="help"`,
		`<https://idbolt.example/api/users?page=1>; rel="first"`,
		`<https://idbolt.example/api/users?page=1>; rel="last"`,
	}
	if got := h.Values("Link"); !slices.Equal(got, want) {
		t.Errorf("Link = %q, want %q", got, want)
	}
}

func BenchmarkWriteHeaders(b *testing.B) {
	p := Params{Page: 3, PageSize: 20, Explicit: true}
	b.ReportAllocs()
	for b.Loop() {
		h := make(http.Header, 2)
		WriteHeaders(h, "https://idbolt.example", "/t/acme/api/users", "search=%25sample%25&page=3&page_size=20", p, 103797)
	}
}
