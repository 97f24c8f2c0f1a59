package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store/kv"
)

// Proposals are pipelined on the leader (cluster mode). A round trip of one
// entry is the leader's log fsync, the followers' log fsyncs and the
// leader's own apply and fsync; waiting for each before computing the next
// would leave the disks and the CPU idle most of the time. So the next
// write-set is computed while earlier ones are still in flight, in a
// rolled-back transaction that first applies, unrecorded, the write-sets
// this node proposed that its file has not applied yet (the pending ones),
// and is proposed behind them. Raft keeps one leader's entries in the order
// they were proposed.
//
// Which pending write-sets the file already holds is exact: each entry
// carries this process's run id and a sequence number, and ApplyEntries
// stores the last own sequence applied in the node bucket, in the same
// transaction as the entry; the computing transaction reads it (bbolt runs
// one writer at a time, so it sees an entry's data and its sequence
// together or neither) and applies only the pending ones after it.
//
// A write-set computed on top of pending ones is right only if exactly
// those were applied right before it. Every node checks that when it
// applies the entry, from the replicated state alone, so all of them decide
// alike: an entry names the applied index its transaction saw and the last
// pending write-set it applied (its base); it applies if nothing was
// applied since that index (no base), or if its base was the entry applied
// just before it and applied itself (keyPipelineTail). Any other entry (its
// base failed, was never logged, or another leader's entries came in
// between) is skipped on every node, and its writers get EUNAVAILABLE.
// That also covers a write-set computed before this node, newly elected,
// had applied the log before it.
//
// On any failure the proposer stops building on what is in flight: it
// waits until every proposal resolved, forgets the pending write-sets and
// computes again from the file.

// maxInFlight bounds the proposals of one node in flight at once: enough
// to keep the log's and the state machine's fsyncs busy, few enough that
// a computing transaction does not replay much.
const maxInFlight = 4

// entryPipelined is the kind of a write-set entry with a pipeline header:
// run id (8 bytes), sequence, base sequence (0: none) and the applied
// index the write-set was computed at, each 8 bytes big-endian.
const entryPipelined byte = 'p'

const pipelineHeaderLen = 1 + 8 + 3*8

// keyOwnSequence (node bucket) holds the run id and sequence of the last
// entry of this process applied to the file.
var keyOwnSequence = []byte("own_sequence")

// keyPipelineTail (meta bucket, replicated) holds the run id, sequence and
// log index of the last pipelined entry applied, so that every node decides
// alike whether the next one may build on it.
var keyPipelineTail = []byte("pipeline_tail")

// pipelineHeader is what a pipelined entry says of how it was computed.
type pipelineHeader struct {
	run       [8]byte
	seq       uint64
	base      uint64 // sequence of the last pending write-set applied under it; 0: none
	baseIndex uint64 // applied index the computing transaction saw
}

func (h pipelineHeader) append(buf []byte) []byte {
	buf = append(buf, entryPipelined)
	buf = append(buf, h.run[:]...)
	buf = binary.BigEndian.AppendUint64(buf, h.seq)
	buf = binary.BigEndian.AppendUint64(buf, h.base)
	return binary.BigEndian.AppendUint64(buf, h.baseIndex)
}

// parsePipelined splits a pipelined entry's data into header and write-set.
func parsePipelined(data []byte) (pipelineHeader, []byte, error) {
	var h pipelineHeader
	if len(data) < pipelineHeaderLen || data[0] != entryPipelined {
		return h, nil, errors.New("short pipelined entry")
	}
	copy(h.run[:], data[1:9])
	h.seq = binary.BigEndian.Uint64(data[9:17])
	h.base = binary.BigEndian.Uint64(data[17:25])
	h.baseIndex = binary.BigEndian.Uint64(data[25:33])
	return h, data[pipelineHeaderLen:], nil
}

// proposal is one write-set this node proposed.
type proposal struct {
	seq  uint64
	ws   kv.WriteSet
	done chan struct{} // closed once err is set
	err  error
	// applied is set by ApplyEntries when this node applied the entry,
	// skipped when it was not valid (see above).
	applied, skipped bool
}

// wait returns once the proposal resolved: nil when its write-set is
// committed and applied here.
func (p *proposal) wait() error {
	<-p.done
	return p.err
}

// pipeline is the leader's state of its proposals.
type pipeline struct {
	// compute is held from waiting for a slot until the write-set is
	// handed to the replicator, so that proposals go out in the order
	// they were computed in.
	compute sync.Mutex

	mu       sync.Mutex
	resolved *sync.Cond // signalled when a proposal resolves
	run      [8]byte
	seq      uint64
	pending  []*proposal          // proposed, not known applied, in order
	inFlight map[uint64]*proposal // proposed, not resolved
	failed   bool                 // a proposal failed: build on nothing in flight
}

func newPipeline() (*pipeline, error) {
	p := &pipeline{inFlight: map[uint64]*proposal{}}
	p.resolved = sync.NewCond(&p.mu)
	if _, err := rand.Read(p.run[:]); err != nil {
		return nil, fmt.Errorf("pipeline run id: %w", err)
	}
	return p, nil
}

// waitSlot returns once a proposal may be computed: fewer than maxInFlight
// are in flight, and none after a failure. Call it with p.mu held.
func (p *pipeline) waitSlot() {
	for {
		if p.failed {
			if len(p.inFlight) == 0 {
				p.failed = false
				p.pending = nil
				return
			}
		} else if len(p.inFlight) < maxInFlight {
			return
		}
		p.resolved.Wait()
	}
}

// drain returns once no proposal is in flight.
func (p *pipeline) drain() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.inFlight) > 0 {
		p.resolved.Wait()
	}
}

// errSkipped is the error of writes whose entry was committed but not
// applied, since what it was computed on did not hold (see above).
func errSkipped() *Error {
	return &Error{Code: EUNAVAILABLE, Detail: "cluster.not_leader", RetryAfter: time.Second,
		Message: "The write was not applied: a write it followed failed, or the cluster's leader changed; try again."}
}

// errNotLeader is the error of a write that reached a node after it stopped
// leading: the client may try again, and reach the new leader.
func errNotLeader() *Error {
	return &Error{Code: EUNAVAILABLE, Detail: "cluster.not_leader", RetryAfter: time.Second,
		Message: "This node no longer leads the cluster; try again."}
}

// propose runs fn in a rolled-back transaction on top of the pending
// write-sets and proposes its write-set behind them. It returns the
// proposal whose success means fn's view held: fn's own, or, when fn wrote
// nothing, the last pending one it saw (nil if none). fn's own error is
// returned as it is, with what fn saw still to be confirmed through the
// returned proposal (nil when nothing was pending).
func (db *DB) propose(fn func(*kv.Tx) error) (*proposal, error) {
	p := db.pipe
	p.compute.Lock()
	defer p.compute.Unlock()
	p.mu.Lock()
	p.waitSlot()
	p.mu.Unlock()

	var rec kv.WriteSet
	var head pipelineHeader
	var last *proposal // last pending write-set applied under fn
	err := db.bolt.Update(func(btx *bbolt.Tx) error {
		plain := kv.NewTx(btx, nil)
		node := plain.Bucket(bucketNode)
		if v := node.Get(keyAppliedIndex); len(v) == 8 {
			head.baseIndex = btoi(v)
		}
		var own uint64
		if v := node.Get(keyOwnSequence); len(v) == 16 && [8]byte(v[:8]) == p.run {
			own = binary.BigEndian.Uint64(v[8:])
		}
		p.mu.Lock()
		for len(p.pending) > 0 && p.pending[0].seq <= own {
			p.pending = p.pending[1:]
		}
		pending := p.pending
		p.mu.Unlock()
		for _, pr := range pending {
			if err := kv.Apply(plain, pr.ws); err != nil {
				return fmt.Errorf("apply pending write-set %d: %w", pr.seq, err)
			}
			last = pr
		}
		if err := fn(kv.NewTx(btx, &rec)); err != nil {
			return err
		}
		return errRolledBack
	})
	if !errors.Is(err, errRolledBack) {
		return last, err
	}
	if rec.Len() == 0 {
		return last, nil
	}
	if err := rec.Validate(); err != nil {
		return last, err
	}
	// In flight before it is proposed: it may be applied before Propose
	// returns, and ApplyEntries notes that in the proposal.
	p.mu.Lock()
	p.seq++
	pr := &proposal{seq: p.seq, ws: rec, done: make(chan struct{})}
	p.inFlight[pr.seq] = pr
	p.mu.Unlock()
	head.run, head.seq = p.run, pr.seq
	if last != nil {
		head.base = last.seq
	}
	future, err := db.replicator.Propose(append(head.append(nil), rec.Marshal()...))
	if err != nil {
		// Not in the log: nothing is built on it, and nothing else is
		// in flight because of it.
		p.mu.Lock()
		delete(p.inFlight, pr.seq)
		p.resolved.Broadcast()
		p.mu.Unlock()
		if errors.Is(err, ErrNotLeader) {
			return nil, errNotLeader()
		}
		return nil, err
	}
	p.mu.Lock()
	p.pending = append(p.pending, pr)
	p.mu.Unlock()
	go db.resolve(pr, future)
	return pr, nil
}

// resolve waits for future, the replicator's side of pr, and resolves pr.
func (db *DB) resolve(pr *proposal, future Proposal) {
	err := future.Wait()
	p := db.pipe
	p.mu.Lock()
	if err == nil && !pr.applied {
		// Committed, but skipped here (and on every node), or not
		// applied here because the node is shutting down.
		err = errSkipped()
	}
	if errors.Is(err, ErrNotLeader) {
		err = errNotLeader()
	}
	if err != nil {
		p.failed = true
	}
	delete(p.inFlight, pr.seq)
	pr.err = err
	close(pr.done)
	p.resolved.Broadcast()
	p.mu.Unlock()
}

// replicate runs fn through the pipeline and returns once its write-set is
// committed and applied here (or fails).
func (db *DB) replicate(fn func(*kv.Tx) error) error {
	pr, err := db.propose(fn)
	if pr != nil {
		if werr := pr.wait(); werr != nil {
			return werr
		}
	}
	return err
}

// pipelineApply is what ApplyEntries decides for the pipelined entries of
// one transaction.
type pipelineApply struct {
	own map[uint64]bool // this process's sequences: applied (true) or skipped
}

// applyPipelined applies the pipelined entry e in tx if it is valid (see
// above), given the applied index before it, and notes the outcome of this
// process's own entries.
func (db *DB) applyPipelined(tx *kv.Tx, e Entry, appliedBefore uint64, out *pipelineApply, changed *changeSet) error {
	h, data, err := parsePipelined(e.Data)
	if err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	valid := false
	if h.base == 0 {
		valid = h.baseIndex == appliedBefore
	} else if v := meta.Get(keyPipelineTail); len(v) == 24 {
		valid = [8]byte(v[:8]) == h.run && binary.BigEndian.Uint64(v[8:16]) == h.base &&
			binary.BigEndian.Uint64(v[16:24]) == appliedBefore
	}
	own := h.run == db.pipe.run
	if own {
		if out.own == nil {
			out.own = map[uint64]bool{}
		}
		out.own[h.seq] = valid
	}
	if !valid {
		return nil
	}
	ws, err := kv.Unmarshal(data)
	if err != nil {
		return err
	}
	changed.noteWriteSet(ws)
	if err := kv.Apply(tx, ws); err != nil {
		return err
	}
	tail := binary.BigEndian.AppendUint64(append(h.run[:0:0], h.run[:]...), h.seq)
	if err := meta.Put(keyPipelineTail, binary.BigEndian.AppendUint64(tail, e.Index)); err != nil {
		return err
	}
	if own {
		return tx.Bucket(bucketNode).Put(keyOwnSequence, binary.BigEndian.AppendUint64(append(h.run[:0:0], h.run[:]...), h.seq))
	}
	return nil
}

// noteApplied hands the outcome of this process's entries, once
// committed to the file, to the proposals waiting for them.
func (p *pipeline) noteApplied(out pipelineApply) {
	if len(out.own) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for seq, applied := range out.own {
		if pr := p.inFlight[seq]; pr != nil {
			pr.applied, pr.skipped = applied, !applied
		}
	}
}
