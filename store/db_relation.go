package store

import (
	"bytes"
	"context"
	"encoding/binary"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/kv"
)

// relation is a many-to-many relation kept in two pair buckets, fwd with keys
// a\x00b and back with keys b\x00a, plus a live count per id in
// relation_counts. Both directions exist so that deleting either side drops
// every pair in the same transaction, and the counts make Logto's usersCount
// and applicationsCount one Get each.
//
// A relation with a rank bucket also keeps a prefix rank index of its fwd
// pairs (rankindex.PrefixSeek), so that a page deep in a large id-ordered list
// costs about what the first page does.
type relation struct {
	fwd, back []byte
	rank      []byte // optional
	// inverted marks the inverse of a ranked relation: its writes keep
	// the rank of the other direction, and it pages without one.
	inverted bool
}

// inverse returns the relation seen from the other side.
// Links and unlinks through it keep the rank index of r.
func (r relation) inverse() relation {
	return relation{fwd: r.back, back: r.fwd, rank: r.rank, inverted: !r.inverted}
}

func (r relation) buckets(tx *Tx) (fwd, back, counts *kv.Bucket, err error) {
	if fwd, err = tx.bucket(r.fwd); err != nil {
		return
	}
	if back, err = tx.bucket(r.back); err != nil {
		return
	}
	counts, err = tx.bucket(bucketRelCounts)
	return
}

// countKey is the relation_counts key of id's pairs in bucket.
func countKey(bucket []byte, id string) []byte { return pairKey(string(bucket), id) }

func addCount(counts *kv.Bucket, key []byte, delta int64) error {
	n := int64(0)
	if v := counts.Get(key); len(v) == 8 {
		n = int64(binary.BigEndian.Uint64(v))
	}
	n += delta
	if n <= 0 {
		return counts.Delete(key)
	}
	return counts.Put(key, binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// getCount reads an 8-byte big-endian count; a missing key is 0.
func getCount(b *kv.Bucket, k []byte) uint64 {
	if v := b.Get(k); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// has reports whether a and b are related.
func (r relation) has(tx *Tx, a, b string) (bool, error) {
	fwd, err := tx.bucket(r.fwd)
	if err != nil {
		return false, err
	}
	return fwd.Get(pairKey(a, b)) != nil, nil
}

// link relates a and b; it reports false if they already were.
func (r relation) link(tx *Tx, a, b string) (bool, error) {
	fwd, back, counts, err := r.buckets(tx)
	if err != nil {
		return false, err
	}
	if fwd.Get(pairKey(a, b)) != nil {
		return false, nil
	}
	if err := fwd.Put(pairKey(a, b), nil); err != nil {
		return false, err
	}
	if err := back.Put(pairKey(b, a), nil); err != nil {
		return false, err
	}
	if err := addCount(counts, countKey(r.fwd, a), 1); err != nil {
		return false, err
	}
	if err := r.rankAdd(tx, a, b, 1); err != nil {
		return false, err
	}
	return true, addCount(counts, countKey(r.back, b), 1)
}

// unlink removes the pair; it reports false if there was none.
func (r relation) unlink(tx *Tx, a, b string) (bool, error) {
	fwd, back, counts, err := r.buckets(tx)
	if err != nil {
		return false, err
	}
	if fwd.Get(pairKey(a, b)) == nil {
		return false, nil
	}
	if err := fwd.Delete(pairKey(a, b)); err != nil {
		return false, err
	}
	if err := back.Delete(pairKey(b, a)); err != nil {
		return false, err
	}
	if err := addCount(counts, countKey(r.fwd, a), -1); err != nil {
		return false, err
	}
	if err := r.rankAdd(tx, a, b, -1); err != nil {
		return false, err
	}
	return true, addCount(counts, countKey(r.back, b), -1)
}

func (r relation) rankAdd(tx *Tx, a, b string, delta int) error {
	if r.rank == nil {
		return nil
	}
	if r.inverted {
		a, b = b, a
	}
	idx, err := tx.bucket(r.rank)
	if err != nil {
		return err
	}
	return rankindex.PrefixAdd(idx, a, b, delta)
}

// unlinkAll removes every pair of a, as when a is deleted.
func (r relation) unlinkAll(tx *Tx, a string) error {
	ids, err := r.list(tx, a)
	if err != nil {
		return err
	}
	for _, b := range ids {
		if _, err := r.unlink(tx, a, b); err != nil {
			return err
		}
	}
	return nil
}

// list returns the ids related to a, in id order.
func (r relation) list(tx *Tx, a string) ([]string, error) {
	fwd, err := tx.bucket(r.fwd)
	if err != nil {
		return nil, err
	}
	var out []string
	err = forEachPair(fwd, a, func(b string) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// count returns how many ids are related to a.
func (r relation) count(tx *Tx, a string) (int, error) {
	counts, err := tx.bucket(bucketRelCounts)
	if err != nil {
		return 0, err
	}
	if v := counts.Get(countKey(r.fwd, a)); len(v) == 8 {
		return int(binary.BigEndian.Uint64(v)), nil
	}
	return 0, nil
}

// walk pages through the ids related to a, in id order; match may be nil.
// Without match the total is the stored count and the walk stops after the
// page; with a rank index it also starts at the page without stepping over
// the pairs before it.
func (r relation) walk(ctx context.Context, tx *Tx, a string, p pagination.Params,
	match func(b string) (bool, error), emit func(b string) error) (int, error) {
	fwd, err := tx.bucket(r.fwd)
	if err != nil {
		return 0, err
	}
	prefix := pairKey(a, "")
	if match == nil {
		return r.page(ctx, tx, fwd, a, prefix, p, emit)
	}
	c := &prefixCursor{c: fwd.Cursor(), prefix: prefix}
	m := func(k, _ []byte) (bool, error) { return match(string(k[len(prefix):])) }
	return pagination.Walk(ctx, c, p, m, func(k, _ []byte) error { return emit(string(k[len(prefix):])) })
}

// page serves an unfiltered walk.
func (r relation) page(ctx context.Context, tx *Tx, fwd *kv.Bucket, a string, prefix []byte,
	p pagination.Params, emit func(b string) error) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	total, err := r.count(tx, a)
	if err != nil || p.Offset() >= total {
		return total, err
	}
	pc := &prefixCursor{c: fwd.Cursor(), prefix: prefix}
	emitPair := func(k, _ []byte) error { return emit(string(k[len(prefix):])) }
	if r.rank == nil || r.inverted {
		return total, pageKeys(ctx, pc, p, emitPair)
	}
	idx, err := tx.bucket(r.rank)
	if err != nil {
		return 0, err
	}
	k, err := rankindex.PrefixSeek(idx, pc.c, a, p.Offset())
	if err != nil {
		return 0, err
	}
	for n := 0; n < p.PageSize && k != nil; n++ {
		if err := emitPair(k, nil); err != nil {
			return 0, err
		}
		k, _ = pc.Next()
	}
	return total, nil
}

// pageKeys emits the entries of page p of c, stepping over the entries
// before it; the caller knows the total already.
func pageKeys(ctx context.Context, c pagination.Cursor, p pagination.Params, emit func(k, v []byte) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, v := c.First()
	for i := 0; i < p.Offset() && k != nil; i++ {
		k, v = c.Next()
	}
	for n := 0; n < p.PageSize && k != nil; n++ {
		if err := emit(k, v); err != nil {
			return err
		}
		k, v = c.Next()
	}
	return nil
}

// prefixCursor walks the keys of a bucket that start with prefix.
type prefixCursor struct {
	c      *kv.Cursor
	prefix []byte
}

func (p *prefixCursor) clip(k, v []byte) ([]byte, []byte) {
	if k == nil || !bytes.HasPrefix(k, p.prefix) {
		return nil, nil
	}
	return k, v
}

// First implements pagination.Cursor.
func (p *prefixCursor) First() ([]byte, []byte) { return p.clip(p.c.Seek(p.prefix)) }

// Next implements pagination.Cursor.
func (p *prefixCursor) Next() ([]byte, []byte) { return p.clip(p.c.Next()) }

// forEachPair calls fn with b of every relation key "a\x00b" in bucket.
func forEachPair(bucket *kv.Bucket, a string, fn func(b string) error) error {
	prefix := pairKey(a, "")
	c := bucket.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}
