package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/kv"
)

// memNet routes inter-node HTTP calls to the nodes' handlers in memory, by
// the raft address in the URL; a node that is down does not answer.
type memNet struct {
	mu       sync.Mutex
	handlers map[string]http.Handler
}

func (m *memNet) RoundTrip(req *http.Request) (*http.Response, error) {
	m.mu.Lock()
	h := m.handlers[req.URL.Host]
	m.mu.Unlock()
	if h == nil {
		return nil, fmt.Errorf("%s is down", req.URL.Host)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err // as a real transport: the call was cancelled
	}
	return rec.Result(), nil
}

func (m *memNet) set(addr string, h http.Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handlers[addr] = h
}

// testNode is one node of an in-process cluster on raft's in-memory
// transport.
type testNode struct {
	id    string
	node  *Node
	db    *store.DB
	trans *raft.InmemTransport
}

// startCluster starts n nodes that bootstrap together and waits for a
// leader ready to write; configure, if given, changes each node's Config.
func startCluster(t *testing.T, n int, configure ...func(*Config)) ([]*testNode, *memNet) {
	t.Helper()
	dir := t.TempDir()
	net := &memNet{handlers: map[string]http.Handler{}}
	var peers []Peer
	for i := range n {
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i), Addr: fmt.Sprintf("n%d:7000", i)})
	}
	nodes := make([]*testNode, n)
	for i, p := range peers {
		_, trans := raft.NewInmemTransport(raft.ServerAddress(p.Addr))
		cfg := Config{ID: p.ID, Addr: p.Addr, URL: "http://" + p.ID, Peers: peers, Dir: filepath.Join(dir, p.ID+".raft"),
			Transport: trans, Client: &http.Client{Transport: net}, HeartbeatTimeout: 200 * time.Millisecond, NoSync: true}
		for _, f := range configure {
			f(&cfg)
		}
		node, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(context.Background(), filepath.Join(dir, p.ID+".db"),
			store.Options{NoSync: true, MasterKeyFile: filepath.Join(dir, "master.key"), Replicator: node})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &testNode{id: p.ID, node: node, db: db, trans: trans}
		net.set(p.Addr, node.Handler(http.NotFoundHandler()))
	}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	for _, tn := range nodes {
		if err := tn.node.Start(tn.db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			tn.node.Shutdown()
			tn.db.Close()
		})
	}
	waitLeader(t, nodes)
	return nodes, net
}

// waitLeader returns the node that leads and is ready to write.
func waitLeader(t *testing.T, nodes []*testNode) *testNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, tn := range nodes {
			if tn.node.Leader() {
				return tn
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader within 10 s")
	return nil
}

// createTenantOnLeader creates tenant id through whichever node leads and
// returns that node. While an election leaves none (a loaded machine may
// bring one about) it retries, and a retry that finds the tenant made by
// the attempt before it counts as done.
func createTenantOnLeader(t *testing.T, nodes []*testNode, id string) *testNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	retried := false
	for {
		leader := waitLeader(t, nodes)
		_, _, err := leader.db.CreateTenant(context.Background(), newTenant(id))
		switch {
		case err == nil, retried && store.ErrorCode(err) == store.ECONFLICT:
			return leader
		case store.ErrorCode(err) == store.EUNAVAILABLE && time.Now().Before(deadline):
			retried = true
			time.Sleep(100 * time.Millisecond)
		default:
			t.Fatal(err)
		}
	}
}

func newTenant(id string) store.NewTenant {
	return store.NewTenant{ID: id, SigningKey: store.SigningKey{ID: "k", Alg: "ES256", Private: []byte("{}")}}
}

// wantSameContent waits until every node applied what the leader did and
// then compares their content.
// followerOf returns a node of nodes other than leader.
func followerOf(nodes []*testNode, leader *testNode) *testNode {
	for _, tn := range nodes {
		if tn != leader {
			return tn
		}
	}
	return nil
}

func wantSameContent(t *testing.T, leader *testNode, nodes []*testNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	index := leader.db.AppliedIndex()
	want, err := leader.db.Checksum()
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes {
		if err := tn.db.WaitApplied(ctx, index); err != nil {
			t.Fatalf("%s did not apply %d: %v", tn.id, index, err)
		}
		if got, _ := tn.db.Checksum(); got != want {
			t.Errorf("%s's content differs from the leader's", tn.id)
		}
	}
}

func TestNode_ReplicatesAndReadsOwnWrites(t *testing.T) {
	ctx := context.Background()
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("acme")); err != nil {
		t.Fatal(err)
	}
	for _, tn := range nodes {
		// A read index makes the write visible on every node, followers
		// included, as soon as the read returns.
		if err := tn.node.ReadBarrier(ctx); err != nil {
			t.Fatalf("%s: read barrier: %v", tn.id, err)
		}
		if ok, err := tn.db.TenantExists(ctx, "acme"); err != nil || !ok {
			t.Fatalf("%s does not see the tenant after a read barrier: %v %v", tn.id, ok, err)
		}
	}
	wantSameContent(t, leader, nodes)

	// A follower's audit entries reach every node through the leader.
	follower := followerOf(nodes, leader)
	follower.db.AuditAsync("acme", store.AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", ApplicationID: "app"})
	page := pagination.Params{Page: 1, PageSize: 20}
	if _, total, err := follower.db.FindAuditEntries(ctx, "acme", store.AuditFilter{}, page); err != nil || total != 1 {
		t.Fatalf("follower reads %d audit entries, %v; want its own 1", total, err)
	}
	wantSameContent(t, leader, nodes)
	for _, tn := range nodes {
		if err := tn.node.CanIssueTokens(); err != nil {
			t.Errorf("%s may not issue tokens: %v", tn.id, err)
		}
	}
}

func TestNode_NewLeaderAfterLeaderStops(t *testing.T) {
	ctx := context.Background()
	nodes, net := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("acme")); err != nil {
		t.Fatal(err)
	}
	// Cut the leader off: no raft traffic, no inter-node calls.
	for _, tn := range nodes {
		if tn != leader {
			tn.trans.Disconnect(leader.trans.LocalAddr())
			leader.trans.Disconnect(tn.trans.LocalAddr())
		}
	}
	net.set(string(leader.trans.LocalAddr()), nil)
	var rest []*testNode
	for _, tn := range nodes {
		if tn != leader {
			rest = append(rest, tn)
		}
	}
	next := waitLeader(t, rest)
	if _, _, err := next.db.CreateTenant(ctx, newTenant("beta")); err != nil {
		t.Fatal(err)
	}
	wantSameContent(t, next, rest)
	// The old leader no longer writes, and stops issuing tokens once it
	// knows it lost the lead.
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("gamma")); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Fatalf("write on a cut-off leader: %v, want EUNAVAILABLE", err)
	}
}

// TestNode_ReadinessHoldsForItsTermOnly: a leader that became ready in an
// earlier term (it lost leadership and won it back before its watcher saw
// either change) neither reads nor writes until it is ready in the current
// term, since that term may begin with entries it has not applied. (It
// still issues tokens, as a follower a few entries behind does, within the
// contact bound: CanIssueTokens.)
func TestNode_ReadinessHoldsForItsTermOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	term := leader.node.readyTerm.Load()
	if got := leader.node.raft.CurrentTerm(); got != term {
		t.Fatalf("ready in term %d, raft is in %d", term, got)
	}
	leader.node.readyTerm.Store(term - 1)
	if leader.node.Leader() {
		t.Error("Leader() with readiness from an earlier term")
	}
	if err := leader.node.ReadBarrier(ctx); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Errorf("read barrier: %v, want EUNAVAILABLE", err)
	}
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("acme")); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Errorf("write: %v, want EUNAVAILABLE", err)
	}

	leader.node.readyTerm.Store(term)
	if err := leader.node.ReadBarrier(ctx); err != nil {
		t.Errorf("read barrier: %v", err)
	}
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("acme")); err != nil {
		t.Errorf("write: %v", err)
	}
	wantSameContent(t, leader, nodes)
}

func TestNode_AddVoter(t *testing.T) {
	ctx := context.Background()
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tc := range []struct{ id, addr string }{
			{"", "n9:7000"}, {"-n9", "n9:7000"}, {"ca", "n9:7000"}, {"n9-key", "n9:7000"}, {"n 9", "n9:7000"},
			{"n9", ""}, {"n9", "n9"}, {"n9", ":7000"}, {"n9", "n9:"}, {"n9", "n9:0"},
		} {
			if err := leader.node.AddVoter(ctx, tc.id, tc.addr); store.ErrorCode(err) != store.EINVALID {
				t.Errorf("AddVoter(%q, %q): %v, want EINVALID", tc.id, tc.addr, err)
			}
		}
		f := leader.node.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			t.Fatal(err)
		}
		if got := len(f.Configuration().Servers); got != 3 {
			t.Errorf("%d servers after refused additions, want 3", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		if err := leader.node.RemoveServer(ctx, "n9"); store.ErrorCode(err) != store.ENOTFOUND {
			t.Errorf("RemoveServer of a stranger: %v, want ENOTFOUND", err)
		}
	})
}

// A follower cut off from the others stands for election after a few
// missed heartbeats; it goes on issuing tokens until the contact bound
// passes, not until it becomes a candidate, but is not ready meanwhile.
func TestNode_CutOffFollowerIssuesTokensUntilContactBound(t *testing.T) {
	const bound = 2 * time.Second
	nodes, net := startCluster(t, 3, func(c *Config) { c.ContactBound = bound })
	leader := waitLeader(t, nodes)
	if _, _, err := leader.db.CreateTenant(context.Background(), newTenant("acme")); err != nil {
		t.Fatal(err)
	}
	cut := followerOf(nodes, leader)
	wantSameContent(t, leader, nodes)
	for _, tn := range nodes {
		if tn != cut {
			tn.trans.Disconnect(cut.trans.LocalAddr())
			cut.trans.Disconnect(tn.trans.LocalAddr())
		}
	}
	net.set(string(cut.trans.LocalAddr()), nil)
	cutAt := time.Now()

	sawCandidate := false
	for time.Since(cutAt) < bound/2 {
		if cut.node.raft.State() == raft.Candidate {
			sawCandidate = true
			if cut.node.Ready() {
				t.Fatal("a candidate, which has no leader, reports ready")
			}
		}
		if err := cut.node.CanIssueTokens(); err != nil {
			t.Fatalf("%v after the cut, well within the contact bound of %v (state %v): %v",
				time.Since(cutAt).Round(time.Millisecond), bound, cut.node.raft.State(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !sawCandidate {
		t.Fatalf("the cut-off node never stood for election (state %v)", cut.node.raft.State())
	}
	time.Sleep(time.Until(cutAt.Add(bound + 500*time.Millisecond)))
	if err := cut.node.CanIssueTokens(); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Fatalf("past the contact bound: %v, want EUNAVAILABLE", err)
	}
	if cut.node.Ready() {
		t.Fatal("a node cut off past the contact bound reports ready")
	}
}

// The cluster port listens before raft starts (main opens it first), so
// the other nodes may call this one before Start has set it up: it answers
// 503 until then, and never reads what Start is writing.
func TestNode_InternalHTTPRefusedUntilStarted(t *testing.T) {
	dir := t.TempDir()
	_, trans := raft.NewInmemTransport("n0:7000")
	node, err := New(Config{ID: "n0", Addr: "n0:7000", Peers: []Peer{{ID: "n0", Addr: "n0:7000"}}, Dir: filepath.Join(dir, "n0.raft"),
		Transport: trans, Client: &http.Client{Transport: &memNet{handlers: map[string]http.Handler{}}},
		HeartbeatTimeout: 200 * time.Millisecond, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "n0.db"),
		store.Options{NoSync: true, MasterKeyFile: filepath.Join(dir, "master.key"), Replicator: node})
	if err != nil {
		t.Fatal(err)
	}
	h := node.Handler(http.NotFoundHandler())
	status := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", pathStatus, nil))
		return rec.Code
	}
	if got, want := status(), http.StatusServiceUnavailable; got != want {
		t.Fatalf("status before Start: %d, want %d", got, want)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				status() // under -race: no read of what Start writes
			}
		}
	})
	if err := node.Start(db); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		node.Shutdown()
		if err := db.CheckIntegrity(context.Background()); err != nil {
			t.Error(err)
		}
		db.Close()
	})
	close(stop)
	wg.Wait()
	if got, want := status(), http.StatusOK; got != want {
		t.Fatalf("status after Start: %d, want %d", got, want)
	}
}

// A leader cut off from the others steps down; it heard from a quorum
// until then, so it goes on issuing tokens until the contact bound passes
// from that moment, as a follower does from its leader's last message.
func TestNode_CutOffLeaderIssuesTokensUntilContactBound(t *testing.T) {
	const bound = 2 * time.Second
	nodes, net := startCluster(t, 3, func(c *Config) { c.ContactBound = bound })
	leader := waitLeader(t, nodes)
	for _, tn := range nodes {
		if tn != leader {
			tn.trans.Disconnect(leader.trans.LocalAddr())
			leader.trans.Disconnect(tn.trans.LocalAddr())
		}
	}
	net.set(string(leader.trans.LocalAddr()), nil)
	cutAt := time.Now()
	steppedDown := false
	for time.Since(cutAt) < bound/2 {
		steppedDown = steppedDown || leader.node.raft.State() != raft.Leader
		if err := leader.node.CanIssueTokens(); err != nil {
			t.Fatalf("%v after the cut, well within the contact bound of %v (state %v): %v",
				time.Since(cutAt).Round(time.Millisecond), bound, leader.node.raft.State(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !steppedDown {
		t.Fatalf("the cut-off leader did not step down within %v", bound/2)
	}
	time.Sleep(time.Until(cutAt.Add(bound + 500*time.Millisecond)))
	if err := leader.node.CanIssueTokens(); store.ErrorCode(err) != store.EUNAVAILABLE {
		t.Fatalf("past the contact bound: %v, want EUNAVAILABLE", err)
	}
}

// A node whose data file can no longer take entries (here closed under
// it) retries them; Shutdown still returns, leaving them for the next
// start, instead of waiting for ever on raft's state machine.
func TestNode_ShutdownWhileEntriesCannotApply(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	follower := followerOf(nodes, leader)
	if err := follower.db.Close(); err != nil {
		t.Fatal(err)
	}
	leader = createTenantOnLeader(t, nodes, "acme")
	deadline := time.Now().Add(5 * time.Second)
	for follower.node.raft.CommitIndex() < leader.db.AppliedIndex() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // it tried to apply, and waits to try again
	done := make(chan error, 1)
	go func() { done <- follower.node.Shutdown() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return while the node retried entries it could not apply")
	}
}

// A voter stays in the cluster's configuration until removed: one that
// could never be a node is refused, and the configuration is unchanged.
func TestNode_AddVoterRefusesWhatCannotBeANode(t *testing.T) {
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	for _, tc := range []struct{ name, id, addr string }{
		{"ErrInvalidID", "n 4!", "127.0.0.1:7004"},
		{"ErrReservedID", "ca", "127.0.0.1:7004"},
		{"ErrNoPort", "n4", "127.0.0.1"},
		{"ErrNoHost", "n4", ":7004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := leader.node.AddVoter(context.Background(), tc.id, tc.addr); store.ErrorCode(err) != store.EINVALID {
				t.Fatalf("AddVoter(%q, %q): %v, want EINVALID", tc.id, tc.addr, err)
			}
		})
	}
	t.Run("ErrConflictAddressOfAnother", func(t *testing.T) {
		if err := leader.node.AddVoter(context.Background(), "n9", string(nodes[1].trans.LocalAddr())); store.ErrorCode(err) != store.ECONFLICT {
			t.Fatalf("AddVoter with another member's address: %v, want ECONFLICT", err)
		}
	})
	f := leader.node.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(f.Configuration().Servers), 3; got != want {
		t.Fatalf("%d servers in the configuration, want %d: %+v", got, want, f.Configuration().Servers)
	}
}

// A request a follower forwarded to a leader that stopped answering (here
// a handler that never returns, as a paused process) is given up with
// EUNAVAILABLE once another node leads, instead of hanging as long as the
// client waits.
func TestNode_ForwardGivesUpOnLeaderThatStoppedAnswering(t *testing.T) {
	nodes, net := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	var follower *testNode
	var rest []*testNode
	for _, tn := range nodes {
		if tn != leader {
			rest = append(rest, tn)
			follower = tn
		}
	}
	hung := make(chan struct{})
	net.set(string(leader.trans.LocalAddr()), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(hung)
		<-r.Context().Done()
	}))
	done := make(chan error, 1)
	go func() {
		req := httptest.NewRequest("POST", "/api/users", strings.NewReader(`{"username":"u"}`))
		done <- follower.node.Forward(httptest.NewRecorder(), req)
	}()
	<-hung
	for _, tn := range rest {
		tn.trans.Disconnect(leader.trans.LocalAddr())
		leader.trans.Disconnect(tn.trans.LocalAddr())
	}
	next := waitLeader(t, rest)
	select {
	case err := <-done:
		if store.ErrorCode(err) != store.EUNAVAILABLE {
			t.Fatalf("Forward: %v, want EUNAVAILABLE", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("the forwarded request still waits on the old leader 5 s after %s took over", next.id)
	}
}

// TestNode_LeaderThatCannotApplyHandsOver: a leader whose state machine
// cannot apply (its data file is gone, as a full disk would stall it) does
// not hold the lead with every write refused: it tries to prepare a few
// times and hands the lead to another node, which then writes.
func TestNode_LeaderThatCannotApplyHandsOver(t *testing.T) {
	ctx := context.Background()
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	leader.node.prepareTimeout = 200 * time.Millisecond
	leader.db.Close() // every entry from now on fails to apply here
	// An entry the others apply and this node's state machine cannot: it
	// is stuck on it, so the barrier of a new term never completes here.
	// (Its future never resolves on this node; nothing waits for it.)
	leader.node.raft.Apply(append([]byte{'w'}, kv.WriteSet{}.Marshal()...), time.Second)

	done := make(chan struct{})
	go func() {
		defer close(done)
		leader.node.becomeLeader(ctx)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a leader that cannot apply kept trying for 20 s")
	}
	var rest []*testNode
	for _, tn := range nodes {
		if tn != leader {
			rest = append(rest, tn)
		}
	}
	next := waitLeader(t, rest)
	if _, _, err := next.db.CreateTenant(ctx, newTenant("after")); err != nil {
		t.Fatalf("write on the node that took over: %v", err)
	}
}

// TestNode_ActiveUsersFromEveryNode: users made active by entries audited
// on a follower (forwarded to the leader) and on the leader are marked once,
// by the leader's audit writer, and every node counts them alike.
func TestNode_ActiveUsersFromEveryNode(t *testing.T) {
	ctx := context.Background()
	nodes, _ := startCluster(t, 3)
	leader := waitLeader(t, nodes)
	if _, _, err := leader.db.CreateTenant(ctx, newTenant("acme")); err != nil {
		t.Fatal(err)
	}
	follower := followerOf(nodes, leader)
	verified := func(user string) store.AuditPayload {
		return store.AuditPayload{Key: "Interaction.SignIn.Identifier.Password.Submit", Result: "Success", UserID: user}
	}
	follower.db.AuditAsync("acme", verified("ada"))
	follower.db.AuditAsync("acme", verified("bob"))
	leader.db.AuditAsync("acme", verified("ada"))
	follower.db.AuditAsync("acme", store.AuditPayload{Key: "ExchangeTokenBy.TokenExchange", Result: "Success", UserID: "cy"})
	for _, tn := range []*testNode{follower, leader} {
		// Each waits for its own queued entries to be applied.
		if _, err := tn.db.CountActiveUsers(ctx, "acme", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tn := range nodes {
		if err := tn.node.ReadBarrier(ctx); err != nil {
			t.Fatalf("%s: read barrier: %v", tn.id, err)
		}
		got, err := tn.db.CountActiveUsers(ctx, "acme", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The week, not the day: the test may straddle midnight UTC.
		if got.Weekly != 3 || got.Monthly != 3 {
			t.Errorf("%s counts %+v, want 3 users active this week", tn.id, *got)
		}
	}
	wantSameContent(t, leader, nodes)
}
