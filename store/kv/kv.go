// Package kv is the store's key-value layer: a thin, concrete wrapper of
// bbolt's own operations (get, put, delete, cursors, nested buckets,
// sequences) through which every read and write of a store transaction goes.
//
// A transaction may record its write-set: the ordered bucket creations and
// deletions, puts, deletes and sequence changes it made, each with the full
// path of its bucket. Replaying a write-set onto another file that held the
// same data gives the same data (Apply). That is what cluster mode
// replicates: the result of a transaction, never the closure that computed
// it, so random ids, clocks and reads cannot make the nodes diverge.
//
// Without a recorder the wrapper costs a small struct per bucket and cursor
// (the first few live inside the Tx) and nothing else: names are kept and
// bucket paths built only when writes are recorded.
package kv

import (
	"bytes"
	"errors"

	"go.etcd.io/bbolt"
)

// Tx is a bbolt transaction seen through the layer.
type Tx struct {
	tx  *bbolt.Tx
	rec *WriteSet // nil: writes are not recorded

	// The wrappers a transaction hands out come from here, so that a
	// transaction allocates one Tx and a slab per eight more buckets
	// rather than one per bucket and cursor.
	first   [8]Bucket
	buckets []Bucket // unused wrappers: first, then slabs
	cursors [2]Cursor
	nc      int
}

// NewTx wraps tx. When rec is not nil, every write made through the returned
// Tx (and its buckets and cursors) is appended to *rec.
func NewTx(tx *bbolt.Tx, rec *WriteSet) *Tx {
	t := &Tx{tx: tx, rec: rec}
	t.buckets = t.first[:]
	return t
}

// Writable reports whether the transaction can write.
func (tx *Tx) Writable() bool { return tx.tx.Writable() }

// Size returns the size of the data file's used pages as this transaction
// sees it.
func (tx *Tx) Size() int64 { return tx.tx.Size() }

// Bucket returns the root bucket name, or nil if it does not exist.
func (tx *Tx) Bucket(name []byte) *Bucket {
	b := tx.tx.Bucket(name)
	if b == nil {
		return nil
	}
	return tx.wrap(b, nil, name)
}

// wrap returns b seen through the layer. Only a recording transaction
// keeps the name (a copy), so that a caller's name does not escape to the
// heap when nothing is recorded.
func (tx *Tx) wrap(b *bbolt.Bucket, parent *Bucket, name []byte) *Bucket {
	if len(tx.buckets) == 0 {
		tx.buckets = make([]Bucket, len(tx.first))
	}
	nb := &tx.buckets[0]
	tx.buckets = tx.buckets[1:]
	*nb = Bucket{b: b, tx: tx, parent: parent}
	if tx.rec != nil {
		nb.name = bytes.Clone(name)
	}
	return nb
}

// CreateBucket creates the root bucket name; it fails if it exists.
func (tx *Tx) CreateBucket(name []byte) (*Bucket, error) {
	b, err := tx.tx.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	nb := tx.wrap(b, nil, name)
	nb.record(OpCreateBucket, nil, nil, 0)
	return nb, nil
}

// CreateBucketIfNotExists returns the root bucket name, creating it if it
// does not exist. Only an actual creation is recorded.
func (tx *Tx) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	if b := tx.Bucket(name); b != nil {
		return b, nil
	}
	return tx.CreateBucket(name)
}

// DeleteBucket deletes the root bucket name and everything in it.
func (tx *Tx) DeleteBucket(name []byte) error {
	if err := tx.tx.DeleteBucket(name); err != nil {
		return err
	}
	if tx.rec != nil {
		tx.rec.add(Op{Type: OpDeleteBucket, Path: [][]byte{bytes.Clone(name)}})
	}
	return nil
}

// ForEach calls fn with the name of every root bucket, in key order.
func (tx *Tx) ForEach(fn func(name []byte, b *Bucket) error) error {
	return tx.tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
		return fn(name, tx.wrap(b, nil, name))
	})
}

// Cursor returns a cursor over the root buckets; its values are nil.
func (tx *Tx) Cursor() *Cursor { return tx.cursor(tx.tx.Cursor(), nil) }

// cursor returns c seen through the layer.
func (tx *Tx) cursor(c *bbolt.Cursor, b *Bucket) *Cursor {
	if tx.nc < len(tx.cursors) {
		nc := &tx.cursors[tx.nc]
		tx.nc++
		*nc = Cursor{c: c, b: b}
		return nc
	}
	return &Cursor{c: c, b: b}
}

// Bucket is a bbolt bucket seen through the layer. It remembers its parent
// and name so that a recorded write can name its full path.
type Bucket struct {
	b      *bbolt.Bucket
	tx     *Tx
	parent *Bucket // nil for a root bucket
	name   []byte  // kept only when the transaction records
}

// SetFillPercent sets how full bbolt packs the bucket's pages when it splits
// them (bbolt's Bucket.FillPercent) for the rest of the transaction. Near 1
// suits keys that only ever grow, such as time-ordered logs. A change is
// recorded (OpSetFillPercent), so a replay packs the pages as the recording
// transaction did; setting the value the bucket has already records nothing.
func (b *Bucket) SetFillPercent(f float64) {
	if b.b.FillPercent == f {
		return
	}
	b.b.FillPercent = f
	if b.tx.rec != nil {
		b.tx.rec.add(Op{Type: OpSetFillPercent, Path: b.path(), Fill: f})
	}
}

// Writable reports whether the bucket's transaction can write.
func (b *Bucket) Writable() bool { return b.b.Writable() }

// Get returns the value of key, or nil if it is missing or a nested bucket.
// The value is valid only for the life of the transaction.
func (b *Bucket) Get(key []byte) []byte { return b.b.Get(key) }

// Put sets key to value.
func (b *Bucket) Put(key, value []byte) error {
	if err := b.b.Put(key, value); err != nil {
		return err
	}
	b.record(OpPut, key, value, 0)
	return nil
}

// Delete removes key; a missing key is not an error.
func (b *Bucket) Delete(key []byte) error {
	if err := b.b.Delete(key); err != nil {
		return err
	}
	b.record(OpDelete, key, nil, 0)
	return nil
}

// Sequence returns the bucket's sequence.
func (b *Bucket) Sequence() uint64 { return b.b.Sequence() }

// SetSequence sets the bucket's sequence.
func (b *Bucket) SetSequence(v uint64) error {
	if err := b.b.SetSequence(v); err != nil {
		return err
	}
	b.record(OpSetSequence, nil, nil, v)
	return nil
}

// NextSequence increments the bucket's sequence and returns it. The
// write-set holds the resulting value, not the increment, so a replay
// cannot drift from the recorded file.
func (b *Bucket) NextSequence() (uint64, error) {
	v, err := b.b.NextSequence()
	if err != nil {
		return 0, err
	}
	b.record(OpSetSequence, nil, nil, v)
	return v, nil
}

// Bucket returns the nested bucket name, or nil if it does not exist.
func (b *Bucket) Bucket(name []byte) *Bucket {
	nb := b.b.Bucket(name)
	if nb == nil {
		return nil
	}
	return b.tx.wrap(nb, b, name)
}

// CreateBucket creates the nested bucket name; it fails if it exists.
func (b *Bucket) CreateBucket(name []byte) (*Bucket, error) {
	nb, err := b.b.CreateBucket(name)
	if err != nil {
		return nil, err
	}
	child := b.tx.wrap(nb, b, name)
	child.record(OpCreateBucket, nil, nil, 0)
	return child, nil
}

// CreateBucketIfNotExists returns the nested bucket name, creating it if it
// does not exist. Only an actual creation is recorded.
func (b *Bucket) CreateBucketIfNotExists(name []byte) (*Bucket, error) {
	if nb := b.Bucket(name); nb != nil {
		return nb, nil
	}
	return b.CreateBucket(name)
}

// DeleteBucket deletes the nested bucket name and everything in it.
func (b *Bucket) DeleteBucket(name []byte) error {
	if err := b.b.DeleteBucket(name); err != nil {
		return err
	}
	if b.tx.rec != nil {
		b.tx.rec.add(Op{Type: OpDeleteBucket, Path: append(b.path(), bytes.Clone(name))})
	}
	return nil
}

// ForEach calls fn for every key in order; v is nil for a nested bucket.
// fn must not change the bucket.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }

// ForEachBucket calls fn with the name of every nested bucket, in order.
func (b *Bucket) ForEachBucket(fn func(name []byte) error) error { return b.b.ForEachBucket(fn) }

// Stats returns bbolt's statistics of the bucket.
func (b *Bucket) Stats() bbolt.BucketStats { return b.b.Stats() }

// Cursor returns a cursor over the bucket's keys.
func (b *Bucket) Cursor() *Cursor { return b.tx.cursor(b.b.Cursor(), b) }

// record appends a write to the transaction's write-set, if it has one.
func (b *Bucket) record(t OpType, key, value []byte, seq uint64) {
	rec := b.tx.rec
	if rec == nil {
		return
	}
	rec.add(Op{Type: t, Path: b.path(), Key: bytes.Clone(key), Value: bytes.Clone(value), Sequence: seq})
}

// path returns the names from the root bucket down to b, copied.
func (b *Bucket) path() [][]byte {
	n := 0
	for p := b; p != nil; p = p.parent {
		n++
	}
	path := make([][]byte, n)
	for p := b; p != nil; p = p.parent {
		n--
		path[n] = p.name // already a copy
	}
	return path
}

// Cursor walks a bucket (or the root buckets) in key order.
type Cursor struct {
	c   *bbolt.Cursor
	b   *Bucket // nil over the root buckets
	key []byte  // the current key, for a recorded Delete
}

func (c *Cursor) at(k, v []byte) ([]byte, []byte) {
	c.key = k
	return k, v
}

// First moves to the first key; k is nil if the bucket is empty.
func (c *Cursor) First() (k, v []byte) { return c.at(c.c.First()) }

// Last moves to the last key.
func (c *Cursor) Last() (k, v []byte) { return c.at(c.c.Last()) }

// Next moves to the next key; k is nil past the end.
func (c *Cursor) Next() (k, v []byte) { return c.at(c.c.Next()) }

// Prev moves to the previous key; k is nil before the start.
func (c *Cursor) Prev() (k, v []byte) { return c.at(c.c.Prev()) }

// Seek moves to key, or the next key after it if it is missing.
func (c *Cursor) Seek(seek []byte) (k, v []byte) { return c.at(c.c.Seek(seek)) }

// ErrCursorNotPositioned is the error of Cursor.Delete when the cursor was
// not moved to a key since it was made or since its last Delete.
var ErrCursorNotPositioned = errors.New("kv: cursor delete without a current key: move the cursor first")

// Delete removes the current key (not a nested bucket), as in bbolt. bbolt
// then leaves the cursor on the next key without returning it; a second
// Delete there is refused, so that the write-set always names the key it
// removed: move the cursor (Seek, First, ...) before deleting again.
func (c *Cursor) Delete() error {
	if c.key == nil {
		return ErrCursorNotPositioned
	}
	if err := c.c.Delete(); err != nil {
		return err
	}
	if c.b != nil {
		c.b.record(OpDelete, c.key, nil, 0)
	}
	c.key = nil
	return nil
}

// View runs fn in a read-only transaction of db.
func View(db *bbolt.DB, fn func(*Tx) error) error {
	return db.View(func(btx *bbolt.Tx) error { return fn(NewTx(btx, nil)) })
}

// Update runs fn in a read-write transaction of db, committed if fn returns
// nil. When rec is not nil, the transaction's writes are appended to *rec;
// they are its write-set only if Update returns nil.
func Update(db *bbolt.DB, rec *WriteSet, fn func(*Tx) error) error {
	return db.Update(func(btx *bbolt.Tx) error { return fn(NewTx(btx, rec)) })
}
