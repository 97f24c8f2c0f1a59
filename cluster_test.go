package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// testCluster is a cluster of idbolt processes on loopback.
type testCluster struct {
	t     testing.TB
	bin   string
	dir   string
	peers string
	nodes map[string]*clusterProc
	// extra flags for every node
	flags []string

	mu     sync.Mutex
	sysTok string // see systemToken
}

// clusterProc is one node's process.
type clusterProc struct {
	id, raftAddr string
	cmd          *exec.Cmd
	url          string
	log          *logBuffer
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newTestCluster makes certificates and a master key for nodes ids and
// starts them, and waits until every node is ready.
func newTestCluster(t testing.TB, ids []string, flags ...string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, bin: buildBinary(t), dir: t.TempDir(), nodes: map[string]*clusterProc{}, flags: flags}
	if _, err := cluster.InitCerts(filepath.Join(c.dir, "tls"), ids, ""); err != nil {
		t.Fatal(err)
	}
	// One master key for all: made by opening a throwaway file with it.
	db, err := store.Open(context.Background(), filepath.Join(c.dir, "seed.db"), store.Options{MasterKeyFile: c.keyFile()})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	var peers []string
	for _, id := range ids {
		p := &clusterProc{id: id, raftAddr: freeAddr(t)}
		c.nodes[id] = p
		peers = append(peers, id+"="+p.raftAddr)
	}
	c.peers = strings.Join(peers, ",")
	for _, id := range ids {
		c.start(id, c.peers)
	}
	for _, id := range ids {
		c.waitReady(id, 30*time.Second)
	}
	return c
}

func (c *testCluster) keyFile() string { return filepath.Join(c.dir, "master.key") }

// start starts node id (again) with the given --peers.
func (c *testCluster) start(id, peers string) {
	t := c.t
	t.Helper()
	p := c.nodes[id]
	if p == nil {
		p = &clusterProc{id: id, raftAddr: freeAddr(t)}
		c.nodes[id] = p
	}
	p.log = newLogBuffer()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(c.dir, id+".db"),
		"--base-url", "http://idbolt.test", "--master-key-file", c.keyFile(),
		"--node-id", id, "--raft-addr", p.raftAddr, "--peers", peers, "--cluster-tls-dir", filepath.Join(c.dir, "tls")}, c.flags...)
	p.cmd = exec.Command(c.bin, args...)
	p.cmd.Env = append(os.Environ(), "IDBOLT_BOOTSTRAP_CLIENT_ID="+testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET="+testSecret,
		"IDBOLT_RATE_LIMIT=off", "IDBOLT_FAILURE_RATE_LIMIT=off")
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := p.cmd
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case addr := <-p.log.addr:
		p.url = "http://" + addr
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not start:\n%s", id, p.log)
	}
}

// kill kills node id with SIGKILL.
func (c *testCluster) kill(id string) {
	p := c.nodes[id]
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// stop stops node id with SIGTERM and waits for a clean exit.
func (c *testCluster) stop(id string) {
	c.t.Helper()
	p := c.nodes[id]
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Errorf("node %s exited with %v:\n%s", id, err, p.log)
		}
	case <-time.After(20 * time.Second):
		c.t.Fatalf("node %s did not stop", id)
	}
}

// waitReady waits until node id answers /api/status/ready with 204.
func (c *testCluster) waitReady(id string, bound time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		resp, err := http.Get(c.nodes[id].url + "/api/status/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("node %s not ready within %s:\n%s", id, bound, c.nodes[id].log)
}

// status returns GET /system/cluster as node id answers it.
func (c *testCluster) status(id string) (cluster.Status, error) {
	var st cluster.Status
	tok, err := c.systemToken(id)
	if err != nil {
		return st, err
	}
	req, _ := http.NewRequest("GET", c.nodes[id].url+"/system/cluster", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return st, fmt.Errorf("GET /system/cluster: %d %s", resp.StatusCode, body)
	}
	return st, json.Unmarshal(body, &st)
}

// systemToken returns a system token, got once (from node id) and used on
// every node: each token request writes an audit entry, after its answer,
// and a test waiting for the nodes to agree must not keep writing.
func (c *testCluster) systemToken(id string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sysTok != "" {
		return c.sysTok, nil
	}
	tok, err := systemToken(context.Background(), c.nodes[id].url, testClientID, testSecret)
	if err == nil {
		c.sysTok = tok
	}
	return tok, err
}

// leader waits until the nodes in among agree on a leader among them and
// returns it.
func (c *testCluster) leader(among []string, bound time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(bound)
	var lastErr error
	for time.Now().Before(deadline) {
		for _, id := range among {
			st, err := c.status(id)
			if err != nil || st.Leader == "" {
				lastErr = err
				continue
			}
			for _, other := range among {
				if other == st.Leader {
					return st.Leader
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no leader among %v within %s (%v)", among, bound, lastErr)
	return ""
}

// tryToken gets a client_credentials token of the bootstrap client for
// resource.
func tryToken(base, resource string) (string, error) {
	form := "grant_type=client_credentials&scope=all&resource=" + resource
	req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testSecret)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &tr) != nil {
		return "", fmt.Errorf("token: %d %s", resp.StatusCode, body)
	}
	return tr.AccessToken, nil
}

// checksums stops every node, once they agree, and returns the checksum
// of each one's replicated content.
func (c *testCluster) checksums() map[string][32]byte {
	c.t.Helper()
	c.quiesce(30 * time.Second)
	out := map[string][32]byte{}
	for id := range c.nodes {
		c.stop(id)
	}
	for id := range c.nodes {
		db, err := store.Open(context.Background(), filepath.Join(c.dir, id+".db"), store.Options{MasterKeyFile: c.keyFile()})
		if err != nil {
			c.t.Fatal(err)
		}
		sum, err := db.Checksum()
		if err != nil {
			c.t.Fatal(err)
		}
		if err := db.CheckIntegrity(context.Background()); err != nil {
			c.t.Errorf("node %s: integrity: %v", id, err)
		}
		db.Close()
		out[id] = sum
	}
	return out
}

// waitSameApplied waits until every node has applied what the leader has.
func (c *testCluster) waitSameApplied(bound time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(bound)
	var last any
	for time.Now().Before(deadline) {
		var same bool
		if _, same, last = c.sameApplied(); same {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("nodes did not reach the same applied index within %s: %+v", bound, last)
}

// quiesce waits until every node has applied the same index and it has
// not moved for half a second: token requests' audit entries are written
// in batches after their answers, and a node stopped before the last batch
// reached it would differ from the others.
func (c *testCluster) quiesce(bound time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(bound)
	var index uint64
	var since time.Time
	var last any
	for time.Now().Before(deadline) {
		got, same, st := c.sameApplied()
		last = st
		switch {
		case !same:
			since = time.Time{}
		case since.IsZero() || got != index:
			index, since = got, time.Now()
		case time.Since(since) > 500*time.Millisecond:
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("nodes did not settle on one applied index within %s: %+v", bound, last)
}

// sameApplied reports whether every node has applied the index the leader
// has, with the leader's status (or the error getting it).
func (c *testCluster) sameApplied() (uint64, bool, any) {
	var leader string
	for id := range c.nodes {
		if st, err := c.status(id); err == nil && st.Leader != "" {
			leader = st.Leader
			break
		}
	}
	if leader == "" || c.nodes[leader] == nil {
		return 0, false, "no leader"
	}
	st, err := c.status(leader)
	if err != nil {
		return 0, false, err
	}
	same := len(st.Nodes) == len(c.nodes) && len(st.Nodes) > 0
	for _, n := range st.Nodes {
		same = same && n.State != "unreachable" && n.AppliedIndex == st.Nodes[0].AppliedIndex
	}
	if !same {
		return 0, false, st
	}
	return st.Nodes[0].AppliedIndex, true, st
}

func TestCluster_KillLeaderLosesNoAcknowledgedWrite(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	first := c.leader(ids, 10*time.Second)
	tok := token(t, c.nodes[first].url, testClientID, testSecret)

	// 16 writers, spread over the three nodes: followers forward.
	var mu sync.Mutex
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 16 {
		node := c.nodes[ids[w%3]]
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", node.url+"/api/users", strings.NewReader(fmt.Sprintf(`{"username":"k%d_%d"}`, w, i)))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue // that node is down, or the request was cut: not acknowledged
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var u struct{ ID string }
				if resp.StatusCode == 200 && json.Unmarshal(body, &u) == nil && u.ID != "" {
					mu.Lock()
					acked[u.ID] = true
					mu.Unlock()
				} else if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("create on %s: %d %s", node.id, resp.StatusCode, body)
					return
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	c.kill(first)
	killed := time.Now()
	var rest []string
	for _, id := range ids {
		if id != first {
			rest = append(rest, id)
		}
	}
	next := c.leader(rest, 10*time.Second)
	t.Logf("new leader %s %v after kill -9 of %s", next, time.Since(killed).Round(10*time.Millisecond), first)
	time.Sleep(1500 * time.Millisecond) // writes go on under the new leader
	close(stop)
	wg.Wait()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	if n < 50 {
		t.Fatalf("only %d creates acknowledged", n)
	}

	// The killed node comes back, catches up from its own file and the
	// log, and every node holds every acknowledged user.
	c.start(first, c.peers)
	c.waitReady(first, 30*time.Second)
	c.waitSameApplied(30 * time.Second)
	for _, id := range ids {
		missing := 0
		for uid := range acked {
			status, body := do(t, "GET", c.nodes[id].url+"/api/users/"+uid, tok, "")
			switch status {
			case 200:
			case 404:
				missing++
			default:
				t.Fatalf("GET user on %s: %d %s", id, status, body)
			}
		}
		if missing > 0 {
			t.Errorf("node %s lost %d of %d acknowledged users", id, missing, n)
		}
	}
	sums := c.checksums()
	for _, id := range ids[1:] {
		if sums[id] != sums[ids[0]] {
			t.Errorf("node %s's content differs from %s's", id, ids[0])
		}
	}
	t.Logf("%d acknowledged creates, all on every node; checksums equal", n)
}

func TestParseServeFlags_RaftSnapshot(t *testing.T) {
	clusterArgs := []string{"--node-id", "n1", "--raft-addr", "127.0.0.1:7001", "--peers", "n1=127.0.0.1:7001",
		"--cluster-tls-dir", "tls", "--addr", "127.0.0.1:3001"}
	for _, tc := range []struct {
		name          string
		args          []string
		env           map[string]string
		wantThreshold uint64
		wantInterval  time.Duration
		wantErr       bool
	}{
		{name: "Defaults", wantThreshold: cluster.DefaultSnapshotThreshold, wantInterval: cluster.DefaultSnapshotInterval},
		{name: "Flags", args: []string{"--raft-snapshot-threshold", "64", "--raft-snapshot-interval", "500ms"}, wantThreshold: 64, wantInterval: 500 * time.Millisecond},
		{name: "Env", env: map[string]string{"IDBOLT_RAFT_SNAPSHOT_THRESHOLD": "100", "IDBOLT_RAFT_SNAPSHOT_INTERVAL": "3s"}, wantThreshold: 100, wantInterval: 3 * time.Second},
		{name: "FlagBeatsEnv", args: []string{"--raft-snapshot-threshold", "200"}, env: map[string]string{"IDBOLT_RAFT_SNAPSHOT_THRESHOLD": "100"}, wantThreshold: 200, wantInterval: cluster.DefaultSnapshotInterval},
		{name: "ErrTooSmall", args: []string{"--raft-snapshot-threshold", "3"}, wantErr: true},
		{name: "ErrNotANumber", args: []string{"--raft-snapshot-threshold", "-1"}, wantErr: true},
		{name: "ErrInterval", args: []string{"--raft-snapshot-interval", "1ms"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServeFlags(append(append([]string{}, clusterArgs...), tc.args...), func(k string) string { return tc.env[k] }, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.cluster.snapshotThreshold, tc.wantThreshold; got != want {
				t.Errorf("threshold %d, want %d", got, want)
			}
			if got, want := c.cluster.snapshotInterval, tc.wantInterval; got != want {
				t.Errorf("interval %s, want %s", got, want)
			}
		})
	}
}
