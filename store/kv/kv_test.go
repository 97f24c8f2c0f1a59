package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

func openTemp(tb testing.TB) *bbolt.DB {
	tb.Helper()
	b, err := bbolt.Open(filepath.Join(tb.TempDir(), "kv.db"), 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

func checksum(tb testing.TB, b *bbolt.DB) [32]byte {
	tb.Helper()
	var sum [32]byte
	if err := View(b, func(tx *Tx) error { sum = Checksum(tx); return nil }); err != nil {
		tb.Fatal(err)
	}
	return sum
}

// mustBucket returns the bucket at path, created if missing.
func mustBucket(tx *Tx, path ...string) *Bucket {
	b, err := tx.CreateBucketIfNotExists([]byte(path[0]))
	for _, name := range path[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists([]byte(name))
	}
	if err != nil {
		panic(err)
	}
	return b
}

// writes are transactions that exercise every recorded operation, in the
// order a test runs them.
var writes = []struct {
	name string
	fn   func(tx *Tx) error
}{
	{"nested buckets and puts", func(tx *Tx) error {
		t := mustBucket(tx, "tenants", "t1", "users")
		for i := range 20 {
			if err := t.Put(fmt.Appendf(nil, "u%02d", i), bytes.Repeat([]byte{byte(i)}, i)); err != nil {
				return err
			}
		}
		_, err := mustBucket(tx, "meta").CreateBucket([]byte("empty"))
		return err
	}},
	{"sequences", func(tx *Tx) error {
		b := mustBucket(tx, "tenants", "t1", "users")
		for range 3 {
			if _, err := b.NextSequence(); err != nil {
				return err
			}
		}
		return mustBucket(tx, "tenants", "t1").SetSequence(41)
	}},
	{"overwrite and delete", func(tx *Tx) error {
		b := mustBucket(tx, "tenants", "t1", "users")
		if err := b.Put([]byte("u03"), []byte("new")); err != nil {
			return err
		}
		if err := b.Delete([]byte("u04")); err != nil {
			return err
		}
		return b.Delete([]byte("missing"))
	}},
	{"cursor delete", func(tx *Tx) error {
		c := mustBucket(tx, "tenants", "t1", "users").Cursor()
		for k, _ := c.Seek([]byte("u10")); k != nil && bytes.Compare(k, []byte("u15")) < 0; {
			if err := c.Delete(); err != nil {
				return err
			}
			k, _ = c.Seek([]byte("u10"))
		}
		return nil
	}},
	{"delete nested and root buckets", func(tx *Tx) error {
		mustBucket(tx, "tenants", "t2", "users")
		if err := tx.Bucket([]byte("tenants")).DeleteBucket([]byte("t2")); err != nil {
			return err
		}
		mustBucket(tx, "scratch", "a")
		return tx.DeleteBucket([]byte("scratch"))
	}},
	{"recreate a deleted bucket", func(tx *Tx) error {
		return mustBucket(tx, "tenants", "t2", "users").Put([]byte("k"), nil)
	}},
}

// TestApply_ReproducesTheFile: each transaction's recorded write-set,
// encoded and decoded, replayed on a second file, gives the same data.
func TestApply_ReproducesTheFile(t *testing.T) {
	src, dst := openTemp(t), openTemp(t)
	for _, w := range writes {
		var ws WriteSet
		if err := Update(src, &ws, w.fn); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		decoded, err := Unmarshal(ws.Marshal())
		if err != nil {
			t.Fatalf("%s: unmarshal: %v", w.name, err)
		}
		if !equalOps(ws, decoded) {
			t.Fatalf("%s: decoded write-set differs", w.name)
		}
		if err := Update(dst, nil, func(tx *Tx) error { return Apply(tx, decoded) }); err != nil {
			t.Fatalf("%s: apply: %v", w.name, err)
		}
		if got, want := checksum(t, dst), checksum(t, src); got != want {
			t.Fatalf("%s: replayed file has checksum %x, want %x", w.name, got[:8], want[:8])
		}
	}
}

// TestRecord_Results: the write-set holds what was written, not how.
func TestRecord_Results(t *testing.T) {
	b := openTemp(t)
	if err := Update(b, nil, func(tx *Tx) error { mustBucket(tx, "a", "b"); return nil }); err != nil {
		t.Fatal(err)
	}
	var ws WriteSet
	err := Update(b, &ws, func(tx *Tx) error {
		bk := mustBucket(tx, "a", "b") // exists: nothing to record
		bk.NextSequence()
		bk.NextSequence()
		v := []byte("v1")
		bk.Put([]byte("k"), v)
		v[1] = '2' // the caller's buffer changes after the put
		c := bk.Cursor()
		c.First()
		return c.Delete()
	})
	if err != nil {
		t.Fatal(err)
	}
	path := [][]byte{[]byte("a"), []byte("b")}
	want := WriteSet{Ops: []Op{
		{Type: OpSetSequence, Path: path, Sequence: 1},
		{Type: OpSetSequence, Path: path, Sequence: 2},
		{Type: OpPut, Path: path, Key: []byte("k"), Value: []byte("v1")},
		{Type: OpDelete, Path: path, Key: []byte("k")},
	}}
	if !equalOps(ws, want) {
		t.Errorf("recorded %+v\nwant %+v", ws.Ops, want.Ops)
	}

	// A transaction that fails leaves bbolt unchanged; its ops are not a
	// write-set, and Update says so by its error.
	var failed WriteSet
	boom := errors.New("boom")
	if err := Update(b, &failed, func(tx *Tx) error {
		mustBucket(tx, "a").Put([]byte("x"), []byte("y"))
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("Update = %v, want %v", err, boom)
	}
}

// TestApply_PacksPagesAsRecorded: a bucket filled with growing keys at fill
// percent 1 takes about half the leaf pages of one at bbolt's default, and
// a replay of its write-set must pack it the same way, or a replica's file
// would be twice as large as the original.
func TestApply_PacksPagesAsRecorded(t *testing.T) {
	fill := func(t *testing.T, f float64) (*bbolt.DB, WriteSet) {
		b := openTemp(t)
		var ws WriteSet
		err := Update(b, &ws, func(tx *Tx) error {
			bk := mustBucket(tx, "log")
			bk.SetFillPercent(f)
			bk.SetFillPercent(f) // unchanged: recorded once
			for i := range 5000 {
				if err := bk.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), bytes.Repeat([]byte("v"), 40)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return b, ws
	}
	leafPages := func(t *testing.T, b *bbolt.DB) int {
		var n int
		b.View(func(tx *bbolt.Tx) error { n = tx.Bucket([]byte("log")).Stats().LeafPageN; return nil })
		return n
	}
	full, ws := fill(t, 1)
	half, _ := fill(t, 0.5)
	if got := ws.Ops[1]; got.Type != OpSetFillPercent || got.Fill != 1 || ws.Ops[2].Type != OpPut {
		t.Fatalf("recorded %+v, %+v: want one set-fill-percent before the puts", got, ws.Ops[2])
	}
	decoded, err := Unmarshal(ws.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	replica := openTemp(t)
	if err := Update(replica, nil, func(tx *Tx) error { return Apply(tx, decoded) }); err != nil {
		t.Fatal(err)
	}
	if got, want := leafPages(t, replica), leafPages(t, full); got != want || want*3/2 > leafPages(t, half) {
		t.Errorf("replica has %d leaf pages, the original %d (half-full pages: %d)", got, want, leafPages(t, half))
	}
	if checksum(t, replica) != checksum(t, full) {
		t.Error("the replica's data differs")
	}
}

// TestCursor_DeleteNeedsAKey: bbolt leaves a cursor on the key after the
// one it deleted without saying which, so the layer refuses a Delete that
// does not follow a move; the write-set then names every removed key.
func TestCursor_DeleteNeedsAKey(t *testing.T) {
	b := openTemp(t)
	err := Update(b, nil, func(tx *Tx) error {
		bk := mustBucket(tx, "a")
		bk.Put([]byte("k1"), []byte("1"))
		bk.Put([]byte("k2"), []byte("2"))
		c := bk.Cursor()
		if err := c.Delete(); !errors.Is(err, ErrCursorNotPositioned) {
			t.Errorf("Delete before a move = %v, want ErrCursorNotPositioned", err)
		}
		c.First()
		if err := c.Delete(); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(); !errors.Is(err, ErrCursorNotPositioned) {
			t.Errorf("second Delete = %v, want ErrCursorNotPositioned", err)
		}
		if got := bk.Get([]byte("k2")); string(got) != "2" {
			t.Errorf("k2 = %q, want it kept", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestApply_Errors: a write-set that does not fit the file fails with the
// operation that did not apply.
func TestApply_Errors(t *testing.T) {
	b := openTemp(t)
	tests := []struct {
		name string
		op   Op
	}{
		{"missing bucket", Op{Type: OpPut, Path: [][]byte{[]byte("nope")}, Key: []byte("k")}},
		{"missing parent", Op{Type: OpCreateBucket, Path: [][]byte{[]byte("nope"), []byte("x")}}},
		{"empty path", Op{Type: OpDelete}},
		{"unknown op", Op{Type: 99, Path: [][]byte{[]byte("meta")}}},
		{"bucket exists", Op{Type: OpCreateBucket, Path: [][]byte{[]byte("meta")}}},
	}
	if err := Update(b, nil, func(tx *Tx) error { mustBucket(tx, "meta"); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Update(b, nil, func(tx *Tx) error { return Apply(tx, WriteSet{Ops: []Op{tt.op}}) })
			if err == nil {
				t.Error("Apply succeeded")
			}
		})
	}
}

// TestUnmarshal_Malformed: bytes that are not a write-set are refused.
func TestUnmarshal_Malformed(t *testing.T) {
	good := WriteSet{Ops: []Op{{Type: OpPut, Path: [][]byte{[]byte("a")}, Key: []byte("k"), Value: []byte("v")}}}.Marshal()
	tests := map[string][]byte{
		"empty":           nil,
		"version":         append([]byte{9}, good[1:]...),
		"truncated":       good[:len(good)-1],
		"trailing":        append(bytes.Clone(good), 0),
		"count too large": {writeSetVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"zero depth":      {writeSetVersion, 1, byte(OpCreateBucket), 0, 0},
		"unknown op":      {writeSetVersion, 1, 77, 0, 1, 1, 'a'},
		"length overflow": {writeSetVersion, 1, byte(OpDelete), 0, 1, 1, 'a', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"shares unknown":  {writeSetVersion, 1, byte(OpDelete), 1, 0, 1, 'k'},
		"shares too much": {writeSetVersion, 2, byte(OpPut), 0, 1, 1, 'a', 1, 'k', 1, 'v', byte(OpDelete), 2, 0, 1, 'k'},
		"too deep":        append([]byte{writeSetVersion, 1, byte(OpCreateBucket), 0, maxPathDepth + 1}, bytes.Repeat([]byte{1, 'a'}, maxPathDepth+1)...),
		"fill above 1":    WriteSet{Ops: []Op{{Type: OpSetFillPercent, Path: [][]byte{[]byte("a")}, Fill: 1.5}}}.Marshal(),
		"fill NaN":        WriteSet{Ops: []Op{{Type: OpSetFillPercent, Path: [][]byte{[]byte("a")}, Fill: math.NaN()}}}.Marshal(),
		"fill truncated":  {writeSetVersion, 1, byte(OpSetFillPercent), 0, 1, 1, 'a', 0x3f, 0xf0},
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Unmarshal(data); !errors.Is(err, errMalformed) {
				t.Errorf("Unmarshal = %v, want a malformed write-set", err)
			}
		})
	}
	if ws, err := Unmarshal(good); err != nil || len(ws.Ops) != 1 {
		t.Errorf("Unmarshal(good) = %v, %v", ws, err)
	}
	shares := []byte{writeSetVersion, 2, byte(OpPut), 0, 1, 1, 'a', 1, 'k', 1, 'v', byte(OpDelete), 1, 0, 1, 'k'}
	if ws, err := Unmarshal(shares); err != nil || len(ws.Ops) != 2 || string(ws.Ops[1].Path[0]) != "a" {
		t.Errorf("Unmarshal(sharing its path) = %v, %v", ws, err)
	}
	deepest := WriteSet{Ops: []Op{{Type: OpCreateBucket, Path: bytes.Fields(bytes.Repeat([]byte("a "), maxPathDepth))}}}
	if ws, err := Unmarshal(deepest.Marshal()); err != nil || !equalOps(ws, deepest) || deepest.Validate() != nil {
		t.Errorf("Unmarshal(%d levels deep) = %v, %v", maxPathDepth, ws, err)
	}
	// What Unmarshal refuses, Validate refuses before it is sent.
	tooDeep := WriteSet{Ops: []Op{{Type: OpCreateBucket, Path: bytes.Fields(bytes.Repeat([]byte("a "), maxPathDepth+1))}}}
	for name, ws := range map[string]WriteSet{
		"too deep":   tooDeep,
		"no path":    {Ops: []Op{{Type: OpPut, Key: []byte("k")}}},
		"fill above": {Ops: []Op{{Type: OpSetFillPercent, Path: [][]byte{[]byte("a")}, Fill: 1.5}}},
		"fill NaN":   {Ops: []Op{{Type: OpSetFillPercent, Path: [][]byte{[]byte("a")}, Fill: math.NaN()}}},
	} {
		if ws.Validate() == nil {
			t.Errorf("Validate(%s) = nil, want an error", name)
		}
		if _, err := Unmarshal(ws.Marshal()); err == nil {
			t.Errorf("Unmarshal(%s) = nil error; Validate and Unmarshal disagree", name)
		}
	}
}

// TestMarshal_SharesPaths: an operation names only the part of its path that
// differs from the previous operation's, and decodes to the whole path.
func TestMarshal_SharesPaths(t *testing.T) {
	path := func(names ...string) [][]byte {
		p := make([][]byte, len(names))
		for i, n := range names {
			p[i] = []byte(n)
		}
		return p
	}
	ws := WriteSet{Ops: []Op{
		{Type: OpPut, Path: path("tenants", "t1", "users"), Key: []byte("k"), Value: []byte("v")},
		{Type: OpPut, Path: path("tenants", "t1", "users"), Key: []byte("l"), Value: []byte("w")},
		{Type: OpSetSequence, Path: path("tenants", "t1"), Sequence: 7},
		{Type: OpDelete, Path: path("tenants", "t1", "apps"), Key: []byte("a")},
		{Type: OpDeleteBucket, Path: path("meta")},
	}}
	data := ws.Marshal()
	if n := bytes.Count(data, []byte("tenants")); n != 1 {
		t.Errorf("encoding holds %q %d times, want once", "tenants", n)
	}
	got, err := Unmarshal(data)
	if err != nil || !equalOps(got, ws) {
		t.Errorf("Unmarshal = %+v, %v; want %+v", got.Ops, err, ws.Ops)
	}
}

// FuzzUnmarshal: write-sets will arrive from the network in raft entries.
// Decoding never panics, and what decodes encodes back to the same
// operations.
func FuzzUnmarshal(f *testing.F) {
	b := openTemp(f)
	for _, w := range writes {
		var ws WriteSet
		if err := Update(b, &ws, w.fn); err != nil {
			f.Fatal(err)
		}
		f.Add(ws.Marshal())
	}
	f.Add([]byte{writeSetVersion, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := Unmarshal(data)
		if err != nil {
			return
		}
		again, err := Unmarshal(ws.Marshal())
		if err != nil {
			t.Fatalf("re-encoded write-set does not decode: %v", err)
		}
		if !equalOps(ws, again) {
			t.Fatal("re-encoded write-set differs")
		}
	})
}

// TestChecksum: the checksum sees values, sequences and nesting, and not
// the order in which the same data was written.
func TestChecksum(t *testing.T) {
	build := func(fn func(tx *Tx) error) [32]byte {
		b := openTemp(t)
		if err := Update(b, nil, fn); err != nil {
			t.Fatal(err)
		}
		return checksum(t, b)
	}
	put := func(tx *Tx, path []string, k, v string) error {
		return mustBucket(tx, path...).Put([]byte(k), []byte(v))
	}
	base := build(func(tx *Tx) error {
		put(tx, []string{"x", "y"}, "k1", "v1")
		return put(tx, []string{"x"}, "k2", "v2")
	})
	tests := []struct {
		name string
		same bool
		fn   func(tx *Tx) error
	}{
		{"other order", true, func(tx *Tx) error {
			put(tx, []string{"x"}, "k2", "v2")
			return put(tx, []string{"x", "y"}, "k1", "v1")
		}},
		{"other value", false, func(tx *Tx) error {
			put(tx, []string{"x", "y"}, "k1", "v1")
			return put(tx, []string{"x"}, "k2", "v3")
		}},
		{"other bucket", false, func(tx *Tx) error {
			put(tx, []string{"x", "z"}, "k1", "v1")
			return put(tx, []string{"x"}, "k2", "v2")
		}},
		{"key moved up", false, func(tx *Tx) error {
			mustBucket(tx, "x", "y")
			put(tx, []string{"x"}, "k1", "v1")
			return put(tx, []string{"x"}, "k2", "v2")
		}},
		{"sequence", false, func(tx *Tx) error {
			put(tx, []string{"x", "y"}, "k1", "v1")
			put(tx, []string{"x"}, "k2", "v2")
			return mustBucket(tx, "x", "y").SetSequence(1)
		}},
		{"empty extra bucket", false, func(tx *Tx) error {
			put(tx, []string{"x", "y"}, "k1", "v1")
			put(tx, []string{"x"}, "k2", "v2")
			mustBucket(tx, "w")
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := build(tt.fn) == base; got != tt.same {
				t.Errorf("same checksum = %v, want %v", got, tt.same)
			}
		})
	}
}

// equalOps reports whether two write-sets hold the same operations.
func equalOps(a, b WriteSet) bool {
	if len(a.Ops) != len(b.Ops) {
		return false
	}
	for i := range a.Ops {
		x, y := a.Ops[i], b.Ops[i]
		if x.Type != y.Type || x.Sequence != y.Sequence || x.Fill != y.Fill || !bytes.Equal(x.Key, y.Key) || !bytes.Equal(x.Value, y.Value) || len(x.Path) != len(y.Path) {
			return false
		}
		for j := range x.Path {
			if !bytes.Equal(x.Path[j], y.Path[j]) {
				return false
			}
		}
	}
	return true
}

// BenchmarkGet compares a read through bbolt, through the layer, and
// through the layer while recording: the layer must cost (nearly) nothing.
func BenchmarkGet(b *testing.B) {
	db := openTemp(b)
	if err := Update(db, nil, func(tx *Tx) error { return mustBucket(tx, "tenants", "t", "users").Put([]byte("k"), []byte("v")) }); err != nil {
		b.Fatal(err)
	}
	b.Run("bbolt", func(b *testing.B) {
		db.View(func(tx *bbolt.Tx) error {
			for b.Loop() {
				tx.Bucket([]byte("tenants")).Bucket([]byte("t")).Bucket([]byte("users")).Get([]byte("k"))
			}
			return nil
		})
	})
	b.Run("kv", func(b *testing.B) {
		View(db, func(tx *Tx) error {
			for b.Loop() {
				tx.Bucket([]byte("tenants")).Bucket([]byte("t")).Bucket([]byte("users")).Get([]byte("k"))
			}
			return nil
		})
	})
}

// BenchmarkPut compares a write through bbolt, through the layer, and
// through the layer while recording (in one transaction, no commit).
func BenchmarkPut(b *testing.B) {
	db := openTemp(b)
	key := make([]byte, 8)
	value := bytes.Repeat([]byte("v"), 100)
	run := func(b *testing.B, put func(tx *bbolt.Tx, i int) error) {
		tx, err := db.Begin(true)
		if err != nil {
			b.Fatal(err)
		}
		defer tx.Rollback()
		tx.CreateBucketIfNotExists([]byte("tenants"))
		tx.Bucket([]byte("tenants")).CreateBucketIfNotExists([]byte("t"))
		i := 0
		for b.Loop() {
			if err := put(tx, i); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("bbolt", func(b *testing.B) {
		run(b, func(tx *bbolt.Tx, i int) error {
			key[7], key[6] = byte(i), byte(i>>8)
			return tx.Bucket([]byte("tenants")).Bucket([]byte("t")).Put(key, value)
		})
	})
	b.Run("kv", func(b *testing.B) {
		run(b, func(btx *bbolt.Tx, i int) error {
			key[7], key[6] = byte(i), byte(i>>8)
			return NewTx(btx, nil).Bucket([]byte("tenants")).Bucket([]byte("t")).Put(key, value)
		})
	})
	b.Run("kv-recording", func(b *testing.B) {
		var ws WriteSet
		run(b, func(btx *bbolt.Tx, i int) error {
			key[7], key[6] = byte(i), byte(i>>8)
			if len(ws.Ops) > 1000 {
				ws.Ops = ws.Ops[:0]
			}
			return NewTx(btx, &ws).Bucket([]byte("tenants")).Bucket([]byte("t")).Put(key, value)
		})
	})
}
