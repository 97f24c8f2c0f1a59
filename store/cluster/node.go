package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/idbolt/idbolt/store"
)

// DefaultContactBound is how long a follower that has not heard from a
// leader keeps issuing tokens: past it, a client disabled meanwhile could
// still get tokens here.
const DefaultContactBound = 10 * time.Second

// DefaultSnapshotThreshold and DefaultSnapshotInterval are raft's own
// defaults: a snapshot is the whole data file, so taking one more often
// costs a write of the file each time.
const (
	DefaultSnapshotThreshold = 8192
	DefaultSnapshotInterval  = 120 * time.Second
)

// Peer is one member of the cluster: its node id and raft address.
type Peer struct {
	ID   string
	Addr string
}

// Config configures a Node.
type Config struct {
	// ID is this node's id, Addr the raft address the others reach it at.
	ID, Addr string
	// URL is this node's public base URL, shown by Status.
	URL string
	// Peers are the cluster's first members, this node included, the same
	// on every node. A node without raft state bootstraps with them if it
	// is one of them; a node that is not waits to be added (AddVoter).
	Peers []Peer
	// Dir holds raft's log and snapshots.
	Dir string
	// Transport carries raft's messages; Client reaches the other nodes'
	// internal HTTP (https://<raft address>/...), which Handler serves.
	Transport raft.Transport
	Client    *http.Client
	// ContactBound: see DefaultContactBound; zero means that.
	ContactBound time.Duration
	// OnLeader is run each time this node becomes leader and is ready to
	// write (the writes idbolt makes once at start: bootstrap credentials,
	// key rotation). Nil runs nothing.
	OnLeader func(ctx context.Context)
	// Timing, zero for production values: HeartbeatTimeout (also the
	// election timeout); SnapshotThreshold, the entries between snapshots
	// and the entries kept after one (a node further behind than that
	// catches up from a snapshot; see DefaultSnapshotThreshold); and
	// SnapshotInterval, how often raft checks the threshold.
	HeartbeatTimeout  time.Duration
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// NoSync skips fsync of raft's log (tests only).
	NoSync bool
	Logger *slog.Logger
}

// Node is this process's member of the cluster. It is the store's
// Replicator: writes are proposed to raft and applied by every node.
type Node struct {
	cfg    Config
	logger *slog.Logger
	db     *store.DB
	raft   *raft.Raft
	logs   *raftboltdb.BoltStore

	// prepareTimeout bounds each attempt of a new leader to apply the log
	// before it (prepareToLead); tests shorten it.
	prepareTimeout time.Duration

	// ready is set while this node is leader and may propose: it applied
	// everything committed before it (a barrier) and the cluster has its
	// first content. readyTerm is the raft term it became ready in (see
	// Leader).
	ready     atomic.Bool
	readyTerm atomic.Uint64
	readyMu   sync.Mutex
	readyCh   chan struct{} // closed when ready is set
	// leadershipChanged is when this node last became or stopped being
	// the leader (Unix ns), for CanIssueTokens.
	leadershipChanged atomic.Int64

	verifier batcher // leader: barrier rounds shared by reads (verifyRound)
	indexer  batcher // follower: read-index calls to the leader shared by reads

	// started is set once Start has set raft and db: the inter-node HTTP
	// may be served before (main listens first) and answers 503 until then.
	started atomic.Bool

	notify chan bool
	stop   chan struct{} // closed by Shutdown
	done   chan struct{} // closed when watchLeadership returns

	shutdownOnce sync.Once
	shutdownErr  error
	metrics      metrics
}

// New returns a node that is not started yet; pass it to store.Open as the
// Replicator, then Start it with the DB.
func New(cfg Config) (*Node, error) {
	if cfg.ContactBound == 0 {
		cfg.ContactBound = DefaultContactBound
	}
	if cfg.HeartbeatTimeout == 0 {
		cfg.HeartbeatTimeout = 500 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{cfg: cfg, logger: cfg.Logger, readyCh: make(chan struct{}), notify: make(chan bool, 16),
		stop: make(chan struct{}), done: make(chan struct{}), prepareTimeout: 30 * time.Second}
	n.metrics = newMetrics(n)
	n.verifier.round = n.verifyRound
	n.indexer.round = n.leaderReadIndex
	return n, nil
}

// Start starts raft on db (which must have been opened with n as its
// Replicator) and bootstraps the cluster if this node has no raft state
// and is one of Config.Peers.
func (n *Node) Start(db *store.DB) error {
	n.db = db
	if err := os.MkdirAll(n.cfg.Dir, 0o700); err != nil {
		return err
	}
	logs, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(n.cfg.Dir, "raft.db"), NoSync: n.cfg.NoSync})
	if err != nil {
		return fmt.Errorf("raft log: %w", err)
	}
	n.logs = logs
	hlog := NewHCLogger(n.logger, "raft", hclog.Warn)
	snaps, err := raft.NewFileSnapshotStoreWithLogger(n.cfg.Dir, 2, hlog)
	if err != nil {
		logs.Close()
		return fmt.Errorf("raft snapshots: %w", err)
	}
	cached, err := raft.NewLogCache(512, logs)
	if err != nil {
		logs.Close()
		return err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.cfg.ID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = n.cfg.HeartbeatTimeout
	rc.ElectionTimeout = n.cfg.HeartbeatTimeout
	rc.LeaderLeaseTimeout = n.cfg.HeartbeatTimeout / 2
	rc.NotifyCh = n.notify
	// The data file is the state, with the applied index in it: a restart
	// keeps the file and skips what it applied, as Vault does.
	rc.NoSnapshotRestoreOnStart = true
	if n.cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = n.cfg.SnapshotThreshold
		rc.TrailingLogs = n.cfg.SnapshotThreshold
	}
	if n.cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = n.cfg.SnapshotInterval
	}
	f := &fsm{db: db, logger: n.logger, stop: n.stop}
	existing, err := raft.HasExistingState(cached, logs, snaps)
	if err != nil {
		logs.Close()
		return err
	}
	if !existing {
		// A new log: whatever the file says of an old one no longer holds.
		if err := db.ForgetLog(); err != nil {
			logs.Close()
			return err
		}
	}
	r, err := raft.NewRaft(rc, f, cached, logs, snaps, n.cfg.Transport)
	if err != nil {
		logs.Close()
		return fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	if !existing && n.listed() {
		var servers []raft.Server
		for _, p := range n.cfg.Peers {
			servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr)})
		}
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap the cluster: %w", err)
		}
	}
	go n.watchLeadership()
	n.started.Store(true)
	return nil
}

// listed reports whether this node is one of Config.Peers.
func (n *Node) listed() bool {
	for _, p := range n.cfg.Peers {
		if p.ID == n.cfg.ID {
			return true
		}
	}
	return false
}

// Shutdown stops raft and closes its log; the DB stays open. It is safe
// to call more than once: later calls return what the first did.
func (n *Node) Shutdown() error {
	n.shutdownOnce.Do(func() {
		if n.raft == nil {
			return
		}
		close(n.stop)
		n.shutdownErr = n.raft.Shutdown().Error()
		<-n.done
		if err := n.logs.Close(); n.shutdownErr == nil {
			n.shutdownErr = err
		}
	})
	return n.shutdownErr
}

// watchLeadership prepares this node to write each time it becomes leader,
// and stops it writing when it is no longer.
func (n *Node) watchLeadership() {
	defer close(n.done)
	var cancel context.CancelFunc = func() {}
	defer func() { cancel() }()
	for {
		select {
		case <-n.stop:
			return
		case leader := <-n.notify:
			n.leadershipChanged.Store(time.Now().UnixNano())
			cancel()
			n.setReady(false)
			n.metrics.leaderChanges.Inc()
			if leader {
				ctx, stopLeading := context.WithCancel(context.Background())
				cancel = stopLeading
				go n.becomeLeader(ctx)
			}
		}
	}
}

// becomeLeader applies everything committed before this node led, gives a
// new cluster its first content, and then accepts writes.
func (n *Node) becomeLeader(ctx context.Context) {
	// The term before the barrier: the barrier commits in it or a later
	// one, so by the time it returns this node applied all of that term's
	// predecessors committed.
	term := n.raft.CurrentTerm()
	// A leader that cannot prepare (its disk is full, the barrier times
	// out) would hold the lead and accept no write: the cluster would be
	// down for writes while every node sees a healthy leader. It tries a
	// few times, then hands the lead to another node.
	for attempt := 1; ; attempt++ {
		err := n.prepareToLead()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if attempt == leadAttempts {
			n.logger.Error("cannot prepare to lead; handing leadership to another node", "err", err)
			if err := n.raft.LeadershipTransfer().Error(); err != nil {
				n.logger.Warn("leadership transfer failed", "err", err)
			}
			return
		}
		n.logger.Warn("new leader cannot prepare to write yet; trying again", "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	n.db.ReloadJTIs()
	if ctx.Err() != nil {
		return
	}
	n.readyTerm.Store(term)
	n.setReady(true)
	n.logger.Info("this node leads the cluster", "node", n.cfg.ID)
	if n.cfg.OnLeader != nil {
		n.cfg.OnLeader(ctx)
	}
}

// leadAttempts is how many times a new leader tries to prepare before it
// hands the lead to another node.
const leadAttempts = 3

// prepareToLead applies everything committed before this node led (a
// barrier) and gives a new cluster its first content. The barrier is waited
// for at most prepareTimeout: raft's own timeout bounds only its start, and
// a state machine that cannot apply (a full disk) would hold it for ever.
func (n *Node) prepareToLead() error {
	barrier := make(chan error, 1)
	go func() { barrier <- n.raft.Barrier(n.prepareTimeout).Error() }()
	select {
	case err := <-barrier:
		if err != nil {
			return fmt.Errorf("apply the log before this term: %w", err)
		}
	case <-time.After(n.prepareTimeout):
		return fmt.Errorf("apply the log before this term: not done within %s", n.prepareTimeout)
	}
	if n.db.ClusterGenesis() {
		return nil
	}
	entry, err := n.db.GenesisEntry()
	if err == nil {
		err = n.raft.Apply(entry, time.Minute).Error()
	}
	if err != nil {
		return fmt.Errorf("give the new cluster its first content: %w", err)
	}
	n.logger.Info("the new cluster starts with this node's data", "node", n.cfg.ID)
	return nil
}

func (n *Node) setReady(ready bool) {
	n.readyMu.Lock()
	defer n.readyMu.Unlock()
	if n.ready.Load() == ready {
		return
	}
	n.ready.Store(ready)
	if ready {
		close(n.readyCh)
	} else {
		n.readyCh = make(chan struct{})
	}
}

// waitReady returns once this node is a leader ready to write, or with
// errNoLeader after wait.
func (n *Node) waitReady(wait time.Duration) error {
	if n.Leader() {
		return nil
	}
	if n.raft == nil || n.raft.State() != raft.Leader {
		return errNoLeader()
	}
	n.readyMu.Lock()
	ch := n.readyCh
	n.readyMu.Unlock()
	select {
	case <-ch:
		if !n.Leader() {
			return errNoLeader()
		}
		return nil
	case <-time.After(wait):
		return errNoLeader()
	}
}

func errNoLeader() *store.Error {
	return &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.no_leader", RetryAfter: time.Second,
		Message: "The cluster has no leader right now; try again in a moment."}
}

// Leader reports whether this node is the leader and may write: it became
// ready in the term raft is in now. Raft reports leadership changes on a
// channel the watcher reads later; a node that lost leadership and won it
// back in a new term before the watcher saw either would otherwise still
// count as ready, while the new term may begin with entries another leader
// committed that this node has not applied: a read or a write-set taken
// from its file then would be stale.
func (n *Node) Leader() bool {
	return n.ready.Load() && n.raft != nil && n.raft.CurrentTerm() == n.readyTerm.Load()
}

// Replicate proposes entry and waits until it is committed and applied
// here. A write whose leader lost its place meanwhile may or may not have
// been committed: the caller gets EUNAVAILABLE either way.
func (n *Node) Replicate(entry []byte) error {
	if err := n.waitReady(readyWait); err != nil {
		if n.raft == nil || n.raft.State() != raft.Leader {
			return store.ErrNotLeader
		}
		return err
	}
	start := time.Now()
	f := n.raft.Apply(entry, 30*time.Second)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return errNoLeader()
		}
		return fmt.Errorf("replicate: %w", err)
	}
	n.metrics.commitDuration.Observe(time.Since(start).Seconds())
	return nil
}

// leaderAddr returns the leader's raft address, or EUNAVAILABLE.
func (n *Node) leaderAddr() (raft.ServerAddress, raft.ServerID, error) {
	if n.raft == nil {
		return "", "", errNoLeader()
	}
	addr, id := n.raft.LeaderWithID()
	if addr == "" {
		return "", "", errNoLeader()
	}
	return addr, id, nil
}

// CanIssueTokens returns nil while this node may issue tokens from its own
// file: it leads, or it heard from a leader (or won an election) within the
// contact bound. A follower or candidate in the middle of an election keeps
// issuing, since issuing needs no leader; a node cut off for longer than
// the bound refuses, as it might hand out tokens to a client disabled
// meanwhile.
func (n *Node) CanIssueTokens() error {
	if n.raft == nil || !n.db.ClusterGenesis() {
		return errCutOff()
	}
	switch n.raft.State() {
	case raft.Leader:
		if n.Leader() {
			return nil
		}
	case raft.Shutdown:
		return errCutOff()
	}
	if time.Since(n.lastContact()) < n.cfg.ContactBound {
		return nil
	}
	return errCutOff()
}

// lastContact returns when this node last knew itself in touch with a
// quorum: raft's last message from a leader, or its own last change of
// leadership (a won election, or stepping down as leader, which raft does
// once a quorum has been silent for the leader lease).
func (n *Node) lastContact() time.Time {
	t := n.raft.LastContact()
	if led := time.Unix(0, n.leadershipChanged.Load()); led.After(t) {
		t = led
	}
	return t
}

func errCutOff() *store.Error {
	return &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.no_leader", RetryAfter: time.Second,
		Message: "This node has lost contact with the cluster's leader and issues no tokens until it is back."}
}

// Ready reports whether this node has a leader it heard from recently and
// has applied what it was sent: a load balancer's health check.
func (n *Node) Ready() bool {
	if n.raft == nil || !n.db.ClusterGenesis() {
		return false
	}
	switch n.raft.State() {
	case raft.Leader:
		if !n.ready.Load() {
			return false
		}
	case raft.Follower:
		if time.Since(n.raft.LastContact()) >= n.cfg.ContactBound {
			return false
		}
	default:
		return false
	}
	if addr, _ := n.raft.LeaderWithID(); addr == "" {
		return false // a candidate may still issue tokens, but has no leader
	}
	return n.raft.AppliedIndex()+catchUpSlack >= n.raft.CommitIndex()
}

// readyWait is how long a request waits for a newly elected leader to be
// ready (Barrier and the genesis entry) before it is refused.
const readyWait = 5 * time.Second

// catchUpSlack is how many committed entries a node may have yet to apply
// and still count as caught up.
const catchUpSlack = 64

// ReadBarrier returns once this node has applied every write acknowledged
// before the call, anywhere in the cluster (a read index, as etcd and
// rqlite do): the leader commits a barrier, which only a leader can, and
// a follower asks the leader for the index to wait for. Concurrent reads
// share one round.
func (n *Node) ReadBarrier(ctx context.Context) error {
	var index uint64
	var err error
	if n.raft != nil && n.raft.State() == raft.Leader {
		// A new leader reads once it applied the log before it, as it
		// writes (without the wait it would ask itself, as a follower,
		// and refuse).
		if err := n.waitReady(readyWait); err != nil {
			return err
		}
		index, err = n.verifier.do(ctx)
	} else {
		index, err = n.indexer.do(ctx)
	}
	if err != nil {
		return err
	}
	return n.db.WaitApplied(ctx, index)
}

// verifyRound confirms leadership with a quorum and returns the read index:
// an index at or above every entry committed before the round started.
//
// It commits a barrier entry rather than calling VerifyLeader, for two
// reasons. The leader's own applied index is not enough: a follower may
// apply a committed entry, and serve a read of it, before the leader's
// state machine has, and a later read here must see it too; the barrier
// returns once this node applied everything before it. And VerifyLeader
// counts any successful reply from a follower, also one to a message sent
// before the round: a leader paused (SIGSTOP, a long GC) while a new one
// was elected finds such replies waiting when it resumes and passes, then
// serves stale data (TestCluster_RegisterIsLinearizable caught both). A
// barrier is a new log entry, which a deposed leader cannot commit. Reads
// arriving meanwhile share the next round (batcher).
func (n *Node) verifyRound(ctx context.Context) (uint64, error) {
	if err := n.raft.Barrier(readBarrierTimeout).Error(); err != nil {
		return 0, errNoLeader()
	}
	if !n.Leader() {
		return 0, errNoLeader()
	}
	return n.db.AppliedIndex(), nil
}

// readBarrierTimeout bounds how long a read round waits for its barrier
// to be taken by raft.
const readBarrierTimeout = 5 * time.Second

// batcher shares one round among the calls that arrive while none is
// running, and starts each round only after its callers arrived: a round
// that began before a read came in cannot vouch for it.
type batcher struct {
	round   func(ctx context.Context) (uint64, error)
	mu      sync.Mutex
	waiting []chan batchResult
	running bool
}

type batchResult struct {
	index uint64
	err   error
}

func (b *batcher) do(ctx context.Context) (uint64, error) {
	ch := make(chan batchResult, 1)
	b.mu.Lock()
	b.waiting = append(b.waiting, ch)
	if !b.running {
		b.running = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case r := <-ch:
		return r.index, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (b *batcher) run() {
	for {
		b.mu.Lock()
		batch := b.waiting
		b.waiting = nil
		if len(batch) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		index, err := b.round(ctx)
		cancel()
		for _, ch := range batch {
			ch <- batchResult{index, err}
		}
	}
}
