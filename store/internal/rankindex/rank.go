package rankindex

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/idbolt/idbolt/store/kv"
)

// The rank index maps a position in a list to a cursor position without
// walking the entries before it. Entries are keyed by 8-byte sequence numbers;
// the index keeps the number of live entries per block of 2^6, 2^12 and 2^18
// consecutive sequence numbers, plus the total. Finding the entry at offset n
// walks at most 64 counts per level and 64 entries in the data bucket, so a
// deep page costs about what the first one does, and the total is one Get.
//
// Index keys are [level][8-byte block number]; the total lives at [totalKey].
var shifts = [...]uint{6, 12, 18}

const totalKey = 0xff

func key(level int, block uint64) []byte {
	k := make([]byte, 9)
	k[0] = byte(level)
	binary.BigEndian.PutUint64(k[1:], block)
	return k
}

func count(b *kv.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putCount(b *kv.Bucket, k []byte, n uint64) error {
	if n == 0 {
		return b.Delete(k)
	}
	return b.Put(k, be64(n))
}

// Add records that the entry with sequence seq was added (delta 1) or
// removed (delta -1). It must run in the same transaction as the change.
func Add(idx *kv.Bucket, seq uint64, delta int) error {
	keys := [len(shifts) + 1][]byte{}
	for i, s := range shifts {
		keys[i] = key(i, seq>>s)
	}
	keys[len(shifts)] = []byte{totalKey}
	for _, k := range keys {
		n := count(idx, k)
		if delta < 0 && n == 0 {
			return fmt.Errorf("rank index: count underflow at %x", k)
		}
		if err := putCount(idx, k, uint64(int64(n)+int64(delta))); err != nil {
			return fmt.Errorf("rank index: %w", err)
		}
	}
	return nil
}

// AddAll records that the entries with sequences seqs, in ascending
// order, were added: what Add(idx, seq, 1) for each does, with one
// update per block instead of one per entry and level (a batch import of
// 1,000 users touches a handful of counts).
func AddAll(idx *kv.Bucket, seqs []uint64) error {
	add := func(k []byte, n int) error {
		if err := putCount(idx, k, count(idx, k)+uint64(n)); err != nil {
			return fmt.Errorf("rank index: %w", err)
		}
		return nil
	}
	for level, s := range shifts {
		for i := 0; i < len(seqs); {
			block, j := seqs[i]>>s, i+1
			for j < len(seqs) && seqs[j]>>s == block {
				j++
			}
			if err := add(key(level, block), j-i); err != nil {
				return err
			}
			i = j
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	return add([]byte{totalKey}, len(seqs))
}

// Total returns the number of live entries.
func Total(idx *kv.Bucket) int {
	return int(count(idx, []byte{totalKey}))
}

// SeekNewest positions c (a cursor over the data bucket) on the entry at
// offset from the newest end (offset 0 = the newest) and returns it. It returns
// nil k when offset is past the end.
func SeekNewest(idx *kv.Bucket, c *kv.Cursor, offset int) (k, v []byte, err error) {
	return SeekNewestExcept(idx, c, offset, nil)
}

// SeekNewestExcept is SeekNewest over the entries whose sequences are not in
// except, which is sorted ascending and holds only live entries. Each block
// count is reduced by the entries of except in the block (a binary search),
// so a page deep in a list with many entries left out costs about what
// SeekNewest does, plus the steps over left-out entries in the last block.
// The caller skips the entries of except as it walks on from k.
func SeekNewestExcept(idx *kv.Bucket, c *kv.Cursor, offset int, except []uint64) (k, v []byte, err error) {
	if offset < 0 || offset >= Total(idx)-len(except) {
		return nil, nil, nil
	}
	// in counts the entries of except in [first, last].
	in := func(first, last uint64) uint64 {
		i, _ := slices.BinarySearch(except, first)
		j, found := slices.BinarySearch(except, last)
		if found {
			j++
		}
		return uint64(j - i)
	}
	remaining := uint64(offset)
	// Search range of block numbers at the current level, inclusive. The top
	// level is unbounded.
	lo, hi := uint64(0), ^uint64(0)
	ic := idx.Cursor()
	for level := len(shifts) - 1; level >= 0; level-- {
		found := false
		// Walk this level's blocks within [lo, hi] from the highest down.
		var ik, iv []byte
		if hi == ^uint64(0) {
			ik, iv = ic.Seek(key(level+1, 0))
		} else {
			ik, iv = ic.Seek(key(level, hi+1))
		}
		if ik == nil {
			ik, iv = ic.Last()
		} else {
			ik, iv = ic.Prev()
		}
		for ; ik != nil && ik[0] == byte(level); ik, iv = ic.Prev() {
			block := binary.BigEndian.Uint64(ik[1:])
			if block < lo {
				break
			}
			n := binary.BigEndian.Uint64(iv)
			if len(except) > 0 {
				first := block << shifts[level]
				n -= in(first, first|(1<<shifts[level]-1))
			}
			if remaining < n {
				found = true
				if level > 0 {
					ratio := shifts[level] - shifts[level-1]
					lo, hi = block<<ratio, block<<ratio|(1<<ratio-1)
				} else {
					lo, hi = block<<shifts[0], block<<shifts[0]|(1<<shifts[0]-1)
				}
				break
			}
			remaining -= n
		}
		if !found {
			return nil, nil, fmt.Errorf("rank index: offset %d not found at level %d", offset, level)
		}
	}
	// [lo, hi] is now a range of sequence numbers; step back from its top.
	k, v = c.Seek(be64(hi))
	if k == nil || unbe64(k) > hi {
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil; k, v = c.Prev() {
		if unbe64(k) < lo {
			break
		}
		if _, skip := slices.BinarySearch(except, unbe64(k)); skip {
			continue
		}
		if remaining == 0 {
			return k, v, nil
		}
		remaining--
	}
	return nil, nil, fmt.Errorf("rank index: offset %d out of step with data", offset)
}
