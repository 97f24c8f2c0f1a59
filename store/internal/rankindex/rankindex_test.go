package rankindex

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idbolt/idbolt/store/kv"
	"go.etcd.io/bbolt"
)

// update runs fn in one write transaction of a fresh bbolt file with the
// buckets data and idx.
func update(t *testing.T, fn func(data, idx *kv.Bucket) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "rank.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(btx *bbolt.Tx) error {
		tx := kv.NewTx(btx, nil)
		data, err := tx.CreateBucket([]byte("data"))
		if err != nil {
			return err
		}
		idx, err := tx.CreateBucket([]byte("idx"))
		if err != nil {
			return err
		}
		return fn(data, idx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSeekNewest checks every offset of a sequence-keyed bucket against the
// keys in reverse order, with gaps across the block sizes of every level and
// deletions, and an offset past the end.
func TestSeekNewest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	seqs := []uint64{1, 2, 63, 64, 65, 1<<12 - 1, 1 << 12, 1<<12 + 1, 1<<18 - 1, 1 << 18, 1<<18 + 7, 1 << 30}
	for len(seqs) < 600 {
		if s := rng.Uint64N(1 << 20); !slices.Contains(seqs, s) {
			seqs = append(seqs, s)
		}
	}
	slices.Sort(seqs)
	update(t, func(data, idx *kv.Bucket) error {
		for _, s := range seqs {
			if err := data.Put(be64(s), []byte{1}); err != nil {
				return err
			}
		}
		if err := AddAll(idx, seqs[:300]); err != nil {
			return err
		}
		for _, s := range seqs[300:] {
			if err := Add(idx, s, 1); err != nil {
				return err
			}
		}
		// Delete every seventh entry, as deleting users does.
		var live []uint64
		for i, s := range seqs {
			if i%7 == 3 {
				if err := data.Delete(be64(s)); err != nil {
					return err
				}
				if err := Add(idx, s, -1); err != nil {
					return err
				}
				continue
			}
			live = append(live, s)
		}
		if got := Total(idx); got != len(live) {
			t.Errorf("Total = %d, want %d", got, len(live))
		}
		for off := range len(live) + 2 {
			k, _, err := SeekNewest(idx, data.Cursor(), off)
			if err != nil {
				t.Fatalf("offset %d: %v", off, err)
			}
			if off >= len(live) {
				if k != nil {
					t.Errorf("offset %d past the end gave %d", off, unbe64(k))
				}
				continue
			}
			if want := live[len(live)-1-off]; k == nil || unbe64(k) != want {
				t.Fatalf("offset %d gave %x, want %d", off, k, want)
			}
		}
		return nil
	})
}

// TestPrefixSeek checks every offset of the pairs of two owners against the
// sorted ids, with ids shorter than the deepest level and shared prefixes,
// and that another owner's pairs never leak in.
func TestPrefixSeek(t *testing.T) {
	ids := map[string][]string{
		"o1": {"a", "ab", "abc", "abcd", "abce", "b", "b0", "zz9", "zzz", "zzzz"},
		"o2": {"a", "m", "mm"},
	}
	update(t, func(data, idx *kv.Bucket) error {
		for a, bs := range ids {
			for _, b := range bs {
				if err := data.Put(append(append([]byte(a), 0), b...), nil); err != nil {
					return err
				}
				if err := PrefixAdd(idx, a, b, 1); err != nil {
					return err
				}
			}
		}
		// Unlink one pair: its counts must go with it.
		if err := data.Delete([]byte("o1\x00abce")); err != nil {
			return err
		}
		if err := PrefixAdd(idx, "o1", "abce", -1); err != nil {
			return err
		}
		want := map[string][]string{"o1": slices.DeleteFunc(slices.Clone(ids["o1"]), func(s string) bool { return s == "abce" }), "o2": ids["o2"]}
		for a, bs := range want {
			for off := range len(bs) + 2 {
				k, err := PrefixSeek(idx, data.Cursor(), a, off)
				if err != nil {
					t.Fatalf("%s offset %d: %v", a, off, err)
				}
				if off >= len(bs) {
					if k != nil {
						t.Errorf("%s offset %d past the end gave %q", a, off, k)
					}
					continue
				}
				if wantKey := append(append([]byte(a), 0), bs[off]...); !bytes.Equal(k, wantKey) {
					t.Errorf("%s offset %d gave %q, want %q", a, off, k, wantKey)
				}
			}
		}
		return nil
	})
}

// TestUnderflow checks that removing what was never counted is an error, not
// a wrapped-around count.
func TestUnderflow(t *testing.T) {
	update(t, func(_, idx *kv.Bucket) error {
		if err := Add(idx, 5, -1); err == nil {
			t.Error("Add(-1) on an empty index succeeded")
		}
		if err := PrefixAdd(idx, "o", "x", -1); err == nil {
			t.Error("PrefixAdd(-1) on an empty index succeeded")
		}
		return nil
	})
}

// TestSeekNewestExcept checks every offset of a sequence-keyed bucket with
// a set of entries left out (runs of whole blocks and scattered ones)
// against the kept keys in reverse order, before and after deletions, and
// an offset past the end.
func TestSeekNewestExcept(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	seqs := []uint64{1, 2, 63, 64, 65, 1<<12 - 1, 1 << 12, 1<<12 + 1, 1<<18 - 1, 1 << 18, 1<<18 + 7, 1 << 30}
	for len(seqs) < 600 {
		if s := rng.Uint64N(1 << 20); !slices.Contains(seqs, s) {
			seqs = append(seqs, s)
		}
	}
	for s := uint64(5000); s < 5200; s++ { // whole level-0 blocks, all left out below
		if !slices.Contains(seqs, s) {
			seqs = append(seqs, s)
		}
	}
	slices.Sort(seqs)
	update(t, func(data, idx *kv.Bucket) error {
		for _, s := range seqs {
			if err := data.Put(be64(s), []byte{1}); err != nil {
				return err
			}
		}
		if err := AddAll(idx, seqs); err != nil {
			return err
		}
		live := slices.Clone(seqs)
		check := func(stage string) {
			var except, kept []uint64
			for i, s := range live {
				if (s >= 5000 && s < 5200) || i%3 == 0 || s == 1<<30 {
					except = append(except, s)
				} else {
					kept = append(kept, s)
				}
			}
			slices.Reverse(kept)
			for offset := 0; offset <= len(kept); offset++ {
				k, _, err := SeekNewestExcept(idx, data.Cursor(), offset, except)
				if err != nil {
					t.Fatalf("%s: offset %d: %v", stage, offset, err)
				}
				switch {
				case offset == len(kept) && k != nil:
					t.Fatalf("%s: offset %d past the end: got %d", stage, offset, unbe64(k))
				case offset < len(kept) && (k == nil || unbe64(k) != kept[offset]):
					t.Fatalf("%s: offset %d: got %v, want %d", stage, offset, k, kept[offset])
				}
			}
		}
		check("all")
		for i := 0; i < len(live); i += 5 {
			if err := data.Delete(be64(live[i])); err != nil {
				return err
			}
			if err := Add(idx, live[i], -1); err != nil {
				return err
			}
		}
		live = slices.DeleteFunc(live, func(s uint64) bool { return data.Get(be64(s)) == nil })
		check("after deletions")
		return nil
	})
}
