package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/idbolt/idbolt/store/kv"
)

// maxBatch bounds how many writes share one commit.
const maxBatch = 1000

// writeRequest is one Update waiting for the committer.
type writeRequest struct {
	tenant string
	actor  Actor
	fn     func(*Tx) error
	done   chan error
}

// errClosed is returned by Update after Close.
var errClosed = errors.New("store is closed")

// Update runs fn in a read-write transaction of tenant and returns once the
// change is committed and synced.
//
// Writes are group-committed: one goroutine commits, and every write that
// arrives while a commit (and its fsync) is under way shares the next one. A
// lone writer waits for nothing but its own commit; many parallel writers share
// one fsync. fn may run more than once and must not have side effects outside
// the transaction.
//
// A domain error (*Error) returned by fn is handed back to its caller while
// the rest of the shared commit goes ahead; fn must therefore return domain
// errors before it writes anything. Any other error aborts the shared commit,
// and each write of it is then retried in a transaction of its own.
func (db *DB) Update(ctx context.Context, tenant string, fn func(*Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeRequest{tenant: tenant, actor: actorFromContext(ctx), fn: fn, done: make(chan error, 1)}
	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return errClosed
	}
	db.writes <- req
	db.mu.RUnlock()
	// Once queued, the write may commit whatever ctx says, so wait for the
	// outcome rather than report a cancellation that did not happen.
	return <-req.done
}

// commitLoop takes the first waiting write, gathers every other write already
// queued, and commits them together.
func (db *DB) commitLoop() {
	defer close(db.committed)
	batch := make([]*writeRequest, 0, maxBatch)
	for req := range db.writes {
		batch = append(batch[:0], req)
	gather:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-db.writes:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		db.commit(batch)
	}
}

// commit runs batch in one transaction. If an fn fails with an internal
// error, the transaction is rolled back and every fn runs alone, so one bad
// write cannot fail the others. In cluster mode a batch whose replication
// failed is not run again (see below).
func (db *DB) commit(batch []*writeRequest) {
	results := make([]error, len(batch))
	failed := false // an fn failed, rather than the commit
	err := db.update(func(btx *kv.Tx) error {
		failed = false
		for i, req := range batch {
			results[i] = nil
			if err := db.runWrite(btx, req); err != nil {
				if isDomain(err) {
					results[i] = err
					continue
				}
				failed = true
				return err
			}
		}
		return nil
	})
	if err == nil {
		db.signalHookEvents()
		for i, req := range batch {
			req.done <- results[i]
		}
		return
	}
	// A write-set the cluster did not confirm may still be committed (the
	// leader lost its place after proposing it): running its writes again
	// could apply them twice, so each gets the error instead.
	if len(batch) == 1 || db.replicator != nil && !failed {
		for _, req := range batch {
			req.done <- err
		}
		return
	}
	for _, req := range batch {
		req.done <- db.update(func(btx *kv.Tx) error { return db.runWrite(btx, req) })
	}
	db.signalHookEvents()
}

// runWrite binds the tenant and runs one write; a panic becomes an error so
// it cannot take the committer down.
func (db *DB) runWrite(btx *kv.Tx, req *writeRequest) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	tx, err := db.bind(btx, req.tenant)
	if err != nil {
		return err
	}
	tx.actor = req.actor
	return req.fn(tx)
}

func isDomain(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
