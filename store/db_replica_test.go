package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// memLog is an in-process stand-in for raft: one log that every node
// applies in order as soon as the leader appends to it. It tests the
// store's side of replication; package store/cluster tests the real one.
type memLog struct {
	mu      sync.Mutex
	entries []Entry
	nodes   []*memNode
	leader  int
	// replicate, when set before the writes that use it, stands for the
	// leader's side of a proposal: it calls commit (or not) and returns
	// what Replicate does.
	replicate func(commit func() error) error
}

// memNode is one node's Replicator.
type memNode struct {
	log *memLog
	id  int
	db  *DB
}

func (n *memNode) Leader() bool {
	n.log.mu.Lock()
	defer n.log.mu.Unlock()
	return n.log.leader == n.id
}

func (n *memNode) Replicate(entry []byte) error {
	if !n.Leader() {
		return ErrNotLeader
	}
	commit := func() error {
		_, err := n.log.append(entry)
		return err
	}
	if n.log.replicate != nil {
		return n.log.replicate(commit)
	}
	return commit()
}

func (n *memNode) ForwardAudits(payload []byte) (uint64, error) {
	l := n.log
	l.mu.Lock()
	leader := l.nodes[l.leader]
	l.mu.Unlock()
	return leader.db.AppendAudits(context.Background(), payload)
}

// append logs entry and has every node apply it.
func (l *memLog) append(entry []byte) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := Entry{Index: uint64(len(l.entries) + 1), Data: bytes.Clone(entry)}
	l.entries = append(l.entries, e)
	for _, n := range l.nodes {
		if n.db == nil {
			continue
		}
		if err := n.db.ApplyEntries([]Entry{e}); err != nil {
			return 0, fmt.Errorf("node %d: %w", n.id, err)
		}
	}
	return e.Index, nil
}

// openCluster opens n nodes' files in one directory, all with the same
// master key, and has node 0 give them its content (the genesis entry).
func openCluster(t *testing.T, n int) (*memLog, []*DB) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")
	l := &memLog{}
	dbs := make([]*DB, n)
	for i := range n {
		node := &memNode{log: l, id: i}
		l.nodes = append(l.nodes, node)
		db, err := Open(context.Background(), filepath.Join(dir, fmt.Sprintf("n%d.db", i)),
			Options{NoSync: true, Now: func() time.Time { return testNow }, MasterKeyFile: key, Replicator: node})
		if err != nil {
			t.Fatal(err)
		}
		node.db, dbs[i] = db, db
		t.Cleanup(func() {
			if err := db.CheckIntegrity(context.Background()); err != nil {
				t.Errorf("node %d: integrity: %v", i, err)
			}
			db.Close()
		})
	}
	genesis, err := dbs[0].GenesisEntry()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.nodes[0].Replicate(genesis); err != nil {
		t.Fatal(err)
	}
	return l, dbs
}

// wantSameContent fails unless every node's replicated content has the
// same checksum.
func wantSameContent(t *testing.T, dbs []*DB) {
	t.Helper()
	first, err := dbs[0].Checksum()
	if err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs[1:] {
		sum, err := db.Checksum()
		if err != nil {
			t.Fatal(err)
		}
		if sum != first {
			t.Errorf("node %d's content differs from node 0's", i+1)
		}
	}
}

func TestReplica_WritesReachEveryNode(t *testing.T) {
	ctx := context.Background()
	l, dbs := openCluster(t, 3)
	for i := range 3 {
		if !dbs[i].ClusterGenesis() {
			t.Fatalf("node %d has no cluster content after the genesis entry", i)
		}
	}
	wantSameContent(t, dbs)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	// Many writers share group commits; each is one entry.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := dbs[0].CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr(fmt.Sprintf("u%d", i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, db := range dbs {
		_, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, contractPageAll)
		if err != nil || total != 20 {
			t.Fatalf("node %d: %d users, %v; want 20", i, total, err)
		}
		if got := db.AppliedIndex(); got != uint64(len(l.entries)) {
			t.Errorf("node %d applied %d, the log holds %d", i, got, len(l.entries))
		}
	}
	wantSameContent(t, dbs)

	// A follower cannot write on its own.
	if _, err := dbs[1].CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("x")}); ErrorCode(err) != EUNAVAILABLE {
		t.Fatalf("write on a follower: %v, want EUNAVAILABLE", err)
	}
}

func TestReplica_RestartSkipsAppliedEntries(t *testing.T) {
	ctx := context.Background()
	l, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[0].CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("ann")}); err != nil {
		t.Fatal(err)
	}
	// Replaying the whole log (as raft does after a restart from its last
	// snapshot) changes nothing: every entry is at or below the index
	// stored with the data.
	before, _ := dbs[1].Checksum()
	if err := dbs[1].ApplyEntries(l.entries); err != nil {
		t.Fatal(err)
	}
	if after, _ := dbs[1].Checksum(); after != before {
		t.Fatal("replaying applied entries changed the content")
	}
	// A later genesis entry (a second leader's) changes nothing either.
	genesis, err := dbs[1].GenesisEntry()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.append(genesis); err != nil {
		t.Fatal(err)
	}
	wantSameContent(t, dbs)
}

func TestReplica_SnapshotRestore(t *testing.T) {
	ctx := context.Background()
	_, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[0].CreateUser(ctx, DefaultTenant, UserCreate{Username: ptr("ann")}); err != nil {
		t.Fatal(err)
	}
	snap, err := dbs[0].BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	index := snap.Index()
	snap.Close()
	if index != dbs[0].AppliedIndex() {
		t.Fatalf("snapshot index %d, applied %d", index, dbs[0].AppliedIndex())
	}

	// A third node with content of its own catches up from the snapshot.
	dir := t.TempDir()
	fresh, err := Open(ctx, filepath.Join(dir, "n2.db"), Options{NoSync: true, MasterKeyFile: filepath.Join(filepath.Dir(dbs[0].Path()), "master.key"),
		Replicator: &memNode{log: &memLog{leader: -1}, id: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.commitLocal(func(tx *kv.Tx) error {
		_, err := tx.Bucket(bucketTenants).CreateBucket([]byte("mine"))
		return err
	}, false); err != nil {
		t.Fatal(err)
	}
	if err := fresh.RestoreSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	// What it held before is kept aside, as a genesis entry keeps it.
	if kept, err := os.ReadFile(fresh.Path() + ".before-cluster"); err != nil || !bytes.Contains(kept, []byte("mine")) {
		t.Fatalf("no copy of the file the snapshot replaced: %v", err)
	}
	if fresh.AppliedIndex() != index {
		t.Fatalf("applied %d after restore, want %d", fresh.AppliedIndex(), index)
	}
	wantSameContent(t, []*DB{dbs[0], fresh})
	if err := fresh.CheckIntegrity(ctx); err != nil {
		t.Fatal(err)
	}
	// The restored node verifies secrets made on the leader: the secret-hash
	// key came with the content.
	if _, _, err := fresh.FindUsers(ctx, DefaultTenant, UserFilter{}, contractPageAll); err != nil {
		t.Fatal(err)
	}

	// A snapshot sealed with another master key is refused, and nothing is
	// replaced.
	other, err := Open(ctx, filepath.Join(dir, "n3.db"), Options{NoSync: true, Replicator: &memNode{log: &memLog{leader: -1}, id: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	snap, _ = dbs[0].BeginSnapshot()
	buf.Reset()
	snap.WriteTo(&buf)
	snap.Close()
	before, _ := other.Checksum()
	if err := other.RestoreSnapshot(&buf); !errors.Is(err, ErrMasterKey) {
		t.Fatalf("restore under another master key: %v, want ErrMasterKey", err)
	}
	if after, _ := other.Checksum(); after != before {
		t.Fatal("a refused restore changed the content")
	}
}

func TestReplica_GenesisKeepsTheReplacedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := filepath.Join(dir, "master.key")
	l := &memLog{}
	var dbs []*DB
	for i := range 2 {
		node := &memNode{log: l, id: i}
		l.nodes = append(l.nodes, node)
		db, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("n%d.db", i)), Options{NoSync: true, MasterKeyFile: key, Replicator: node})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		node.db = db
		dbs = append(dbs, db)
	}
	// Node 1 had a tenant of its own before it joined: the genesis entry
	// from node 0 replaces it, and a copy of the file as it was stays.
	if err := dbs[1].commitLocal(func(tx *kv.Tx) error {
		_, err := tx.Bucket(bucketTenants).CreateBucket([]byte("mine"))
		return err
	}, false); err != nil {
		t.Fatal(err)
	}
	genesis, err := dbs[0].GenesisEntry()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.nodes[0].Replicate(genesis); err != nil {
		t.Fatal(err)
	}
	wantSameContent(t, dbs)
	kept := dbs[1].Path() + ".before-cluster"
	data, err := os.ReadFile(kept)
	if err != nil {
		t.Fatalf("no copy of the replaced file: %v", err)
	}
	if !bytes.Contains(data, []byte("mine")) {
		t.Fatal("the copy does not hold the replaced tenant")
	}
	if _, err := os.Stat(dbs[0].Path() + ".before-cluster"); err != nil {
		t.Fatalf("the leader keeps a copy too: %v", err)
	}
}

func TestReplica_FollowerAuditsGoThroughTheLeader(t *testing.T) {
	ctx := context.Background()
	_, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		dbs[1].AuditAsync(DefaultTenant, AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", ApplicationID: fmt.Sprint("app", i)})
	}
	// The follower reads its own entries: the read waits for them to come
	// back through the log.
	entries, total, err := dbs[1].FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, contractPageAll)
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || len(entries) != 5 {
		t.Fatalf("follower reads %d entries (total %d), want 5", len(entries), total)
	}
	wantSameContent(t, dbs)

	// A forwarded batch that is not audit records is refused.
	if _, err := dbs[0].AppendAudits(ctx, []byte{3, 'a', 'b', 'c', 1, 'x'}); ErrorCode(err) != EINVALID {
		t.Fatalf("bad batch: %v, want EINVALID", err)
	}

	// A batch sent again (the follower's call failed after the leader had
	// written it) is written once.
	record, err := appendCompactAudit(nil, "ExchangeTokenBy.ClientCredentials", msec(testNow), randomSuffix(), &AuditPayload{ApplicationID: "again"})
	if err != nil {
		t.Fatal(err)
	}
	payload := encodeAuditBatch([]queuedAudit{{tenant: DefaultTenant, record: record}})
	first, err := dbs[0].AppendAudits(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	second, err := dbs[0].AppendAudits(ctx, payload)
	if err != nil || second != first {
		t.Fatalf("the same batch again: index %d, %v; want %d", second, err, first)
	}
	if _, total, err := dbs[0].FindAuditEntries(ctx, DefaultTenant, AuditFilter{ApplicationID: "again"}, contractPageAll); err != nil || total != 1 {
		t.Fatalf("a batch sent twice left %d entries, %v; want 1", total, err)
	}
}

// TestReplica_KeepJTIWaitsForTheCommit: in cluster mode KeepJTI returns
// once the jti's write is committed and applied, so a node that leads next
// refuses a replay even if this one dies within the flush interval; on a
// node that lost the leadership it fails, and the jti stays used there.
func TestReplica_KeepJTIWaitsForTheCommit(t *testing.T) {
	ctx := context.Background()
	l, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	j := NewJTI("robot", "once", testNow.Add(time.Minute))
	if err := dbs[0].ClaimJTI(ctx, DefaultTenant, j); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].KeepJTI(ctx, DefaultTenant, j); err != nil {
		t.Fatalf("keep on the leader: %v", err)
	}
	dbs[1].ReloadJTIs()
	wantReplayRefused(t, dbs[1].ClaimJTI(ctx, DefaultTenant, j), "replay on the next leader")

	l.mu.Lock()
	l.leader = 1
	l.mu.Unlock()
	k := NewJTI("robot", "twice", testNow.Add(time.Minute))
	if err := dbs[0].ClaimJTI(ctx, DefaultTenant, k); err != nil {
		t.Fatal(err)
	}
	if err := dbs[0].KeepJTI(ctx, DefaultTenant, k); ErrorCode(err) != EUNAVAILABLE {
		t.Errorf("keep on a node that no longer leads: %v, want %s", err, EUNAVAILABLE)
	}
	wantReplayRefused(t, dbs[0].ClaimJTI(ctx, DefaultTenant, k), "replay on the node that failed to keep it")
	if err := dbs[1].ClaimJTI(ctx, DefaultTenant, k); err != nil {
		t.Errorf("the jti the old leader failed to write, on the new leader: %v", err)
	}
}

// A group commit whose proposal failed after the log took it (a leader
// that lost its place may still see it committed) is not run again write
// by write: that would apply its writes twice. Each write gets the error.
func TestReplica_UncertainBatchIsNotRunAgain(t *testing.T) {
	ctx := context.Background()
	l, dbs := openCluster(t, 2)
	if _, _, err := dbs[0].CreateTenant(ctx, NewTenant{ID: DefaultTenant, SigningKey: SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var calls atomic.Int32
	l.replicate = func(commit func() error) error {
		switch calls.Add(1) {
		case 1:
			<-release // hold the first write until two more queue behind it
			return commit()
		case 2:
			if err := commit(); err != nil {
				return err
			}
			return &Error{Code: EUNAVAILABLE, Message: "leadership lost after the proposal"}
		}
		return commit()
	}
	create := func(name string) error {
		_, err := dbs[0].CreateUser(ctx, DefaultTenant, UserCreate{Name: ptr(name)})
		return err
	}
	first := make(chan error, 1)
	go func() { first <- create("a") }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"b", "c"} {
		wg.Go(func() { errs[i] = create(name) })
	}
	for len(dbs[0].writes) < 2 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if ErrorCode(err) != EUNAVAILABLE {
			t.Errorf("write %d of the uncertain batch: %v, want EUNAVAILABLE", i, err)
		}
	}
	for i, db := range dbs {
		if _, total, err := db.FindUsers(ctx, DefaultTenant, UserFilter{}, contractPageAll); err != nil || total != 3 {
			t.Errorf("node %d: %d users, %v; want 3 (each write applied once)", i, total, err)
		}
	}
	wantSameContent(t, dbs)
}
