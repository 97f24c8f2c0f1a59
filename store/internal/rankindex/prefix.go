package rankindex

import (
	"bytes"
	"fmt"

	"github.com/idbolt/idbolt/store/kv"
)

// The prefix rank index maps a position in the id-ordered list of a
// relation's pairs (the keys a\x00b of one a) to a cursor position without
// walking the pairs before it. Logto orders some member lists by the member's
// id, so the sequence-keyed rank index of the user list does not apply.
// Instead the index counts, per a, the pairs whose b starts with each prefix
// of 1, 2 and 3 bytes. Finding offset n walks at most one count per distinct
// byte at each level (36 for Logto's id alphabet) and then the few pairs that
// share the chosen 3-byte prefix: 100,000 random ids spread over 36^3 blocks
// leave about 2 pairs per block.
//
// Index keys are a\x00 [level] [b's first level bytes]; an id shorter than
// the level is counted under the whole id.

// PrefixLevels is how many leading bytes of b the deepest level counts by.
const PrefixLevels = 3

// PrefixKey is the index key of the count of a's pairs whose b starts with
// b's first level bytes (the integrity check recounts the index with it).
func PrefixKey(a string, level int, b []byte) []byte {
	p := b
	if len(p) > level {
		p = p[:level]
	}
	k := make([]byte, 0, len(a)+2+len(p))
	k = append(k, a...)
	k = append(k, 0, byte(level))
	return append(k, p...)
}

// PrefixAdd records that pair (a, b) was added (delta 1) or removed
// (delta -1), in the same transaction as the change.
func PrefixAdd(idx *kv.Bucket, a, b string, delta int) error {
	for level := 1; level <= PrefixLevels; level++ {
		k := PrefixKey(a, level, []byte(b))
		n := count(idx, k)
		if delta < 0 && n == 0 {
			return fmt.Errorf("prefix rank index: count underflow at %q", k)
		}
		if err := putCount(idx, k, uint64(int64(n)+int64(delta))); err != nil {
			return fmt.Errorf("prefix rank index: %w", err)
		}
	}
	return nil
}

// PrefixSeek positions c, a cursor over the relation bucket of pairs
// a\x00b, on the pair of a at offset (0 = the smallest b) and returns its
// key, or nil when offset is past the end.
func PrefixSeek(idx *kv.Bucket, c *kv.Cursor, a string, offset int) ([]byte, error) {
	if offset < 0 {
		return nil, nil
	}
	remaining := uint64(offset)
	var chosen []byte // the prefix chosen so far
	ic := idx.Cursor()
	for level := 1; level <= PrefixLevels; level++ {
		scope := PrefixKey(a, level, chosen)
		found := false
		for k, v := ic.Seek(scope); k != nil && bytes.HasPrefix(k, scope); k, v = ic.Next() {
			n := unbe64(v)
			if remaining < n {
				chosen = append([]byte(nil), k[len(a)+2:]...)
				found = true
				break
			}
			remaining -= n
		}
		if !found {
			if level == 1 {
				return nil, nil // past the end
			}
			return nil, fmt.Errorf("prefix rank index: offset %d not found at level %d", offset, level)
		}
		if len(chosen) < level {
			break // an id shorter than the level: the deeper levels hold it alone
		}
	}
	start := append(append([]byte(a), 0), chosen...)
	for k, _ := c.Seek(start); k != nil && bytes.HasPrefix(k, start); k, _ = c.Next() {
		if remaining == 0 {
			return k, nil
		}
		remaining--
	}
	return nil, fmt.Errorf("prefix rank index: offset %d out of step with data", offset)
}
