package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// Snapshot is a consistent copy of the data file in a temporary file, read
// with Read and removed by Close. Build it with DB.Snapshot.
type Snapshot struct {
	// Size is the length of the copy in bytes.
	Size int64
	file *os.File
	// unlinked says the file's name is already gone, so the system frees
	// its space on Close, or when the process dies.
	unlinked bool
	release  func()
}

// Read reads the copy, from its start.
func (s *Snapshot) Read(p []byte) (int, error) { return s.file.Read(p) }

// Close closes and removes the copy. It is safe to call twice.
func (s *Snapshot) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	if !s.unlinked {
		if rmErr := os.Remove(s.file.Name()); err == nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = rmErr
		}
	}
	s.file = nil
	s.release()
	return err
}

// Snapshot copies the whole data file, as of one read transaction, to a
// temporary file (mode 0600) next to the data file, or in os.TempDir if that
// directory is not writable. The read transaction lasts only as long as the
// local copy: a client that downloads the snapshot slowly, or stalls, holds
// no transaction, so it never delays writes that grow the file. The caller
// must Close the snapshot, which removes the file.
//
// A snapshot needs as much free disk as the data file holds, so only one
// exists at a time: Snapshot returns ETOOMANYREQUESTS while another is open,
// and EINSUFFICIENTSTORAGE, writing nothing, when the disk has less free
// than the data file's size and snapshotMargin, which the file itself may
// need meanwhile: a backup must never put every tenant's writes into 507.
func (db *DB) Snapshot(ctx context.Context) (*Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !db.snapshotMu.TryLock() {
		return nil, &Error{Code: ETOOMANYREQUESTS, RetryAfter: backupRetryAfter,
			Message: "A backup is already running; try again when it has finished."}
	}
	f, err := os.CreateTemp(filepath.Dir(db.bolt.Path()), ".idbolt-backup-*")
	if err != nil {
		if f, err = os.CreateTemp("", ".idbolt-backup-*"); err != nil {
			db.snapshotMu.Unlock()
			return nil, fmt.Errorf("create backup snapshot: %w", err)
		}
	}
	snap := &Snapshot{file: f, release: db.snapshotMu.Unlock}
	// Where the system allows it (not Windows), the open file loses its
	// name at once, so a crash cannot leave a copy of the data behind.
	snap.unlinked = os.Remove(f.Name()) == nil
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		if free, ok := freeSpace(f); ok && uint64(tx.Size())+snapshotMargin > free {
			return &Error{Code: EINSUFFICIENTSTORAGE, Message: fmt.Sprintf(
				"The disk has %d MiB free; a backup needs the data file's %d MiB and %d MiB to spare.",
				free>>20, tx.Size()>>20, snapshotMargin>>20)}
		}
		var err error
		snap.Size, err = tx.WriteTo(ctxWriter{ctx, f})
		return err
	})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		snap.Close()
		if ErrorCode(err) == EINSUFFICIENTSTORAGE {
			return nil, err
		}
		return nil, fmt.Errorf("write backup snapshot: %w", err)
	}
	return snap, nil
}

// snapshotMargin is the free disk a snapshot leaves beside its copy, for
// the data file's own growth meanwhile.
const snapshotMargin = 64 << 20

// backupRetryAfter is when a backup refused because another is running is
// told to try again: a copy of a large file takes a while.
const backupRetryAfter = 10 * time.Second

// ctxWriter stops a copy once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Backup writes a consistent copy of the whole data file to w, through a
// Snapshot, so a slow w holds no transaction. It returns the number of bytes
// written.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	snap, err := db.Snapshot(ctx)
	if err != nil {
		return 0, err
	}
	defer snap.Close()
	return io.Copy(w, snap)
}

// Ping proves the data file is writable: it commits (and syncs) a small
// write to the node's own bucket, which is not replicated. While writes fail for lack of space it
// writes a larger probe instead (see probeSpace), and returns
// EINSUFFICIENTSTORAGE until the disk takes it.
func (db *DB) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.StorageInsufficient() {
		return db.probeSpace(ctx)
	}
	return db.commitLocal(func(tx *kv.Tx) error {
		return tx.Bucket(bucketNode).Put(keyLastPing, itob(uint64(db.now().UnixNano())))
	}, false)
}

// CheckFile verifies that the file at path is a sound idbolt data file: its
// meta pages and size (checked before bbolt maps the file, so a truncated
// file is an error, not a crash), bbolt's page check, and the root buckets.
func CheckFile(path string) error { return checkFile(path, path) }

// checkFile is CheckFile naming the file name in its errors.
func checkFile(path, name string) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s is not a readable data file: %w", name, err)
	}
	if info.Size() == 0 {
		return fmt.Errorf("%s is empty, not an idbolt data file", name)
	}
	if err := checkPath(path, name); err != nil {
		return err
	}
	b, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%s is not a readable data file: %w", name, err)
	}
	defer b.Close()
	return b.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("%s is damaged: %w", name, err)
		}
		if tx.Bucket(bucketMeta) == nil || tx.Bucket(bucketTenants) == nil {
			return fmt.Errorf("%s is a bbolt file but not an idbolt data file", name)
		}
		return nil
	})
}

// Restore replaces the data file at dst with the backup at src. It refuses
// while another process has dst open, and holds dst's lock from that check
// through the rename, so a server starting meanwhile waits for the new file. It copies src to a temporary file next
// to dst, checks that copy (so what is checked is what is installed), and
// only then renames it over dst, so a bad backup or a crash leaves dst as it
// was.
func Restore(src, dst string) error { return RestoreReporting(src, dst, nil) }

// RestoreReporting is Restore that also writes the bytes of src it copies
// to copied, when not nil, so that a caller can show the copy's progress.
func RestoreReporting(src, dst string, copied io.Writer) error {
	if err := checkPath(src, src); err != nil {
		return err // fail fast, before copying a bad file
	}
	unlock, err := lockForRestore(dst)
	if err != nil {
		return err
	}
	defer unlock()
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".idbolt-restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	var from io.Reader = in
	if copied != nil {
		from = io.TeeReader(in, copied)
	}
	if _, err := io.Copy(tmp, from); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := checkFile(tmp.Name(), src); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	// The rename is durable once the directory is synced.
	syncDir(filepath.Dir(dst))
	return nil
}
