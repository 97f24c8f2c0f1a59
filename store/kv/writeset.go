package kv

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// OpType is the kind of one write of a write-set.
type OpType byte

// The writes a write-set records. Their values are part of the encoding.
const (
	OpCreateBucket OpType = 1 // create the bucket Path (its parent must exist)
	OpDeleteBucket OpType = 2 // delete the bucket Path and all it holds
	OpPut          OpType = 3 // set Key to Value in the bucket Path
	OpDelete       OpType = 4 // remove Key from the bucket Path
	OpSetSequence  OpType = 5 // set the sequence of the bucket Path to Sequence
	// OpSetFillPercent sets how full the bucket Path packs the pages it
	// splits for the rest of the transaction. It changes no data, but a
	// replay without it would pack an append-only bucket's pages half full
	// where the recording transaction filled them.
	OpSetFillPercent OpType = 6
)

// String names the operation for error messages.
func (t OpType) String() string {
	switch t {
	case OpCreateBucket:
		return "create-bucket"
	case OpDeleteBucket:
		return "delete-bucket"
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpSetSequence:
		return "set-sequence"
	case OpSetFillPercent:
		return "set-fill-percent"
	}
	return fmt.Sprintf("op(%d)", byte(t))
}

// Op is one recorded write. Path names the bucket from the root down; for
// OpCreateBucket and OpDeleteBucket its last element is the bucket itself.
type Op struct {
	Type     OpType
	Path     [][]byte
	Key      []byte  // OpPut, OpDelete
	Value    []byte  // OpPut
	Sequence uint64  // OpSetSequence
	Fill     float64 // OpSetFillPercent, from minFill to 1
}

// minFill is bbolt's lowest fill percent; a decoded fill must lie between
// it and 1.
const minFill = 0.1

// WriteSet is what one write transaction changed, in the order it changed it.
type WriteSet struct {
	Ops []Op
}

func (ws *WriteSet) add(op Op) { ws.Ops = append(ws.Ops, op) }

// Len returns the number of recorded writes.
func (ws WriteSet) Len() int { return len(ws.Ops) }

// writeSetVersion is the first byte of an encoded write-set, so that a
// later format can be told apart.
const writeSetVersion = 1

// maxPathDepth bounds how deep a recorded bucket may be nested, so that
// Unmarshal's allocations stay proportional to its input. idbolt's deepest
// bucket is three levels down.
const maxPathDepth = 16

// Validate returns an error when Unmarshal would refuse what Marshal makes
// of ws: a path deeper than maxPathDepth, or a fill percent out of range.
// Check before a write-set leaves the process: an entry every node refuses
// to apply would stop them all.
func (ws WriteSet) Validate() error {
	for i, op := range ws.Ops {
		if len(op.Path) == 0 || len(op.Path) > maxPathDepth {
			return fmt.Errorf("write-set operation %d: bucket path of %d names (1 to %d allowed)", i, len(op.Path), maxPathDepth)
		}
		if op.Type == OpSetFillPercent && !(op.Fill >= minFill && op.Fill <= 1) {
			return fmt.Errorf("write-set operation %d: fill percent %v out of range", i, op.Fill)
		}
	}
	return nil
}

// Marshal encodes the write-set compactly: a version byte, the number of
// operations, then each operation as its type, its path and its operands,
// lengths and numbers as unsigned varints. A path is written as how many
// leading names it shares with the previous operation's path followed by
// the names that differ, since a transaction's writes mostly stay in a few
// buckets of one tenant.
func (ws WriteSet) Marshal() []byte {
	n := 1 + binary.MaxVarintLen64
	for _, op := range ws.Ops {
		n += 3 + 2*binary.MaxVarintLen64 + len(op.Key) + len(op.Value)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, writeSetVersion)
	buf = binary.AppendUvarint(buf, uint64(len(ws.Ops)))
	var prev [][]byte
	for _, op := range ws.Ops {
		shared := 0
		for shared < len(prev) && shared < len(op.Path) && bytes.Equal(prev[shared], op.Path[shared]) {
			shared++
		}
		buf = append(buf, byte(op.Type))
		buf = binary.AppendUvarint(buf, uint64(shared))
		buf = binary.AppendUvarint(buf, uint64(len(op.Path)-shared))
		for _, p := range op.Path[shared:] {
			buf = appendBytes(buf, p)
		}
		prev = op.Path
		switch op.Type {
		case OpPut:
			buf = appendBytes(buf, op.Key)
			buf = appendBytes(buf, op.Value)
		case OpDelete:
			buf = appendBytes(buf, op.Key)
		case OpSetSequence:
			buf = binary.AppendUvarint(buf, op.Sequence)
		case OpSetFillPercent:
			buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(op.Fill))
		}
	}
	return buf
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// errMalformed is the error of Unmarshal for bytes that are not a write-set.
var errMalformed = errors.New("malformed write-set")

// Unmarshal decodes what Marshal encoded. It never trusts a length: bytes
// from the network that are not a write-set give an error, never a panic,
// and it allocates at most a small multiple of the input's size. The keys,
// values and names of the result alias data.
func Unmarshal(data []byte) (WriteSet, error) {
	d := decoder{buf: data}
	if v := d.byte(); v != writeSetVersion {
		return WriteSet{}, fmt.Errorf("%w: version %d", errMalformed, v)
	}
	count := d.uvarint()
	if count > uint64(len(d.buf))/3 { // every operation takes at least three bytes
		return WriteSet{}, fmt.Errorf("%w: %d operations in %d bytes", errMalformed, count, len(d.buf))
	}
	// An Op is far larger than its three smallest bytes: grow the slice as
	// operations decode rather than trust count with a large allocation.
	ws := WriteSet{Ops: make([]Op, 0, min(count, 1024))}
	var prev [][]byte
	for i := uint64(0); i < count && d.err == nil; i++ {
		op := Op{Type: OpType(d.byte())}
		shared, rest := d.uvarint(), d.uvarint()
		if shared > uint64(len(prev)) || rest > maxPathDepth || shared+rest == 0 || shared+rest > maxPathDepth {
			d.fail()
			break
		}
		op.Path = prev[:shared:shared] // shares the previous names, never written to
		for range rest {
			op.Path = append(op.Path, d.bytes())
		}
		prev = op.Path
		switch op.Type {
		case OpPut:
			op.Key, op.Value = d.bytes(), d.bytes()
		case OpDelete:
			op.Key = d.bytes()
		case OpSetSequence:
			op.Sequence = d.uvarint()
		case OpSetFillPercent:
			op.Fill = math.Float64frombits(d.uint64())
			if !(op.Fill >= minFill && op.Fill <= 1) { // also refuses NaN
				d.fail()
			}
		case OpCreateBucket, OpDeleteBucket:
		default:
			d.fail()
		}
		ws.Ops = append(ws.Ops, op)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail()
	}
	if d.err != nil {
		return WriteSet{}, d.err
	}
	return ws, nil
}

// decoder reads an encoded write-set, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or invalid at %d bytes from the end", errMalformed, len(d.buf))
	}
	d.buf = nil
}

func (d *decoder) byte() byte {
	if len(d.buf) == 0 {
		d.fail()
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.buf) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.buf)
	d.buf = d.buf[8:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail()
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

// Apply replays ws in tx: the same writes in the same order. Applied to a
// file that held what the recording transaction started from, it leaves
// the data the recording transaction committed.
func Apply(tx *Tx, ws WriteSet) error {
	for i, op := range ws.Ops {
		if err := apply(tx, op); err != nil {
			return fmt.Errorf("write-set op %d (%s %q): %w", i, op.Type, op.Path, err)
		}
	}
	return nil
}

func apply(tx *Tx, op Op) error {
	if len(op.Path) == 0 {
		return errMalformed
	}
	switch op.Type {
	case OpCreateBucket, OpDeleteBucket:
		last := op.Path[len(op.Path)-1]
		if len(op.Path) == 1 {
			if op.Type == OpCreateBucket {
				_, err := tx.CreateBucket(last)
				return err
			}
			return tx.DeleteBucket(last)
		}
		parent, err := resolve(tx, op.Path[:len(op.Path)-1])
		if err != nil {
			return err
		}
		if op.Type == OpCreateBucket {
			_, err := parent.CreateBucket(last)
			return err
		}
		return parent.DeleteBucket(last)
	}
	b, err := resolve(tx, op.Path)
	if err != nil {
		return err
	}
	switch op.Type {
	case OpPut:
		return b.Put(op.Key, op.Value)
	case OpDelete:
		return b.Delete(op.Key)
	case OpSetSequence:
		return b.SetSequence(op.Sequence)
	case OpSetFillPercent:
		b.SetFillPercent(op.Fill)
		return nil
	}
	return fmt.Errorf("%w: unknown operation", errMalformed)
}

// resolve finds the bucket at path.
func resolve(tx *Tx, path [][]byte) (*Bucket, error) {
	b := tx.Bucket(path[0])
	for _, name := range path[1:] {
		if b == nil {
			break
		}
		b = b.Bucket(name)
	}
	if b == nil {
		return nil, errors.New("bucket does not exist")
	}
	return b, nil
}

// Checksum returns the sha256 of a canonical walk of every bucket the
// transaction sees, nested ones included: names, keys, values and
// sequences in key order. Two files with the same data have the same
// checksum, however differently their pages are laid out.
func Checksum(tx *Tx) [32]byte { return ChecksumExcept(tx, nil) }

// ChecksumExcept is Checksum leaving out the root bucket named skip.
func ChecksumExcept(tx *Tx, skip []byte) [32]byte {
	h := sha256.New()
	var num [binary.MaxVarintLen64]byte
	write := func(tag byte, b []byte) {
		h.Write([]byte{tag})
		h.Write(num[:binary.PutUvarint(num[:], uint64(len(b)))])
		h.Write(b)
	}
	var walk func(b *Bucket)
	walk = func(b *Bucket) {
		h.Write(num[:binary.PutUvarint(num[:], b.Sequence())])
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					write('B', k)
					walk(nb)
					h.Write([]byte{'E'})
					continue
				}
			}
			write('K', k)
			write('V', v)
		}
	}
	c := tx.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if skip != nil && bytes.Equal(k, skip) {
			continue
		}
		write('B', k)
		walk(tx.Bucket(k))
		h.Write([]byte{'E'})
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
