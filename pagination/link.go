package pagination

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// WriteHeaders sets the Total-Number header to total and adds one Link
// header value per relation, in Logto's order: first, prev (only when
// p.Page > 1), last, next (only when p.Page < LastPage). Each value has the
// form `<URL>; rel="first"`.
//
// URL is baseURL (one trailing slash trimmed) + path + "?" + query, where
// path must already be escaped (r.URL.EscapedPath()) and query is rawQuery
// kept as received, in the same order and encoding, with only the page
// value changed: an existing page pair is rewritten in place, otherwise
// page=N is appended. Keys are compared after url.QueryUnescape, so
// pag%65 counts as page; pairs that fail to unescape are kept verbatim.
// Empty pairs (a=1&&b=2) are dropped.
//
// For a page past the end, prev is p.Page-1 (as Logto does) and there is
// no next, so clients can still walk back.
func WriteHeaders(h http.Header, baseURL, path, rawQuery string, p Params, total int) {
	if total < 0 {
		total = 0
	}
	h.Set("Total-Number", strconv.Itoa(total))

	page := p.Page
	if page < 1 {
		page = 1 // zero Params: behave as the first page rather than linking to page 0
	}
	last := LastPage(total, p.PageSize)

	before, after := splitQuery(rawQuery)
	prefix := "<" + strings.TrimSuffix(baseURL, "/") + escapeInvalid(path, false) + "?" + before

	// One builder reused for every relation: the URLs differ only in the
	// page number, so everything but the number is written from prefix
	// and after.
	var b strings.Builder
	link := func(n int, rel string) {
		b.Reset()
		b.Grow(len(prefix) + len(after) + 32)
		b.WriteString(prefix)
		b.WriteString(strconv.Itoa(n))
		b.WriteString(after)
		b.WriteString(`>; rel="`)
		b.WriteString(rel)
		b.WriteString(`"`)
		h.Add("Link", b.String())
	}

	link(1, "first")
	if page > 1 {
		link(page-1, "prev")
	}
	link(last, "last")
	if page < last {
		link(page+1, "next")
	}
}

// splitQuery splits rawQuery around the page value, so that a link is
// before + N + after. before ends with "page=" (in the client's own
// spelling of the key) and after holds the rest of the query with its
// leading "&".
//
// Only the first page pair is rewritten; any further page pairs are
// dropped so the link names exactly one page. Bytes that are not allowed
// in a URI query are percent-encoded, so that a hostile query cannot
// break out of the <...> of the Link value; a query received from a
// conforming client is left byte for byte as it was.
func splitQuery(rawQuery string) (before, after string) {
	var pre, post strings.Builder
	cur := &pre
	found := false
	for rest := rawQuery; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		rawKey, _, _ := strings.Cut(pair, "=")
		if key, err := url.QueryUnescape(rawKey); err == nil && key == pageParam {
			if found {
				continue
			}
			found = true
			if pre.Len() > 0 {
				pre.WriteByte('&')
			}
			pre.WriteString(escapeInvalid(rawKey, true))
			pre.WriteByte('=')
			cur = &post
			continue
		}
		if cur.Len() > 0 || cur == &post {
			cur.WriteByte('&')
		}
		cur.WriteString(escapeInvalid(pair, true))
	}
	if !found {
		if pre.Len() > 0 {
			pre.WriteByte('&')
		}
		pre.WriteString(pageParam + "=")
	}
	return pre.String(), post.String()
}

// escapeInvalid percent-encodes the bytes of s that RFC 3986 does not
// allow in a path (or, with query set, a query): controls, space,
// non-ASCII and characters such as < > " that would corrupt the Link
// header. Existing escapes and '%' are left alone so the client's
// encoding survives unchanged. The common case allocates nothing.
func escapeInvalid(s string, query bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !validURIByte(s[i], query) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if validURIByte(c, query) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&0xF])
	}
	return string(b)
}

// validURIByte reports whether c may appear unescaped in a path segment
// list (pchar and '/') or, with query set, in a query (pchar, '/', '?').
// '%' counts as valid because it introduces the escapes we must keep.
func validURIByte(c byte, query bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', // unreserved
		'!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', // sub-delims
		':', '@', '/', '%':
		return true
	case '?':
		return query
	}
	return false
}
