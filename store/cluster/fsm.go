package cluster

import (
	"io"
	"log/slog"
	"time"

	"github.com/hashicorp/raft"

	"github.com/idbolt/idbolt/store"
)

// fsm is raft's state machine: the node's data file. It applies committed
// entries in batches, one bbolt transaction per batch (store.ApplyEntries
// writes the applied index in it), and snapshots are the file itself.
type fsm struct {
	db     *store.DB
	logger *slog.Logger
	// stop is closed when the node shuts down: an entry that cannot be
	// applied then stays unapplied (the file's applied index says so, and
	// the log replays it on the next start) instead of holding up
	// raft's shutdown for ever.
	stop <-chan struct{}
}

var _ raft.BatchingFSM = (*fsm)(nil)

// Apply applies one entry.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies the store's entries of logs (raft also passes
// configuration changes, which the store does not hold). An entry that
// cannot be applied is retried until it can: skipping it would make this
// node's file differ from the others' for good. Meanwhile the node falls
// behind and is not ready, which is what its operator sees.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	entries := make([]store.Entry, 0, len(logs))
	for _, l := range logs {
		if l.Type == raft.LogCommand {
			entries = append(entries, store.Entry{Index: l.Index, Data: l.Data})
		}
	}
	if len(entries) > 0 {
	retry:
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := f.db.ApplyEntries(entries)
			if err == nil {
				break
			}
			f.logger.Error("cannot apply committed log entries; retrying: this node stays behind until they apply",
				"first", entries[0].Index, "last", entries[len(entries)-1].Index, "err", err)
			select {
			case <-time.After(wait):
			case <-f.stop:
				f.logger.Warn("shutting down with committed log entries unapplied; they apply on the next start",
					"first", entries[0].Index, "last", entries[len(entries)-1].Index)
				break retry
			}
		}
	}
	return make([]any, len(logs))
}

// Snapshot captures the file as it is now; raft calls it between batches,
// so the snapshot holds exactly the entries applied so far.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	s, err := f.db.BeginSnapshot()
	if err != nil {
		return nil, err
	}
	return &fsmSnapshot{s: s}, nil
}

// Restore replaces the file's content with a snapshot's.
func (f *fsm) Restore(r io.ReadCloser) error {
	defer r.Close()
	return f.db.RestoreSnapshot(r)
}

// fsmSnapshot writes a store snapshot to raft's snapshot store.
type fsmSnapshot struct{ s *store.StateSnapshot }

// Persist writes the snapshot to sink.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.s.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release ends the snapshot's read transaction.
func (s *fsmSnapshot) Release() { s.s.Close() }
