package pagination

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPageSize is the page size used when the query has no page_size,
// matching Logto's default.
const DefaultPageSize = 20

// MaxPageSize is the largest page_size accepted. It bounds the work and the
// response size of a single request.
const MaxPageSize = 100

// MaxPage is the largest page number accepted; larger page numbers are
// rejected. It keeps Offset ((MaxPage-1)*MaxPageSize) well inside a 64-bit
// int, so no arithmetic on valid Params can overflow.
const MaxPage = 1<<31 - 1

// Query parameter names, kept unexported so that no extra globals leak.
const (
	pageParam     = "page"
	pageSizeParam = "page_size"
)

// ErrInvalid is matched (errors.Is) by every error Parse returns, so
// handlers can map any pagination problem to a 400 without inspecting it.
var ErrInvalid = errors.New("invalid pagination")

// Params is a parsed page request.
type Params struct {
	Page     int  // >= 1
	PageSize int  // 1..MaxPageSize
	Explicit bool // true when the query named page or page_size (some Logto lists return everything when neither is given)
}

// ParamError names the bad parameter, its raw value and why it was
// rejected. errors.Is(err, ErrInvalid) is true for it.
type ParamError struct {
	Param  string // "page" or "page_size"
	Value  string // the value as received; repeated values are joined with ","
	Reason string // e.g. "must be between 1 and 100"
}

// Error returns a message such as `page_size: "1000": must be between 1 and 100`.
func (e *ParamError) Error() string {
	return fmt.Sprintf("%s: %q: %s", e.Param, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalid, so callers need only one
// sentinel for every pagination error.
func (e *ParamError) Is(target error) bool {
	return target == ErrInvalid
}

// Parse reads page (default 1) and page_size (default DefaultPageSize) from
// q. Both must be plain decimal integers made only of ASCII digits (no sign,
// spaces, fraction, exponent or base prefix) within range: page in
// 1..MaxPage, page_size in 1..MaxPageSize. Leading zeros are accepted. A
// parameter given more than once is rejected rather than guessing which
// value the client meant. Every error is a *ParamError matching ErrInvalid.
func Parse(q url.Values) (Params, error) {
	p := Params{Page: 1, PageSize: DefaultPageSize}
	var err error
	var present bool
	if p.Page, present, err = parseParam(q, pageParam, 1, MaxPage); err != nil {
		return Params{}, err
	}
	p.Explicit = present
	if p.PageSize, present, err = parseParam(q, pageSizeParam, DefaultPageSize, MaxPageSize); err != nil {
		return Params{}, err
	}
	p.Explicit = p.Explicit || present
	return p, nil
}

// parseParam returns def when name is absent from q, and otherwise the
// single value of name parsed as a decimal integer in 1..max.
func parseParam(q url.Values, name string, def, max int) (n int, present bool, err error) {
	vs, present := q[name]
	if !present {
		return def, false, nil
	}
	if len(vs) != 1 {
		return 0, true, &ParamError{Param: name, Value: strings.Join(vs, ","), Reason: "must not be repeated"}
	}
	v := vs[0]
	n, ok := parseDecimal(v, max)
	switch {
	case !ok:
		return 0, true, &ParamError{Param: name, Value: v, Reason: "must be a decimal integer"}
	case n < 1 || n > max:
		return 0, true, &ParamError{Param: name, Value: v, Reason: "must be between 1 and " + strconv.Itoa(max)}
	}
	return n, true, nil
}

// parseDecimal parses s as [0-9]+. It is hand-rolled rather than
// strconv.Atoi because Atoi accepts a sign and we need to tell syntax
// errors from range errors without depending on strconv's error types.
// Values above max are reported as max+1 (ok stays true) so the caller
// produces a range error instead of overflowing.
func parseDecimal(s string, max int) (n int, ok bool) {
	if s == "" {
		return 0, false
	}
	over := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if over {
			continue // keep checking the syntax of the remaining bytes
		}
		n = n*10 + int(c-'0')
		if n > max { // max is far below the int range, so n*10 cannot overflow first
			over = true
		}
	}
	if over {
		return max + 1, true
	}
	return n, true
}

// Offset returns the number of items before the page, (Page-1)*PageSize.
// For Params returned by Parse it is at most (MaxPage-1)*MaxPageSize, which
// fits a 64-bit int.
func (p Params) Offset() int {
	return (p.Page - 1) * p.PageSize
}

// LastPage returns the number of the last page for total items, which is
// max(1, ceil(total/pageSize)): an empty list still has page 1, as in Logto.
// A pageSize below 1 yields 1 rather than dividing by zero.
func LastPage(total, pageSize int) int {
	if total <= 0 || pageSize <= 0 {
		return 1
	}
	return (total-1)/pageSize + 1 // no overflow, unlike (total+pageSize-1)/pageSize
}

// All returns the page that holds every row. Some Logto lists answer with all
// rows, and no paging headers, when the request names neither page nor
// page_size.
func All() Params { return Params{Page: 1, PageSize: math.MaxInt32} }
