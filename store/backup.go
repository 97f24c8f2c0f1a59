package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// Backup writes a consistent copy of the whole data file to w from one read
// transaction, while writes go on. It returns the number of bytes written.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Ping proves the data file is writable: it commits (and syncs) a small
// write to the instance meta bucket. While writes fail for lack of space it
// writes a larger probe instead (see probeSpace), and returns
// EINSUFFICIENTSTORAGE until the disk takes it.
func (db *DB) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.StorageInsufficient() {
		return db.probeSpace(ctx)
	}
	return db.update(func(tx *kv.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte("last_ping"), itob(uint64(db.now().UnixNano())))
	})
}

// CheckFile opens path read-only and verifies it is a consistent idbolt data
// file (bbolt's page check, and the root buckets are there).
func CheckFile(path string) error {
	b, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%s is not a readable data file: %w", path, err)
	}
	defer b.Close()
	return b.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("%s is damaged: %w", path, err)
		}
		if tx.Bucket(bucketMeta) == nil || tx.Bucket(bucketTenants) == nil {
			return fmt.Errorf("%s is a bbolt file but not an idbolt data file", path)
		}
		return nil
	})
}

// Restore replaces the data file at dst with the checked backup at src. It
// refuses while another process has dst open, and replaces it atomically
// (copy to a temporary file, fsync, rename), so a crash leaves either the old
// or the new file.
func Restore(src, dst string) error {
	if err := CheckFile(src); err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		// Taking the lock proves no server is running on dst.
		b, err := bbolt.Open(dst, 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			return fmt.Errorf("%s: %w (stop the server first)", dst, ErrInUse)
		}
		b.Close()
	}
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
	if _, err := io.Copy(tmp, in); err != nil {
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
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
