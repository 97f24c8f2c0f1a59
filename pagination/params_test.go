package pagination

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		want    Params
		wantErr bool
	}{
		{name: "defaults when neither parameter is given", query: "", want: Params{Page: 1, PageSize: DefaultPageSize}},
		{name: "unrelated parameters do not make it explicit", query: "search=%25sample%25", want: Params{Page: 1, PageSize: DefaultPageSize}},
		{name: "page only is explicit with default size", query: "page=3", want: Params{Page: 3, PageSize: DefaultPageSize, Explicit: true}},
		{name: "page_size only is explicit with page 1", query: "page_size=5", want: Params{Page: 1, PageSize: 5, Explicit: true}},
		{name: "both given", query: "page=2&page_size=50", want: Params{Page: 2, PageSize: 50, Explicit: true}},
		{name: "escaped key counts as page", query: "pag%65=4", want: Params{Page: 4, PageSize: DefaultPageSize, Explicit: true}},
		{name: "leading zeros accepted", query: "page=007&page_size=010", want: Params{Page: 7, PageSize: 10, Explicit: true}},
		{name: "page_size at max", query: "page_size=100", want: Params{Page: 1, PageSize: MaxPageSize, Explicit: true}},
		{name: "page_size of one", query: "page_size=1", want: Params{Page: 1, PageSize: 1, Explicit: true}},
		{name: "page at max", query: "page=2147483647", want: Params{Page: MaxPage, PageSize: DefaultPageSize, Explicit: true}},

		{name: "page zero", query: "page=0", wantErr: true},
		{name: "page negative", query: "page=-1", wantErr: true},
		{name: "page fraction", query: "page=1.5", wantErr: true},
		{name: "page exponent", query: "page=1e9", wantErr: true},
		{name: "page hex", query: "page=0x10", wantErr: true},
		{name: "page plus sign", query: "page=%2B5", wantErr: true},
		{name: "page plus decoded as space", query: "page=+5", wantErr: true},
		{name: "page leading space", query: "page=%205", wantErr: true},
		{name: "page trailing space", query: "page=5%20", wantErr: true},
		{name: "page empty", query: "page=", wantErr: true},
		{name: "page key without value", query: "page", wantErr: true},
		{name: "page non-numeric", query: "page=abc", wantErr: true},
		{name: "page digits then letters", query: "page=5abc", wantErr: true},
		{name: "page non-ASCII digit", query: "page=%D9%A5", wantErr: true},
		{name: "page above max", query: "page=2147483648", wantErr: true},
		{name: "page overflows int64", query: "page=99999999999999999999999", wantErr: true},
		{name: "page repeated", query: "page=1&page=2", wantErr: true},
		{name: "page repeated with same value", query: "page=1&page=1", wantErr: true},
		{name: "page repeated via escaped key", query: "page=1&pag%65=1", wantErr: true},

		{name: "page_size zero", query: "page_size=0", wantErr: true},
		{name: "page_size negative", query: "page_size=-1", wantErr: true},
		{name: "page_size fraction", query: "page_size=1.5", wantErr: true},
		{name: "page_size exponent", query: "page_size=1e9", wantErr: true},
		{name: "page_size hex", query: "page_size=0x10", wantErr: true},
		{name: "page_size plus sign", query: "page_size=%2B5", wantErr: true},
		{name: "page_size leading space", query: "page_size=%205", wantErr: true},
		{name: "page_size empty", query: "page_size=", wantErr: true},
		{name: "page_size non-numeric", query: "page_size=abc", wantErr: true},
		{name: "page_size just above max", query: "page_size=101", wantErr: true},
		{name: "page_size far above max", query: "page_size=1000", wantErr: true},
		{name: "page_size overflows int64", query: "page_size=99999999999999999999999", wantErr: true},
		{name: "page_size repeated", query: "page_size=10&page_size=20", wantErr: true},
		{name: "valid page with bad page_size", query: "page=2&page_size=101", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", tt.query, err)
			}
			got, err := Parse(q)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error", tt.query, got)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("Parse(%q) error %v does not match ErrInvalid", tt.query, err)
				}
				var pe *ParamError
				if !errors.As(err, &pe) {
					t.Errorf("Parse(%q) error %T is not a *ParamError", tt.query, err)
				} else if pe.Param != pageParam && pe.Param != pageSizeParam {
					t.Errorf("Parse(%q) ParamError.Param = %q", tt.query, pe.Param)
				}
				if got != (Params{}) {
					t.Errorf("Parse(%q) returned %+v with an error, want zero Params", tt.query, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.query, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.query, got, tt.want)
			}
		})
	}
}

func TestParamErrorMessage(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  string
	}{
		{name: "range", query: "page_size=1000", want: `page_size: "1000": must be between 1 and 100`},
		{name: "page range", query: "page=0", want: `page: "0": must be between 1 and 2147483647`},
		{name: "syntax", query: "page=1.5", want: `page: "1.5": must be a decimal integer`},
		{name: "repeated", query: "page=1&page=2", want: `page: "1,2": must not be repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			_, err := Parse(q)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tt.query)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParamErrorIs(t *testing.T) {
	var err error = &ParamError{Param: "page", Value: "x", Reason: "r"}
	if !errors.Is(err, ErrInvalid) {
		t.Error("ParamError does not match ErrInvalid")
	}
	if errors.Is(err, errors.New("invalid pagination")) {
		t.Error("ParamError matches an unrelated error with the same text")
	}
	wrapped := errors.Join(errors.New("context"), err)
	if !errors.Is(wrapped, ErrInvalid) {
		t.Error("wrapped ParamError does not match ErrInvalid")
	}
}

func TestOffset(t *testing.T) {
	tests := []struct {
		name string
		p    Params
		want int
	}{
		{name: "first page", p: Params{Page: 1, PageSize: 20}, want: 0},
		{name: "second page", p: Params{Page: 2, PageSize: 20}, want: 20},
		{name: "max page and size", p: Params{Page: MaxPage, PageSize: MaxPageSize}, want: (MaxPage - 1) * MaxPageSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Offset(); got != tt.want {
				t.Errorf("Offset() = %d, want %d", got, tt.want)
			}
			if tt.p.Offset() < 0 {
				t.Errorf("Offset() overflowed")
			}
		})
	}
}

func TestLastPage(t *testing.T) {
	tests := []struct {
		name            string
		total, pageSize int
		want            int
	}{
		{name: "empty list still has page 1", total: 0, pageSize: 20, want: 1},
		{name: "negative total", total: -5, pageSize: 20, want: 1},
		{name: "one item", total: 1, pageSize: 20, want: 1},
		{name: "exactly one page", total: 20, pageSize: 20, want: 1},
		{name: "one over a page", total: 21, pageSize: 20, want: 2},
		{name: "logto sample", total: 103797, pageSize: 20, want: 5190},
		{name: "zero page size does not divide by zero", total: 10, pageSize: 0, want: 1},
		{name: "huge total does not overflow", total: int(^uint(0) >> 1), pageSize: 1, want: int(^uint(0) >> 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LastPage(tt.total, tt.pageSize); got != tt.want {
				t.Errorf("LastPage(%d, %d) = %d, want %d", tt.total, tt.pageSize, got, tt.want)
			}
		})
	}
}

// TestParseDecimalLongInput makes sure a very long digit string is a range
// error, not a syntax error or a slow path.
func TestParseDecimalLongInput(t *testing.T) {
	q := url.Values{"page": {strings.Repeat("9", 10000)}}
	_, err := Parse(q)
	var pe *ParamError
	if !errors.As(err, &pe) || !strings.HasPrefix(pe.Reason, "must be between") {
		t.Fatalf("Parse(long digits) error = %v, want range error", err)
	}
}
