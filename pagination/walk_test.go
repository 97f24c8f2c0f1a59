package pagination

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
)

// sliceCursor is an in-memory BidiCursor over sorted keys, standing in for
// *bbolt.Cursor. pos == -1 or len(keys) means "off the end".
type sliceCursor struct {
	keys []string
	pos  int
}

func newSliceCursor(n int) *sliceCursor {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%04d", i)
	}
	slices.Sort(keys)
	return &sliceCursor{keys: keys}
}

func (c *sliceCursor) at() (k, v []byte) {
	if c.pos < 0 || c.pos >= len(c.keys) {
		return nil, nil
	}
	k = []byte(c.keys[c.pos])
	return k, []byte("v" + c.keys[c.pos][1:])
}

func (c *sliceCursor) First() (k, v []byte) { c.pos = 0; return c.at() }
func (c *sliceCursor) Last() (k, v []byte)  { c.pos = len(c.keys) - 1; return c.at() }
func (c *sliceCursor) Next() (k, v []byte) {
	if c.pos < len(c.keys) {
		c.pos++
	}
	return c.at()
}
func (c *sliceCursor) Prev() (k, v []byte) {
	if c.pos >= 0 {
		c.pos--
	}
	return c.at()
}

// keyNum returns the number encoded in a key such as "k0042".
func keyNum(t *testing.T, k []byte) int {
	t.Helper()
	n, err := strconv.Atoi(string(k[1:]))
	if err != nil {
		t.Fatalf("bad key %q", k)
	}
	return n
}

// collect runs Walk and returns the emitted keys.
func collect(t *testing.T, c Cursor, p Params, match func(k, v []byte) (bool, error)) (keys []string, total int) {
	t.Helper()
	total, err := Walk(context.Background(), c, p, match, func(k, v []byte) error {
		if want := "v" + string(k[1:]); string(v) != want {
			t.Errorf("value for %q = %q, want %q", k, v, want)
		}
		keys = append(keys, string(k))
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return keys, total
}

func keyRange(from, to int) []string {
	var ks []string
	for i := from; i < to; i++ {
		ks = append(ks, fmt.Sprintf("k%04d", i))
	}
	return ks
}

func TestWalk(t *testing.T) {
	even := func(k, v []byte) (bool, error) { return (k[len(k)-1]-'0')%2 == 0, nil }
	tests := []struct {
		name      string
		n         int
		p         Params
		match     func(k, v []byte) (bool, error)
		want      []string
		wantTotal int
	}{
		{name: "first page", n: 25, p: Params{Page: 1, PageSize: 10}, want: keyRange(0, 10), wantTotal: 25},
		{name: "middle page", n: 25, p: Params{Page: 2, PageSize: 10}, want: keyRange(10, 20), wantTotal: 25},
		{name: "partial last page", n: 25, p: Params{Page: 3, PageSize: 10}, want: keyRange(20, 25), wantTotal: 25},
		{name: "exact last page", n: 20, p: Params{Page: 2, PageSize: 10}, want: keyRange(10, 20), wantTotal: 20},
		{name: "beyond last page still counts", n: 25, p: Params{Page: 4, PageSize: 10}, want: nil, wantTotal: 25},
		{name: "far beyond last page", n: 25, p: Params{Page: MaxPage, PageSize: MaxPageSize}, want: nil, wantTotal: 25},
		{name: "empty cursor", n: 0, p: Params{Page: 1, PageSize: 10}, want: nil, wantTotal: 0},
		{name: "page size one", n: 5, p: Params{Page: 3, PageSize: 1}, want: keyRange(2, 3), wantTotal: 5},
		{name: "nil match accepts all across ctx check interval", n: 1000, p: Params{Page: 30, PageSize: 10}, want: keyRange(290, 300), wantTotal: 1000},
		{
			name: "match filters and pages over matches only", n: 25, p: Params{Page: 2, PageSize: 3}, match: even,
			want: []string{"k0006", "k0008", "k0010"}, wantTotal: 13,
		},
		{
			name: "match nothing", n: 25, p: Params{Page: 1, PageSize: 10},
			match: func(k, v []byte) (bool, error) { return false, nil }, want: nil, wantTotal: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := collect(t, newSliceCursor(tt.n), tt.p, tt.match)
			if !slices.Equal(got, tt.want) {
				t.Errorf("emitted %q, want %q", got, tt.want)
			}
			if total != tt.wantTotal {
				t.Errorf("total = %d, want %d", total, tt.wantTotal)
			}
		})
	}
}

func TestWalkMatchSeesEveryEntry(t *testing.T) {
	seen := 0
	_, total := collect(t, newSliceCursor(50), Params{Page: 1, PageSize: 5}, func(k, v []byte) (bool, error) {
		if keyNum(t, k) != seen {
			t.Errorf("match got %q at position %d", k, seen)
		}
		seen++
		return true, nil
	})
	if seen != 50 || total != 50 {
		t.Errorf("match called %d times, total %d; want 50 and 50", seen, total)
	}
}

func TestWalkNilEmitCounts(t *testing.T) {
	total, err := Walk(context.Background(), newSliceCursor(7), Params{Page: 1, PageSize: 5}, nil, nil)
	if err != nil || total != 7 {
		t.Errorf("Walk(nil emit) = %d, %v; want 7, nil", total, err)
	}
}

func TestReverse(t *testing.T) {
	tests := []struct {
		name string
		n    int
		p    Params
		want []string
	}{
		{name: "first page newest first", n: 25, p: Params{Page: 1, PageSize: 3}, want: []string{"k0024", "k0023", "k0022"}},
		{name: "last partial page", n: 25, p: Params{Page: 9, PageSize: 3}, want: []string{"k0000"}},
		{name: "empty", n: 0, p: Params{Page: 1, PageSize: 3}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := collect(t, Reverse(newSliceCursor(tt.n)), tt.p, nil)
			if !slices.Equal(got, tt.want) {
				t.Errorf("emitted %q, want %q", got, tt.want)
			}
			if total != tt.n {
				t.Errorf("total = %d, want %d", total, tt.n)
			}
		})
	}
}

func TestWalkContext(t *testing.T) {
	t.Run("already cancelled returns before iterating", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		calls := 0
		_, err := Walk(ctx, newSliceCursor(10), Params{Page: 1, PageSize: 10}, func(k, v []byte) (bool, error) {
			calls++
			return true, nil
		}, func(k, v []byte) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if calls != 0 {
			t.Errorf("match called %d times after cancellation", calls)
		}
	})
	t.Run("cancelled mid-walk stops within one check interval", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		_, err := Walk(ctx, newSliceCursor(5000), Params{Page: 1, PageSize: 10}, func(k, v []byte) (bool, error) {
			calls++
			if calls == 300 {
				cancel()
			}
			return true, nil
		}, func(k, v []byte) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if calls > 300+ctxCheckInterval {
			t.Errorf("match called %d times, want at most %d", calls, 300+ctxCheckInterval)
		}
	})
	t.Run("deadline error returned as is", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 0)
		defer cancel()
		<-ctx.Done()
		_, err := Walk(ctx, newSliceCursor(10), Params{Page: 1, PageSize: 10}, nil, func(k, v []byte) error { return nil })
		if err != context.DeadlineExceeded {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestWalkErrors(t *testing.T) {
	errBoom := errors.New("boom")
	t.Run("match error returned as is and stops", func(t *testing.T) {
		calls := 0
		_, err := Walk(context.Background(), newSliceCursor(10), Params{Page: 1, PageSize: 10}, func(k, v []byte) (bool, error) {
			calls++
			if calls == 4 {
				return false, errBoom
			}
			return true, nil
		}, func(k, v []byte) error { return nil })
		if err != errBoom {
			t.Fatalf("err = %v, want %v", err, errBoom)
		}
		if calls != 4 {
			t.Errorf("match called %d times, want 4", calls)
		}
	})
	t.Run("emit error returned as is and stops", func(t *testing.T) {
		calls := 0
		matches := 0
		_, err := Walk(context.Background(), newSliceCursor(10), Params{Page: 1, PageSize: 10}, func(k, v []byte) (bool, error) {
			matches++
			return true, nil
		}, func(k, v []byte) error {
			calls++
			if calls == 2 {
				return errBoom
			}
			return nil
		})
		if err != errBoom {
			t.Fatalf("err = %v, want %v", err, errBoom)
		}
		if matches != 2 {
			t.Errorf("match called %d times after emit failed, want 2", matches)
		}
	})
}
