package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/idbolt/idbolt/store/kv"
)

// storageProbeSize is how much a readiness check writes, while writes fail
// for lack of space, to decide that they work again: enough that bbolt has to
// put it in new pages, so that recycling a few freed pages does not pass for
// free disk space.
const storageProbeSize = 1 << 20

var keySpaceProbe = []byte("space_probe")

// storageHealth tracks whether writes fail for lack of space. An episode
// starts with the first write that fails so, and ends with the first write
// that takes new space from the disk: one that grows the data file's used
// pages, or the readiness probe. A small write that only reuses pages bbolt
// freed earlier proves nothing and leaves the episode on. Each start and end
// is logged once.
type storageHealth struct {
	// mu is held across every write transaction and the state change it
	// causes, so that the state follows the writes in order. bbolt runs one
	// write transaction at a time anyway, so it costs no concurrency.
	mu           sync.Mutex
	insufficient atomic.Bool
	failures     atomic.Uint64 // write transactions refused for lack of space
	logger       *slog.Logger
}

// isNoSpace reports whether err is a failure for lack of space: a full file
// system, a full quota, a file at the system's size limit, or a data file at
// bbolt's MaxSize. bbolt wraps some errnos with %s, which loses them, so
// their text is checked too.
func isNoSpace(err error) bool {
	if err == nil || isDomain(err) {
		return false
	}
	if errors.Is(err, berrors.ErrMaxSizeReached) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG} {
		if errors.Is(err, errno) || strings.Contains(err.Error(), errno.Error()) {
			return true
		}
	}
	return false
}

// errInsufficientStorage is the error of a write refused for lack of space.
func errInsufficientStorage() *Error {
	return detailErrorf(EINSUFFICIENTSTORAGE, "storage.insufficient",
		"The disk of the data file is full: nothing was written. Try again once space is freed.")
}

// update runs fn in a write transaction through the key-value layer. Every
// write of an open DB to the replicated buckets goes through here: in
// cluster mode it is replicated (db_replica.go), otherwise committed here
// by commitLocal.
func (db *DB) update(fn func(*kv.Tx) error) error {
	if db.replicator != nil {
		return db.replicate(fn)
	}
	err := db.commitLocal(fn, false)
	if err == nil {
		db.dataChanged()
	}
	return err
}

// updateLog is update for writes to the audit log and the replay store
// only, which no cached answer depends on (db_cache.go).
func (db *DB) updateLog(fn func(*kv.Tx) error) error {
	if db.replicator != nil {
		return db.replicate(fn)
	}
	return db.commitLocal(fn, false)
}

// commitLocal commits fn's transaction to this node's file, hands its
// write-set to Options.OnCommit if that is set, and records whether the disk
// took it. A failure for lack of space becomes EINSUFFICIENTSTORAGE; fn's
// own errors (the transaction was then not committed) change nothing. When
// proof is set, a success ends an episode of writes failing for lack of
// space even if it took no new pages.
func (db *DB) commitLocal(fn func(*kv.Tx) error, proof bool) error {
	h := &db.storage
	h.mu.Lock()
	defer h.mu.Unlock()
	var usedBefore int64
	var rec *kv.WriteSet
	if db.onCommit != nil {
		rec = new(kv.WriteSet)
	}
	err := kv.Update(db.bolt, rec, func(tx *kv.Tx) error {
		usedBefore = tx.Size()
		return fn(tx)
	})
	switch {
	case err == nil:
		if rec != nil && rec.Len() > 0 {
			db.onCommit(*rec) // under h.mu, so in commit order
		}
		if h.insufficient.Load() && (proof || db.usedSize() > usedBefore) {
			h.insufficient.Store(false)
			h.logger.Info("data file writable again: a write took new disk space after writes failed for lack of it")
		}
	case isNoSpace(err):
		h.failures.Add(1)
		if !h.insufficient.Swap(true) {
			h.logger.Error("data file cannot grow: writes fail for lack of disk space until space is freed; reads and tokens go on",
				"path", db.Path(), "err", err)
		}
		return errInsufficientStorage()
	}
	return err
}

// usedSize returns the size of the data file's used pages (its high-water
// mark), which a write grows only by writing pages the disk did not hold.
func (db *DB) usedSize() int64 {
	var n int64
	kv.View(db.bolt, func(tx *kv.Tx) error {
		n = tx.Size()
		return nil
	})
	return n
}

// StorageInsufficient reports whether the last write to the data file failed
// for lack of disk space.
func (db *DB) StorageInsufficient() bool { return db.storage.insufficient.Load() }

// probeSpace writes, then deletes, storageProbeSize random bytes (random, so
// that a compressing file system cannot shrink them). Returns
// EINSUFFICIENTSTORAGE if the disk does not take them.
func (db *DB) probeSpace(ctx context.Context) error {
	probe := make([]byte, storageProbeSize)
	if _, err := rand.Read(probe); err != nil {
		return fmt.Errorf("space probe: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := db.commitLocal(func(tx *kv.Tx) error { return tx.Bucket(bucketNode).Put(keySpaceProbe, probe) }, true); err != nil {
		return err
	}
	return db.commitLocal(func(tx *kv.Tx) error { return tx.Bucket(bucketNode).Delete(keySpaceProbe) }, false)
}
