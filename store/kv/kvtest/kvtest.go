// Package kvtest checks, in tests, that the write-sets a data file's
// transactions recorded reproduce the file: it keeps every committed
// write-set (encoded, as cluster mode will send them), replays them onto a
// copy of the file as it was when recording started, and compares the two
// files' canonical checksums.
package kvtest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// Recorder collects write-sets. Its Record method is the store's
// Options.OnCommit.
type Recorder struct {
	mu      sync.Mutex
	base    string   // copy of the file when recording started; "" before Start
	encoded [][]byte // committed write-sets since Start, marshalled
	bytes   int
}

// Record keeps ws. Write-sets committed before Start are already in the
// copy Start makes, so they are not kept.
func (r *Recorder) Record(ws kv.WriteSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.base == "" {
		return
	}
	b := ws.Marshal()
	r.encoded = append(r.encoded, b)
	r.bytes += len(b)
}

// Start copies the data file at path into dir, before the store opens it
// (no copy when there is no file yet: the replay then starts from an empty
// file); the write-sets recorded from now on, Open's own included, are
// replayed onto that copy.
func (r *Recorder) Start(path, dir string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	base := filepath.Join(dir, "replay-"+filepath.Base(path))
	if err := copyFile(path, base); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("kvtest: copy %s: %w", path, err)
	}
	r.base, r.encoded, r.bytes = base, nil, 0
	return nil
}

// Verify replays the recorded write-sets onto the copy Start made and
// checks that it then holds what the data file at path holds. The file
// must be closed by then: Verify opens both read-only.
func (r *Recorder) Verify(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.base == "" {
		return fmt.Errorf("kvtest: Verify without Start")
	}
	sets := make([]kv.WriteSet, len(r.encoded))
	for i, b := range r.encoded {
		ws, err := kv.Unmarshal(b)
		if err != nil {
			return fmt.Errorf("kvtest: write-set %d: %w", i+1, err)
		}
		sets[i] = ws
	}
	if err := applyFile(r.base, sets); err != nil {
		return fmt.Errorf("kvtest: replay onto %s: %w", r.base, err)
	}
	want, err := fileChecksum(path)
	if err != nil {
		return fmt.Errorf("kvtest: checksum %s: %w", path, err)
	}
	got, err := fileChecksum(r.base)
	if err != nil {
		return fmt.Errorf("kvtest: checksum %s: %w", r.base, err)
	}
	if got != want {
		return fmt.Errorf("kvtest: replaying %d write-sets (%d bytes) does not reproduce %s: checksum %x, want %x",
			len(sets), r.bytes, path, got[:8], want[:8])
	}
	r.encoded, r.bytes = nil, 0
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fileChecksum opens the data file at path read-only and returns its
// Checksum. The file must not be open elsewhere for writing.
func fileChecksum(path string) ([32]byte, error) {
	var sum [32]byte
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return sum, err
	}
	defer b.Close()
	err = b.View(func(btx *bbolt.Tx) error {
		sum = kv.Checksum(kv.NewTx(btx, nil))
		return nil
	})
	return sum, err
}

// applyFile replays sets, in order, onto the data file at path. They go in
// one transaction: the data is what committing them one by one would give,
// for a fraction of the commits.
func applyFile(path string, sets []kv.WriteSet) error {
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return err
	}
	err = kv.Update(b, nil, func(tx *kv.Tx) error {
		for i, ws := range sets {
			if err := kv.Apply(tx, ws); err != nil {
				return fmt.Errorf("write-set %d of %d: %w", i+1, len(sets), err)
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return err
	}
	return b.Close()
}
