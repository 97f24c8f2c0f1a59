package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"go.etcd.io/bbolt"
)

// bbolt's file header, as laid out by go.etcd.io/bbolt/internal/common
// (page.go and meta.go): pages 0 and 1 each hold a 16-byte page header and
// then a meta record. bbolt writes it in the machine's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16 // page id (8), flags (2), count (2), overflow (4)
	// metaSize is magic (4), version (4), page size (4), flags (4), root
	// bucket page and sequence (8+8), freelist page (8), high water mark
	// (8), txid (8) and the checksum (8): FNV-64a of everything before it.
	metaSize       = 64
	metaSummedSize = 56
	noFreelist     = ^uint64(0) // the freelist page id of a file that does not store it
	minPageSize    = 1024
	maxPageSize    = 1 << 24 // bbolt looks for the second meta page up to here
)

// fileMeta is what a valid meta page says about its file.
type fileMeta struct {
	pageSize uint32
	root     uint64 // page of the root bucket
	freelist uint64 // page of the freelist, or noFreelist
	pages    uint64 // high water mark: pages [0, pages) are in use
	txid     uint64
}

// parseMeta decodes the meta page at the start of page and checks its magic
// number, version, checksum, page size and page ids.
func parseMeta(page []byte) (fileMeta, error) {
	if len(page) < pageHeaderSize+metaSize {
		return fileMeta{}, errors.New("too short for a meta page")
	}
	m := page[pageHeaderSize : pageHeaderSize+metaSize]
	order := binary.NativeEndian
	if order.Uint32(m[0:]) != boltMagic {
		return fileMeta{}, errors.New("no bbolt magic number")
	}
	if v := order.Uint32(m[4:]); v != boltVersion {
		return fileMeta{}, fmt.Errorf("bbolt format version %d, want %d", v, boltVersion)
	}
	sum := fnv.New64a()
	sum.Write(m[:metaSummedSize])
	if sum.Sum64() != order.Uint64(m[metaSummedSize:]) {
		return fileMeta{}, errors.New("meta page checksum mismatch")
	}
	meta := fileMeta{pageSize: order.Uint32(m[8:]), root: order.Uint64(m[16:]), freelist: order.Uint64(m[32:]),
		pages: order.Uint64(m[40:]), txid: order.Uint64(m[48:])}
	if meta.pageSize < minPageSize || meta.pageSize > maxPageSize || meta.pageSize&(meta.pageSize-1) != 0 {
		return fileMeta{}, fmt.Errorf("page size %d", meta.pageSize)
	}
	// Pages 0 and 1 are the meta pages, so the root and the freelist come
	// after them and below the high water mark.
	if meta.root < 2 || meta.root >= meta.pages {
		return fileMeta{}, fmt.Errorf("root page %d outside pages 2-%d", meta.root, meta.pages)
	}
	if meta.freelist != noFreelist && (meta.freelist < 2 || meta.freelist >= meta.pages) {
		return fileMeta{}, fmt.Errorf("freelist page %d outside pages 2-%d", meta.freelist, meta.pages)
	}
	return meta, nil
}

// readMeta reads and parses the meta page at offset off of r.
func readMeta(r io.ReaderAt, off int64) (fileMeta, error) {
	page := make([]byte, pageHeaderSize+metaSize)
	if _, err := r.ReadAt(page, off); err != nil {
		return fileMeta{}, fmt.Errorf("no meta page at byte %d", off)
	}
	return parseMeta(page)
}

// checkHeader checks, before bbolt maps a file of size bytes, what bbolt
// would otherwise trust: that a meta page is valid, and that the file holds
// every page the newest valid one says is in use. bbolt maps the file
// without checking its size, so a truncated file makes it read past the end
// of the file and the process dies with SIGBUS or SIGSEGV.
func checkHeader(r io.ReaderAt, size int64) error {
	meta0, err0 := readMeta(r, 0)
	var meta1 fileMeta
	var err1 error
	if err0 == nil {
		meta1, err1 = readMeta(r, int64(meta0.pageSize))
	} else {
		// Meta page 0 is damaged, so its page size is unknown: look for meta
		// page 1 at every page size, as bbolt does.
		err1 = errors.New("no second meta page")
		for pageSize := int64(minPageSize); pageSize <= maxPageSize && pageSize < size; pageSize *= 2 {
			if m, err := readMeta(r, pageSize); err == nil && int64(m.pageSize) == pageSize {
				meta1, err1 = m, nil
				break
			}
		}
	}
	var meta fileMeta
	switch {
	case err0 != nil && err1 != nil:
		return fmt.Errorf("is not an idbolt data file (%d bytes): %v", size, err0)
	case err0 != nil:
		meta = meta1
	case err1 != nil:
		meta = meta0
	case meta0.pageSize != meta1.pageSize:
		return fmt.Errorf("is damaged: its meta pages say %d and %d byte pages", meta0.pageSize, meta1.pageSize)
	case meta1.txid > meta0.txid:
		meta = meta1 // bbolt uses the valid meta page of the newest transaction
	default:
		meta = meta0
	}
	if meta.pages > uint64(size)/uint64(meta.pageSize) {
		return fmt.Errorf("is truncated: %d bytes, its meta page says %d pages of %d bytes", size, meta.pages, meta.pageSize)
	}
	return nil
}

// checkPath runs checkHeader on the file at path, naming it name in errors.
// A missing or empty file passes: bbolt creates a new data file there.
func checkPath(path, name string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	if info.Size() == 0 {
		return nil
	}
	if err := checkHeader(f, info.Size()); err != nil {
		return fmt.Errorf("%s %w", name, err)
	}
	return nil
}

// initialMmapSize is the address space bbolt maps when it opens the data
// file. bbolt must remap a file that outgrows its mapping, and a remap waits
// for every read transaction to end while holding up every new one, so the
// mapping is made large from the start: it is virtual address space, not
// memory. 32-bit programs have little address space to spare, and on
// Windows bbolt grows the file itself to the size of the mapping, so they
// map only what the file needs.
func initialMmapSize() int {
	if runtime.GOOS == "windows" {
		return 0
	}
	if strconv.IntSize == 32 {
		return 128 << 20
	}
	return 1 << 30
}

// growStep is how much bbolt adds to the file when it must grow. Once the
// mapping is larger than its 16 MiB default, bbolt grows the file by that
// much each time, which a large initial mapping makes the case from the
// first write: a new data file would show as 16 MiB. 4 MiB keeps the file
// close to its content and costs about as many grow fsyncs as bbolt's
// doubling did.
const growStep = 4 << 20

// openBolt opens the data file with a large initial mapping, and without
// one when the system refuses that much address space (a ulimit -v).
func openBolt(path string, opts bbolt.Options) (*bbolt.DB, error) {
	opts.InitialMmapSize = initialMmapSize()
	b, err := bbolt.Open(path, 0o600, &opts)
	if errors.Is(err, syscall.ENOMEM) && opts.InitialMmapSize > 0 {
		opts.InitialMmapSize = 0
		b, err = bbolt.Open(path, 0o600, &opts)
	}
	if err == nil && opts.InitialMmapSize > growStep {
		b.AllocSize = growStep // before the first write: no transaction is open yet
	}
	return b, err
}
