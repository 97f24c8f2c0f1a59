package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// pageFile returns the data file main wrote before the header check
// existed, opened (so such files still pass) and backed up, so that the
// result is exactly as long as the pages it uses: every shorter file is
// truncated.
func pageFile(t testing.TB) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idbolt.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path, Options{NoSync: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatalf("open a file written by main: %v", err)
	}
	defer db.Close()
	var buf bytes.Buffer
	if _, err := db.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Every truncation of a data file, at each page boundary and at a few odd
// sizes, is refused by Open, CheckFile and Restore with an error naming the
// file, instead of crashing the process inside bbolt; and Restore leaves its
// target as it was.
func TestFileCheck_Truncated(t *testing.T) {
	full := pageFile(t)
	pageSize := int(binary.NativeEndian.Uint32(full[pageHeaderSize+8:]))
	if pageSize < minPageSize || len(full)%pageSize != 0 || len(full)/pageSize < 4 {
		t.Fatalf("backup of %d bytes with %d byte pages", len(full), pageSize)
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "target.db")
	if err := os.WriteFile(target, full, 0o600); err != nil {
		t.Fatal(err)
	}

	// The whole file passes, so the cases below fail for their size alone.
	whole := filepath.Join(dir, "whole.db")
	os.WriteFile(whole, full, 0o600)
	if err := CheckFile(whole); err != nil {
		t.Fatalf("the whole file: %v", err)
	}
	if err := Restore(whole, filepath.Join(dir, "restored.db")); err != nil {
		t.Fatalf("restore the whole file: %v", err)
	}

	var sizes []int
	for size := 0; size < len(full); size += pageSize {
		sizes = append(sizes, size)
	}
	sizes = append(sizes, 1, pageHeaderSize+metaSize-1, pageHeaderSize+metaSize, pageSize-1, pageSize+1,
		2*pageSize+17, len(full)-pageSize/2, len(full)-1)
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "truncated.db")
			if err := os.WriteFile(path, full[:size], 0o600); err != nil {
				t.Fatal(err)
			}
			wantWord := "truncated"
			if size < pageHeaderSize+metaSize {
				wantWord = "not an idbolt data file"
			}
			if size == 0 {
				wantWord = "empty"
			}
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Errorf("%s accepted a file of %d of %d bytes", what, size, len(full))
				} else if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), wantWord) {
					t.Errorf("%s: %v; want an error naming %s that says %q", what, err, path, wantWord)
				}
			}
			check("CheckFile", CheckFile(path))
			check("Restore", Restore(path, target))
			if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, full) {
				t.Errorf("a failed restore changed its target (%d bytes, %v)", len(got), err)
			}
			db, err := Open(context.Background(), path, Options{NoSync: true})
			if size == 0 {
				// An empty file is a new one: bbolt initializes it.
				if err != nil {
					t.Errorf("open an empty file: %v", err)
				} else {
					db.Close()
				}
				return
			}
			if err == nil {
				db.Close()
			}
			check("Open", err)
		})
	}
	// Restoring is how a truncated data file is repaired: the damaged target
	// is replaced, not opened.
	damaged := filepath.Join(dir, "damaged.db")
	os.WriteFile(damaged, full[:3*pageSize], 0o600)
	if err := Restore(whole, damaged); err != nil {
		t.Errorf("restore over a truncated file: %v", err)
	} else if got, _ := os.ReadFile(damaged); !bytes.Equal(got, full) {
		t.Errorf("restore over a truncated file left %d bytes", len(got))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".idbolt-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// encodeMeta returns the first page of a bbolt file holding meta, with the
// checksum bbolt computes.
func encodeMeta(m fileMeta, magic, version uint32) []byte {
	page := make([]byte, pageHeaderSize+metaSize)
	b := page[pageHeaderSize:]
	order := binary.NativeEndian
	order.PutUint32(b[0:], magic)
	order.PutUint32(b[4:], version)
	order.PutUint32(b[8:], m.pageSize)
	order.PutUint64(b[16:], m.root)
	order.PutUint64(b[32:], m.freelist)
	order.PutUint64(b[40:], m.pages)
	order.PutUint64(b[48:], m.txid)
	sum := fnv.New64a()
	sum.Write(b[:metaSummedSize])
	order.PutUint64(b[metaSummedSize:], sum.Sum64())
	return page
}

func TestParseMeta(t *testing.T) {
	good := fileMeta{pageSize: 4096, root: 3, freelist: 2, pages: 20, txid: 7}
	with := func(f func(*fileMeta)) fileMeta { m := good; f(&m); return m }
	badSum := encodeMeta(good, boltMagic, boltVersion)
	badSum[pageHeaderSize+metaSummedSize] ^= 1
	tests := []struct {
		name    string
		page    []byte
		wantErr string
	}{
		{"OK", encodeMeta(good, boltMagic, boltVersion), ""},
		{"OK no freelist", encodeMeta(with(func(m *fileMeta) { m.freelist = noFreelist }), boltMagic, boltVersion), ""},
		{"OK 64 KiB pages", encodeMeta(with(func(m *fileMeta) { m.pageSize = 64 << 10 }), boltMagic, boltVersion), ""},
		{"short", encodeMeta(good, boltMagic, boltVersion)[:pageHeaderSize+metaSize-1], "too short"},
		{"magic", encodeMeta(good, 0xDEADBEEF, boltVersion), "magic"},
		{"version", encodeMeta(good, boltMagic, 1), "version 1"},
		{"checksum", badSum, "checksum"},
		{"page size 0", encodeMeta(with(func(m *fileMeta) { m.pageSize = 0 }), boltMagic, boltVersion), "page size 0"},
		{"page size 512", encodeMeta(with(func(m *fileMeta) { m.pageSize = 512 }), boltMagic, boltVersion), "page size 512"},
		{"page size 5000", encodeMeta(with(func(m *fileMeta) { m.pageSize = 5000 }), boltMagic, boltVersion), "page size 5000"},
		{"page size 32 MiB", encodeMeta(with(func(m *fileMeta) { m.pageSize = 32 << 20 }), boltMagic, boltVersion), "page size"},
		{"root on a meta page", encodeMeta(with(func(m *fileMeta) { m.root = 1 }), boltMagic, boltVersion), "root page 1"},
		{"root past the end", encodeMeta(with(func(m *fileMeta) { m.root = 20 }), boltMagic, boltVersion), "root page 20"},
		{"freelist past the end", encodeMeta(with(func(m *fileMeta) { m.freelist = 99 }), boltMagic, boltVersion), "freelist page 99"},
		{"freelist on a meta page", encodeMeta(with(func(m *fileMeta) { m.freelist = 0 }), boltMagic, boltVersion), "freelist page 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := parseMeta(tt.page)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("parseMeta: %v", err)
				}
				if got := encodeMeta(m, boltMagic, boltVersion); !bytes.Equal(got, tt.page) {
					t.Errorf("parsed %+v, which encodes differently", m)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseMeta: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// checkHeader picks the meta page bbolt would use: the valid one of the
// newest transaction, found at the page size of the other when meta page 0
// is damaged.
func TestCheckHeader_ChoosesNewestValidMeta(t *testing.T) {
	const ps = 4096
	file := func(m0, m1 []byte, pages int) []byte {
		b := make([]byte, pages*ps)
		copy(b, m0)
		copy(b[ps:], m1)
		return b
	}
	small := encodeMeta(fileMeta{pageSize: ps, root: 3, freelist: 2, pages: 4, txid: 8}, boltMagic, boltVersion)
	large := encodeMeta(fileMeta{pageSize: ps, root: 3, freelist: 2, pages: 10, txid: 9}, boltMagic, boltVersion)
	junk := make([]byte, pageHeaderSize+metaSize)
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"newer meta 1 needs 10 pages", file(small, large, 6), "says 10 pages"},
		{"newer meta 0 needs 10 pages", file(large, small, 6), "says 10 pages"},
		{"newer meta fits", file(small, large, 10), ""},
		{"meta 0 damaged, meta 1 found", file(junk, large, 10), ""},
		{"meta 0 damaged, meta 1 truncated", file(junk, large, 6), "says 10 pages"},
		{"meta 1 damaged, meta 0 used", file(small, junk, 4), ""},
		{"both damaged", file(junk, junk, 4), "not an idbolt data file"},
		{"page sizes disagree", file(small, encodeMeta(fileMeta{pageSize: 8192, root: 3, freelist: 2, pages: 4, txid: 9}, boltMagic, boltVersion), 8), "8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkHeader(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.wantErr == "" && err != nil {
				t.Errorf("checkHeader: %v", err)
			} else if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("checkHeader: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzCheckHeader feeds arbitrary file contents to the header check: it must
// not panic, and a file it accepts has a valid meta page whose pages all fit.
func FuzzCheckHeader(f *testing.F) {
	// Small seeds keep the fuzzer fast: a sound file of four 1 KiB pages,
	// the same truncated, and the meta pages of a real data file.
	const ps = 1024
	small := make([]byte, 4*ps)
	copy(small, encodeMeta(fileMeta{pageSize: ps, root: 3, freelist: 2, pages: 4, txid: 2}, boltMagic, boltVersion))
	copy(small[ps:], encodeMeta(fileMeta{pageSize: ps, root: 3, freelist: 2, pages: 4, txid: 3}, boltMagic, boltVersion))
	f.Add(small)
	f.Add(small[:3*ps])
	full := pageFile(f)
	pageSize := int(binary.NativeEndian.Uint32(full[pageHeaderSize+8:]))
	f.Add(full[:pageSize+pageHeaderSize+metaSize])
	f.Add([]byte("not a database"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkHeader(bytes.NewReader(data), int64(len(data))) != nil {
			return
		}
		fits := func(off int) bool {
			if off > len(data) {
				return false
			}
			m, err := parseMeta(data[off:])
			return err == nil && m.pages*uint64(m.pageSize) <= uint64(len(data))
		}
		ok := fits(0)
		for ps := minPageSize; !ok && ps <= maxPageSize && ps < len(data); ps *= 2 {
			ok = fits(ps)
		}
		if !ok {
			t.Errorf("accepted %d bytes without a valid meta page that fits", len(data))
		}
	})
}

// Writes that grow the file do not wait for a read transaction that stays
// open: bbolt remaps a file that outgrows its mapping, and a remap waits for
// every reader, so the data file is mapped large from the start.
func TestOpen_GrowthDoesNotWaitForReaders(t *testing.T) {
	if initialMmapSize() < 64<<20 {
		t.Skip("this platform maps only what the file needs")
	}
	db := mustOpen(t)
	inTx, release := make(chan struct{}), make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		kv.View(db.bolt, func(*kv.Tx) error { close(inTx); <-release; return nil })
	}()
	<-inTx
	endRead := sync.OnceFunc(func() { close(release); <-readerDone })
	defer endRead()
	scratch := []byte("test-growth")
	grown := make(chan error, 1)
	go func() {
		value := bytes.Repeat([]byte{'x'}, 1<<20)
		for i := range 24 {
			err := db.update(func(tx *kv.Tx) error {
				b, err := tx.CreateBucketIfNotExists(scratch)
				if err != nil {
					return err
				}
				return b.Put([]byte(fmt.Sprint(i)), value)
			})
			if err != nil {
				grown <- err
				return
			}
		}
		grown <- nil
	}()
	var err error
	select {
	case err = <-grown:
	case <-time.After(10 * time.Second):
		t.Error("writes that grow the file by 24 MiB waited for an open read transaction")
		endRead() // let them finish
		err = <-grown
	}
	if err != nil {
		t.Fatal(err)
	}
	endRead()
	if err := db.update(func(tx *kv.Tx) error { return tx.DeleteBucket(scratch) }); err != nil {
		t.Fatal(err)
	}
}
