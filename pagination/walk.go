package pagination

import "context"

// Cursor is the forward-iteration subset of *bbolt.Cursor that Walk needs.
// A nil key from First or Next means the end of the range.
type Cursor interface {
	First() (k, v []byte)
	Next() (k, v []byte)
}

// BidiCursor is a cursor that can also iterate backwards. *bbolt.Cursor
// satisfies it, which lets Reverse serve newest-first lists without this
// package importing bbolt.
type BidiCursor interface {
	First() (k, v []byte)
	Last() (k, v []byte)
	Next() (k, v []byte)
	Prev() (k, v []byte)
}

// Reverse returns a Cursor that walks c from its last entry to its first:
// First is c.Last and Next is c.Prev.
func Reverse(c BidiCursor) Cursor {
	return reversed{c}
}

// reversed adapts a BidiCursor to iterate backwards.
type reversed struct{ c BidiCursor }

func (r reversed) First() (k, v []byte) { return r.c.Last() }
func (r reversed) Next() (k, v []byte)  { return r.c.Prev() }

// ctxCheckInterval is how many entries Walk visits between context checks:
// often enough to stop a full scan of a large bucket promptly, rarely
// enough that ctx.Err's mutex does not show up in profiles.
const ctxCheckInterval = 256

// Walk iterates c from First via Next until a nil key, calling match on
// every entry (a nil match accepts everything) and emit on the matches
// whose 0-based match index lies in [p.Offset(), p.Offset()+p.PageSize).
// It keeps going after the page is full because the caller needs the total
// number of matches for the Total-Number and Link headers. A nil emit
// only counts.
//
// The context is checked before the first entry and then every 256
// entries; its error is returned as is, as is any error from match or
// emit. On error total is the number of matches seen so far and should
// not be used.
//
// k and v are passed straight from the cursor, so with bbolt they are only
// valid for the life of the transaction; emit must copy what it keeps.
func Walk(ctx context.Context, c Cursor, p Params, match func(k, v []byte) (bool, error), emit func(k, v []byte) error) (total int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	off := p.Offset()
	n := 0 // entries visited, for the context check
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		if n%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return total, err
			}
		}
		if match != nil {
			ok, err := match(k, v)
			if err != nil {
				return total, err
			}
			if !ok {
				continue
			}
		}
		idx := total
		total++
		// idx-off < PageSize rather than idx < off+PageSize: the latter
		// could overflow for hand-built Params.
		if emit != nil && idx >= off && idx-off < p.PageSize {
			if err := emit(k, v); err != nil {
				return total, err
			}
		}
	}
	return total, nil
}
