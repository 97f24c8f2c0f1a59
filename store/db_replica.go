package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// Replication (cluster mode, package store/cluster) works on write-sets, not
// on the closures that made them: a closure draws random ids and reads the
// clock, so running it again elsewhere would give other data.
//
// With Options.Replicator set, a write runs its closure in a bbolt
// transaction that records its write-set and is then rolled back; the
// write-set goes to the replicator, which has a quorum of nodes log it and
// every node, this one included, hand it to ApplyEntries in log order. Only
// ApplyEntries changes the replicated buckets. One write-set is proposed at a
// time (replMu), so each is computed on the state the one before it left.
//
// The root bucket node holds what belongs to this node alone: the index of
// the last entry applied (written in the same transaction as the entries, so
// a restart skips exactly what it already applied), the last Ping and the
// disk probe. It is never replicated, never replaced by a snapshot and left
// out of Checksum.

// bucketNode is the node's own state (see above).
var bucketNode = []byte("node")

// Keys of bucketNode.
var (
	keyAppliedIndex = []byte("applied_index")
	keyLastPing     = []byte("last_ping")
)

// keyClusterGenesis is the meta key the genesis entry sets: the log index
// of the entry that gave the cluster its first content. A later genesis
// entry (two nodes elected one after the other before either applied the
// first) changes nothing.
var keyClusterGenesis = []byte("cluster_genesis")

// Kinds of entry, the first byte of an entry's data.
const (
	entryWriteSet byte = 'w' // a marshalled kv.WriteSet
	entryGenesis  byte = 'g' // a whole data file: the cluster's first content
)

// ErrNotLeader is returned by a Replicator asked to propose on a node that
// is not the leader.
var ErrNotLeader = errors.New("this node is not the cluster leader")

// Replicator has a write-set committed by a quorum of the cluster's nodes.
// Package store/cluster implements it on raft.
type Replicator interface {
	// Replicate proposes entry and returns once it is committed and this
	// DB has applied it (ApplyEntries), or with ErrNotLeader when this node
	// may not propose.
	Replicate(entry []byte) error
	// ForwardAudits hands a follower's queued audit entries (see
	// AppendAudits) to the leader, and returns a log index this node must
	// have applied for them to be readable here.
	ForwardAudits(payload []byte) (index uint64, err error)
	// Leader reports whether this node is the leader now.
	Leader() bool
}

// Entry is one committed log entry for ApplyEntries.
type Entry struct {
	Index uint64
	Data  []byte
}

// appliedState is the index of the last applied entry, which readers wait on.
type appliedState struct {
	mu      sync.Mutex
	index   uint64
	advance chan struct{} // closed and replaced whenever index grows
}

func (a *appliedState) get() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.index
}

func (a *appliedState) set(index uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if index <= a.index && a.advance != nil {
		return
	}
	a.index = index
	if a.advance != nil {
		close(a.advance)
	}
	a.advance = make(chan struct{})
}

// reset sets the index back to zero (ForgetLog).
func (a *appliedState) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.index = 0
}

// AppliedIndex returns the log index of the last entry this DB applied;
// zero without cluster mode.
func (db *DB) AppliedIndex() uint64 { return db.applied.get() }

// WaitApplied returns once this DB has applied the entry at index, or with
// ctx's error.
func (db *DB) WaitApplied(ctx context.Context, index uint64) error {
	for {
		db.applied.mu.Lock()
		done, advance := db.applied.index >= index, db.applied.advance
		db.applied.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-advance:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// errRolledBack ends the transaction a proposal was computed in.
var errRolledBack = errors.New("rolled back to be replicated")

// replicate runs fn in a transaction that is rolled back, and has its
// write-set replicated and applied (see above).
func (db *DB) replicate(fn func(*kv.Tx) error) error {
	db.replMu.Lock()
	defer db.replMu.Unlock()
	var rec kv.WriteSet
	err := kv.Update(db.bolt, &rec, func(tx *kv.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		return err
	}
	if rec.Len() == 0 {
		return nil
	}
	if err := rec.Validate(); err != nil {
		return err
	}
	err = db.replicator.Replicate(append([]byte{entryWriteSet}, rec.Marshal()...))
	if errors.Is(err, ErrNotLeader) {
		// A write that reached a node after it stopped leading: the
		// client may try again, and reach the new leader.
		return &Error{Code: EUNAVAILABLE, Detail: "cluster.not_leader", RetryAfter: time.Second,
			Message: "This node no longer leads the cluster; try again."}
	}
	return err
}

// ApplyEntries applies committed log entries in one transaction, with the
// index of the last one, and skips those at or below the index already
// applied (a restart replays the log from its last snapshot). It is the only
// writer of the replicated buckets in cluster mode. An error means nothing
// was applied; the caller must retry the same entries, never skip them.
func (db *DB) ApplyEntries(entries []Entry) error {
	for _, e := range entries {
		if len(e.Data) > 0 && e.Data[0] == entryGenesis && e.Index > db.AppliedIndex() {
			if err := db.keepPreClusterCopy(); err != nil {
				return fmt.Errorf("keep a copy of the file before the cluster's content replaces it: %w", err)
			}
			break
		}
	}
	var changed changeSet
	var last uint64
	err := db.commitLocal(func(tx *kv.Tx) error {
		changed = changeSet{}
		node := tx.Bucket(bucketNode)
		applied := uint64(0)
		if v := node.Get(keyAppliedIndex); len(v) == 8 {
			applied = btoi(v)
		}
		last = applied
		for _, e := range entries {
			if e.Index <= last {
				continue
			}
			if err := db.applyEntry(tx, e, &changed); err != nil {
				return fmt.Errorf("apply log entry %d: %w", e.Index, err)
			}
			last = e.Index
		}
		if last == applied {
			return nil
		}
		return node.Put(keyAppliedIndex, itob(last))
	}, false)
	if err != nil {
		return err
	}
	if changed.all {
		db.loadGenesis()
	}
	db.afterApply(changed)
	db.applied.set(last)
	return nil
}

// applyEntry applies one entry's data in tx and notes the tenants it
// changed.
func (db *DB) applyEntry(tx *kv.Tx, e Entry, changed *changeSet) error {
	if len(e.Data) == 0 {
		return errors.New("empty entry")
	}
	switch e.Data[0] {
	case entryWriteSet:
		ws, err := kv.Unmarshal(e.Data[1:])
		if err != nil {
			return err
		}
		changed.noteWriteSet(ws)
		return kv.Apply(tx, ws)
	case entryGenesis:
		if tx.Bucket(bucketMeta).Get(keyClusterGenesis) != nil {
			return nil
		}
		if err := db.replaceFromFile(tx, e.Data[1:]); err != nil {
			return err
		}
		changed.all = true
		return tx.Bucket(bucketMeta).Put(keyClusterGenesis, itob(e.Index))
	}
	return fmt.Errorf("unknown entry kind %q", e.Data[0])
}

// GenesisEntry returns an entry that gives every node of a new cluster this
// node's content: the leader of a cluster that has none proposes it once
// (see ClusterGenesis).
func (db *DB) GenesisEntry() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(entryGenesis)
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(&buf)
		return err
	})
	return buf.Bytes(), err
}

// ClusterGenesis reports whether the file holds a cluster's content: a
// genesis entry was applied to it, or it was restored from a snapshot of a
// file that had. It reads no transaction (a follower asks at every token).
func (db *DB) ClusterGenesis() bool { return db.genesis.Load() }

// loadGenesis reads whether the file holds a cluster's content.
func (db *DB) loadGenesis() {
	kv.View(db.bolt, func(tx *kv.Tx) error {
		db.genesis.Store(tx.Bucket(bucketMeta).Get(keyClusterGenesis) != nil)
		return nil
	})
}

// keepPreClusterCopy saves the file as it is before a genesis entry
// replaces its content, as path + ".before-cluster", unless that exists or
// the file already holds a cluster's content: a node started with data of
// its own by mistake must not lose it.
func (db *DB) keepPreClusterCopy() error {
	dst := db.Path() + ".before-cluster"
	if _, err := os.Stat(dst); err == nil || db.ClusterGenesis() {
		return nil
	}
	f, err := os.OpenFile(dst+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		_, err := tx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst + ".tmp")
		return err
	}
	return os.Rename(dst+".tmp", dst)
}

// ForgetLog prepares a file for a new raft log: its applied index and its
// cluster genesis mark refer to a log that is gone (a backup restored, a
// cluster started again from one node's file), and entries of the new log
// must not be skipped as applied. The content stays; a node that leads the
// new log gives it to the others. Call it before raft starts, and only when
// raft has no state of its own.
func (db *DB) ForgetLog() error {
	err := db.commitLocal(func(tx *kv.Tx) error {
		if err := tx.Bucket(bucketNode).Delete(keyAppliedIndex); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Delete(keyClusterGenesis)
	}, false)
	if err == nil {
		db.applied.reset()
		db.genesis.Store(false)
	}
	return err
}

// StateSnapshot is the replicated state as of one read transaction, for a
// raft snapshot. Close it when written.
type StateSnapshot struct {
	tx    *bbolt.Tx
	index uint64
}

// BeginSnapshot starts a snapshot of the state as it is now; call it where
// no entry is being applied (raft's FSM.Snapshot), so that Index is exact.
func (db *DB) BeginSnapshot() (*StateSnapshot, error) {
	tx, err := db.bolt.Begin(false)
	if err != nil {
		return nil, err
	}
	s := &StateSnapshot{tx: tx}
	if v := tx.Bucket(bucketNode).Get(keyAppliedIndex); len(v) == 8 {
		s.index = btoi(v)
	}
	return s, nil
}

// Index is the log index of the last entry the snapshot holds.
func (s *StateSnapshot) Index() uint64 { return s.index }

// WriteTo writes the snapshot (a whole data file) to w.
func (s *StateSnapshot) WriteTo(w io.Writer) (int64, error) { return s.tx.WriteTo(w) }

// Close ends the snapshot's read transaction.
func (s *StateSnapshot) Close() error { return s.tx.Rollback() }

// RestoreSnapshot replaces the replicated content with that of a snapshot
// (a data file written by StateSnapshot.WriteTo). This node's own bucket
// stays; its applied index becomes the snapshot's.
func (db *DB) RestoreSnapshot(r io.Reader) error {
	// A node added to a cluster gets its content this way; what its file
	// held before (it never had a cluster's content) is kept, as a
	// genesis entry keeps it.
	if err := db.keepPreClusterCopy(); err != nil {
		return fmt.Errorf("keep a copy of the file before the cluster's content replaces it: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(db.Path()), filepath.Base(db.Path())+".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("receive snapshot: %w", err)
	}
	var index uint64
	err = db.commitLocal(func(tx *kv.Tx) error {
		var err error
		if index, err = db.replaceFrom(tx, tmp.Name()); err != nil {
			return err
		}
		return tx.Bucket(bucketNode).Put(keyAppliedIndex, itob(index))
	}, false)
	if err != nil {
		return err
	}
	db.loadGenesis()
	db.afterApply(changeSet{all: true})
	db.applied.set(index)
	return nil
}

// replaceFromFile is replaceFrom for a data file held in memory.
func (db *DB) replaceFromFile(tx *kv.Tx, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(db.Path()), filepath.Base(db.Path())+".genesis-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	_, err = db.replaceFrom(tx, tmp.Name())
	return err
}

// replaceFrom replaces every root bucket but bucketNode with those of the
// data file at path, in tx, and reloads what the DB keeps in memory of them.
// It returns the applied index the file's own node bucket holds. The file
// must be sealed with this node's master key.
func (db *DB) replaceFrom(tx *kv.Tx, path string) (index uint64, err error) {
	if err := checkPath(path, "snapshot"); err != nil {
		return 0, err
	}
	src, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		return 0, fmt.Errorf("open snapshot: %w", err)
	}
	defer src.Close()
	var names [][]byte
	if err := tx.ForEach(func(name []byte, _ *kv.Bucket) error {
		if !bytes.Equal(name, bucketNode) {
			names = append(names, bytes.Clone(name))
		}
		return nil
	}); err != nil {
		return 0, err
	}
	for _, name := range names {
		if err := tx.DeleteBucket(name); err != nil {
			return 0, err
		}
	}
	err = kv.View(src, func(stx *kv.Tx) error {
		if node := stx.Bucket(bucketNode); node != nil {
			if v := node.Get(keyAppliedIndex); len(v) == 8 {
				index = btoi(v)
			}
		}
		meta := stx.Bucket(bucketMeta)
		if meta == nil || !db.sealer.matches(meta.Get(keyMasterCheck)) {
			return fmt.Errorf("%w: the snapshot was sealed with another master key; every node of a cluster needs the same one", ErrMasterKey)
		}
		return stx.ForEach(func(name []byte, b *kv.Bucket) error {
			if bytes.Equal(name, bucketNode) {
				return nil
			}
			dst, err := tx.CreateBucket(bytes.Clone(name))
			if err != nil {
				return err
			}
			return copyBucket(dst, b)
		})
	})
	if err != nil {
		return 0, err
	}
	return index, db.loadPepper(tx.Bucket(bucketMeta))
}

// copyBucket copies src's keys, nested buckets and sequence into the empty
// dst. Keys arrive in order, so pages are packed full. Keys and values are
// copied: bbolt keeps what Put is given until the commit, and src is
// unmapped before that.
func copyBucket(dst, src *kv.Bucket) error {
	dst.SetFillPercent(1)
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	c := src.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			if err := dst.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				return err
			}
			continue
		}
		child, err := dst.CreateBucket(bytes.Clone(k))
		if err != nil {
			return err
		}
		if err := copyBucket(child, src.Bucket(k)); err != nil {
			return err
		}
	}
	return nil
}

// Checksum returns a canonical checksum of the replicated content (every
// root bucket but this node's own), equal on every node that applied the
// same entries.
func (db *DB) Checksum() ([32]byte, error) {
	var sum [32]byte
	err := kv.View(db.bolt, func(tx *kv.Tx) error {
		sum = kv.ChecksumExcept(tx, bucketNode)
		return nil
	})
	return sum, err
}

// Applied is what entries applied in cluster mode changed of what is
// cached outside the store (Options.OnApplied).
type Applied struct {
	// All is set when a snapshot or the genesis entry replaced the whole
	// content.
	All bool
	// Keys are the tenants whose signing keys changed, or that were
	// created or deleted.
	Keys []string
	// Settings are the tenants whose settings (name, rate limit, CORS
	// origins) changed,
	// or that were created or deleted.
	Settings []string
}

// changeSet gathers an Applied over a batch of entries.
type changeSet struct {
	all            bool
	keys, settings map[string]bool
	// data is set when an entry wrote anything but the audit log and the
	// replay store: cached answers are stale (db_cache.go).
	data bool
}

// noteWriteSet adds what ws changes.
func (c *changeSet) noteWriteSet(ws kv.WriteSet) {
	note := func(m *map[string]bool, tenant []byte) {
		if *m == nil {
			*m = map[string]bool{}
		}
		(*m)[string(tenant)] = true
	}
	for _, op := range ws.Ops {
		if len(op.Path) < 3 || !bytes.Equal(op.Path[0], bucketTenants) ||
			!bytes.Equal(op.Path[2], bucketAudit) && !bytes.Equal(op.Path[2], bucketJTIs) {
			c.data = true
		}
		if len(op.Path) < 2 || !bytes.Equal(op.Path[0], bucketTenants) {
			continue
		}
		tenant := op.Path[1]
		switch {
		case len(op.Path) == 2:
			note(&c.keys, tenant)
			note(&c.settings, tenant)
		case bytes.Equal(op.Path[2], bucketKeys):
			note(&c.keys, tenant)
		case len(op.Path) == 3 && bytes.Equal(op.Path[2], bucketTenantMeta) && bytes.Equal(op.Key, keyTenant):
			note(&c.settings, tenant)
		}
	}
}

// afterApply has what memory holds of replaced state read again: the
// claimed jtis after a snapshot or genesis replaced the content, and what
// Options.OnApplied's owner caches.
func (db *DB) afterApply(c changeSet) {
	if c.all || c.data {
		db.dataChanged()
	}
	if c.all {
		db.jtis.reload()
		db.cors.drop()
	}
	for t := range c.settings {
		db.cors.drop(t)
	}
	if db.onApplied == nil || !c.all && len(c.keys) == 0 && len(c.settings) == 0 {
		return
	}
	a := Applied{All: c.all}
	for t := range c.keys {
		a.Keys = append(a.Keys, t)
	}
	for t := range c.settings {
		a.Settings = append(a.Settings, t)
	}
	db.onApplied(a)
}

// ReloadJTIs has every tenant's claimed jtis read from the file again on
// the next claim: a node that becomes leader calls it, since another leader
// may have claimed some meanwhile.
func (db *DB) ReloadJTIs() { db.jtis.reload() }

// AppendAudits writes audit entries a follower queued (the payload of
// Replicator.ForwardAudits) through this node's audit writer, and returns
// the log index that holds them.
//
// A follower whose call failed after the leader wrote the batch (the
// answer was lost) sends it again: a batch already written here is not
// written twice. Each record holds its own random id, so two batches never
// have the same bytes.
func (db *DB) AppendAudits(ctx context.Context, payload []byte) (uint64, error) {
	batch, err := decodeAuditBatch(payload)
	if err != nil {
		return 0, &Error{Code: EINVALID, Message: "bad audit batch: " + err.Error()}
	}
	sum := sha256.Sum256(payload)
	db.forwarded.mu.Lock()
	defer db.forwarded.mu.Unlock()
	if index, ok := db.forwarded.index[sum]; ok {
		return index, nil
	}
	if err := db.writeAudits(batch); err != nil {
		return 0, err
	}
	index := db.AppliedIndex()
	db.forwarded.remember(sum, index)
	return index, ctx.Err()
}

// forwardedBatches remembers the last audit batches followers forwarded
// (AppendAudits), by the hash of their bytes.
type forwardedBatches struct {
	mu    sync.Mutex
	index map[[32]byte]uint64 // batch -> log index that holds it
	order [][32]byte          // oldest first
}

// maxForwardedBatches is how many forwarded batches the leader remembers:
// a follower sends one about every 100 ms, and retries within seconds.
const maxForwardedBatches = 1024

func (f *forwardedBatches) remember(sum [32]byte, index uint64) {
	if f.index == nil {
		f.index = make(map[[32]byte]uint64, maxForwardedBatches)
	}
	if len(f.order) == maxForwardedBatches {
		delete(f.index, f.order[0])
		f.order = f.order[1:]
	}
	f.index[sum] = index
	f.order = append(f.order, sum)
}

// encodeAuditBatch encodes queued audit entries for ForwardAudits: per
// entry, the tenant and the compact record, each length-prefixed.
func encodeAuditBatch(batch []queuedAudit) []byte {
	var buf []byte
	for _, q := range batch {
		buf = binary.AppendUvarint(buf, uint64(len(q.tenant)))
		buf = append(buf, q.tenant...)
		buf = binary.AppendUvarint(buf, uint64(len(q.record)))
		buf = append(buf, q.record...)
	}
	return buf
}

// decodeAuditBatch decodes encodeAuditBatch's output, checking each record
// decodes.
func decodeAuditBatch(data []byte) ([]queuedAudit, error) {
	var batch []queuedAudit
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			return nil, errors.New("truncated")
		}
		v := data[k : k+int(n)]
		data = data[k+int(n):]
		return v, nil
	}
	for len(data) > 0 {
		tenant, err := field()
		if err != nil {
			return nil, err
		}
		record, err := field()
		if err != nil {
			return nil, err
		}
		if len(record) == 0 || record[0] != auditFormatCompact {
			return nil, errors.New("not a compact audit record")
		}
		if _, err := decodeCompactAudit(0, record); err != nil {
			return nil, err
		}
		batch = append(batch, queuedAudit{tenant: string(tenant), record: bytes.Clone(record)})
	}
	return batch, nil
}
