package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/cluster"
)

// snapshotFlags make nodes snapshot and compact their log every 64
// entries, and check for it often, so that a node that joins or comes
// back late must catch up from a snapshot.
var snapshotFlags = []string{"--raft-snapshot-threshold", "64", "--raft-snapshot-interval", "200ms"}

// newNode makes a certificate for a node that is not a member yet and
// reserves its raft address; start it with the members' --peers.
func (c *testCluster) newNode(id string) *clusterProc {
	c.t.Helper()
	tls := filepath.Join(c.dir, "tls")
	if _, err := cluster.InitCerts(tls, []string{id}, tls); err != nil {
		c.t.Fatal(err)
	}
	p := &clusterProc{id: id, raftAddr: freeAddr(c.t)}
	c.nodes[id] = p
	return p
}

// system makes a /system API call on node id with a system token.
func (c *testCluster) system(id, method, path, body string) (int, string) {
	c.t.Helper()
	tok, err := c.systemToken(id)
	if err != nil {
		c.t.Fatal(err)
	}
	return do(c.t, method, c.nodes[id].url+path, tok, body)
}

// snapshotIndex returns the highest log index of node id's completed raft
// snapshots, 0 for none. Raft names each snapshot's directory
// TERM-INDEX-MILLISECONDS.
func (c *testCluster) snapshotIndex(id string) uint64 {
	entries, _ := os.ReadDir(filepath.Join(c.dir, id+".db.raft", "snapshots"))
	var top uint64
	for _, e := range entries {
		parts := strings.Split(e.Name(), "-")
		if len(parts) != 3 || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if _, err := os.Stat(filepath.Join(c.dir, id+".db.raft", "snapshots", e.Name(), "meta.json")); err != nil {
			continue
		}
		if index, err := strconv.ParseUint(parts[1], 10, 64); err == nil && index > top {
			top = index
		}
	}
	return top
}

// writeUntilSnapshot creates users through node via until node holds a
// snapshot at or past index (writes are group-committed, so the number of
// log entries a create takes varies), and returns the users and the
// snapshot's index.
func (c *testCluster) writeUntilSnapshot(via, node, tok, prefix string, index uint64) ([]string, uint64) {
	c.t.Helper()
	var users []string
	deadline := time.Now().Add(30 * time.Second)
	for round := 0; time.Now().Before(deadline); round++ {
		users = append(users, createUsers(c.t, c.nodes[via].url, tok, fmt.Sprintf("%s%d_", prefix, round), 40)...)
		// Raft checks every 200 to 400 ms whether to snapshot.
		check := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(check) {
			if got := c.snapshotIndex(node); got >= index {
				return users, got
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	c.t.Fatalf("node %s has no snapshot at index %d or later within 30s (has %d)", node, index, c.snapshotIndex(node))
	return nil, 0
}

// appliedIndex returns node id's applied index as it reports it.
func (c *testCluster) appliedIndex(id string) uint64 {
	c.t.Helper()
	st, err := c.status(id)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, n := range st.Nodes {
		if n.ID == id {
			return n.AppliedIndex
		}
	}
	c.t.Fatalf("node %s is not in its own status: %+v", id, st)
	return 0
}

// remove stops node id and forgets it, once it left the cluster.
func (c *testCluster) remove(id string) {
	c.t.Helper()
	c.stop(id)
	delete(c.nodes, id)
}

// createUser creates a user named name through base and returns its id.
// A 503 (an election, which a loaded machine may bring about) is retried
// as the README tells clients to: by the unique username, so that a create
// that was committed before its answer was lost is found, not made twice.
func createUser(t testing.TB, base, tok, name string) (string, error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	retried := false
	for {
		status, body := do(t, "POST", base+"/api/users", tok, fmt.Sprintf(`{"username":%q}`, name))
		var u struct{ ID string }
		switch {
		case status == 200 && json.Unmarshal([]byte(body), &u) == nil:
			return u.ID, nil
		case status == http.StatusServiceUnavailable && time.Now().Before(deadline):
			retried = true
			time.Sleep(200 * time.Millisecond)
			continue
		case status == http.StatusUnprocessableEntity && retried && strings.Contains(body, "user.username_already_in_use"):
			status, body = do(t, "GET", base+"/api/users?search.username="+name+"&mode.username=exact", tok, "")
			var found []struct{ ID string }
			if status == 200 && json.Unmarshal([]byte(body), &found) == nil && len(found) == 1 {
				return found[0].ID, nil
			}
		}
		return "", fmt.Errorf("create user %s: %d %s", name, status, body)
	}
}

// createUsers creates n users with 8 writers through base and returns
// their ids.
func createUsers(t testing.TB, base, tok, prefix string, n int) []string {
	t.Helper()
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				id, err := createUser(t, base, tok, fmt.Sprintf("%s%d", prefix, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return ids
}

// checkUsers checks that node id serves every user of users.
func (c *testCluster) checkUsers(id, tok string, users []string) {
	c.t.Helper()
	missing := 0
	for _, uid := range users {
		status, body := do(c.t, "GET", c.nodes[id].url+"/api/users/"+uid, tok, "")
		// During an election (a membership change may cause one on a
		// loaded machine) a read is 503 with Retry-After: retry as a
		// client does.
		for deadline := time.Now().Add(10 * time.Second); status == http.StatusServiceUnavailable && time.Now().Before(deadline); {
			time.Sleep(200 * time.Millisecond)
			status, body = do(c.t, "GET", c.nodes[id].url+"/api/users/"+uid, tok, "")
		}
		switch status {
		case 200:
		case 404:
			missing++
		default:
			c.t.Fatalf("GET user on %s: %d %s", id, status, body)
		}
	}
	if missing > 0 {
		c.t.Errorf("node %s misses %d of %d users", id, missing, len(users))
	}
}

// checkSameContent stops every node and checks that their replicated
// content is equal.
func (c *testCluster) checkSameContent() {
	c.t.Helper()
	sums := c.checksums()
	var first string
	for id, sum := range sums {
		if first == "" {
			first = id
		} else if sum != sums[first] {
			c.t.Errorf("node %s's content differs from %s's", id, first)

		}
	}
}

// members returns the ids GET /system/cluster lists on node id.
func (c *testCluster) members(id string) []string {
	c.t.Helper()
	st, err := c.status(id)
	if err != nil {
		c.t.Fatal(err)
	}
	var ids []string
	for _, n := range st.Nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestCluster_AddNodeFromSnapshotAndRemoveOne(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, snapshotFlags...)
	leader := c.leader(ids, 10*time.Second)
	var follower string
	for _, id := range ids {
		if id != leader {
			follower = id
			break
		}
	}
	tok := token(t, c.nodes[leader].url, testClientID, testSecret)
	// Once the leader snapshots past the 64 entries it keeps, its log no
	// longer starts at the first entry: a new node can only catch up from
	// a snapshot.
	users, snap := c.writeUntilSnapshot(follower, leader, tok, "before", 64+2)

	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []string{`{"id":"n9"}`, `{"raftAddr":"127.0.0.1:1"}`, `{"id":"","raftAddr":"127.0.0.1:1"}`, `not json`,
			`{"id":"-n9","raftAddr":"127.0.0.1:1"}`, `{"id":"ca","raftAddr":"127.0.0.1:1"}`, `{"id":"n9","raftAddr":"127.0.0.1"}`, `{"id":"n9","raftAddr":":7000"}`} {
			if status, resp := c.system(follower, "POST", "/system/cluster/nodes", body); status != http.StatusBadRequest {
				t.Errorf("POST %s: %d %s, want 400", body, status, resp)
			}
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, id := range []string{leader, follower} {
			if status, resp := c.system(id, "DELETE", "/system/cluster/nodes/nope", ""); status != http.StatusNotFound {
				t.Errorf("DELETE unknown node through %s: %d %s, want 404", id, status, resp)
			}
		}
	})

	// A fourth node, not among --peers: it does not bootstrap and waits
	// until it is added, through a follower (which forwards).
	n4 := c.newNode("n4")
	c.start("n4", c.peers)
	if status, body := c.system(follower, "POST", "/system/cluster/nodes", fmt.Sprintf(`{"id":"n4","raftAddr":%q}`, n4.raftAddr)); status != 200 {
		t.Fatalf("add n4: %d %s", status, body)
	}
	c.waitReady("n4", 30*time.Second)
	c.waitSameApplied(30 * time.Second)
	if got := c.snapshotIndex("n4"); got < snap {
		t.Errorf("n4's newest snapshot is at %d, want the leader's (%d) or later: it did not catch up from one", got, snap)
	}
	if got := c.members("n4"); len(got) != 4 {
		t.Errorf("GET /system/cluster on n4 lists %v, want 4 nodes", got)
	}
	c.checkUsers("n4", tok, users)
	if _, err := tryToken(c.nodes["n4"].url, "https://default.logto.app/api"); err != nil {
		t.Errorf("n4 issues no token: %v", err)
	}
	// Writes through the new node reach everyone.
	users = append(users, createUsers(t, c.nodes["n4"].url, tok, "n4_", 16)...)

	// Remove a node that is not the leader, through the leader, and the
	// three left go on.
	var removed string
	for _, id := range ids {
		if id != leader && id != follower {
			removed = id
		}
	}
	if status, body := c.system(leader, "DELETE", "/system/cluster/nodes/"+removed, ""); status != http.StatusNoContent {
		t.Fatalf("remove %s: %d %s", removed, status, body)
	}
	c.remove(removed)
	for _, id := range []string{leader, follower, "n4"} {
		got := c.members(id)
		if len(got) != 3 || strings.Contains(strings.Join(got, ","), removed) {
			t.Errorf("GET /system/cluster on %s lists %v after %s left", id, got, removed)
		}
		users = append(users, createUsers(t, c.nodes[id].url, tok, "after_"+id+"_", 8)...)
	}
	c.waitSameApplied(30 * time.Second)
	for id := range c.nodes {
		c.checkUsers(id, tok, users)
	}
	c.checkSameContent()
	t.Logf("n4 caught up from the snapshot at index %d; %s removed; %d users on each of the 3 left", snap, removed, len(users))
}

func TestCluster_FollowerCatchesUpFromSnapshotAfterCompaction(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, snapshotFlags...)
	leader := c.leader(ids, 10*time.Second)
	var down string
	for _, id := range ids {
		if id != leader {
			down = id
		}
	}
	tok := token(t, c.nodes[leader].url, testClientID, testSecret)
	users := createUsers(t, c.nodes[leader].url, tok, "first", 20)
	c.waitSameApplied(10 * time.Second)
	last := c.appliedIndex(down)
	c.kill(down)

	// While it is down the others write well past the 64 entries the log
	// keeps after a snapshot.
	more, snap := c.writeUntilSnapshot(leader, leader, tok, "while_down", last+64+2)
	users = append(users, more...)

	c.start(down, c.peers)
	c.waitReady(down, 30*time.Second)
	c.waitSameApplied(30 * time.Second)
	if got := c.snapshotIndex(down); got < snap {
		t.Errorf("%s's newest snapshot is at %d, want the leader's (%d) or later: it did not catch up from one", down, got, snap)
	}
	c.checkUsers(down, tok, users)
	// It follows the log again after the snapshot.
	after := createUsers(t, c.nodes[down].url, tok, "after", 16)
	c.waitSameApplied(10 * time.Second)
	c.checkUsers(down, tok, after)
	c.checkSameContent()
	t.Logf("%s was down at index %d and caught up from the snapshot at %d", down, last, snap)
}

func TestCluster_RestoreBackupIntoNewCluster(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	leader := c.leader(ids, 10*time.Second)
	var follower string
	for _, id := range ids {
		if id != leader {
			follower = id
		}
	}
	tok := token(t, c.nodes[leader].url, testClientID, testSecret)
	users := createUsers(t, c.nodes[follower].url, tok, "kept", 40)

	// A backup from a follower; then the old cluster is gone.
	sysTok, err := systemToken(context.Background(), c.nodes[follower].url, testClientID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", c.nodes[follower].url+"/system/backup", nil)
	req.Header.Set("Authorization", "Bearer "+sysTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	backup, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /system/backup: %d %v", resp.StatusCode, err)
	}
	for _, id := range ids {
		c.remove(id)
	}

	// One node on the backup, alone in its --peers: a new cluster with
	// the backup's content, led by it.
	r1 := c.newNode("r1")
	file := filepath.Join(c.dir, "backup.db")
	if err := os.WriteFile(file, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(c.bin, "restore", "--in", file, "--data", filepath.Join(c.dir, "r1.db")).CombinedOutput(); err != nil {
		t.Fatalf("idbolt restore: %v\n%s", err, out)
	}
	peers := "r1=" + r1.raftAddr
	c.start("r1", peers)
	c.waitReady("r1", 30*time.Second)
	if got := c.leader([]string{"r1"}, 10*time.Second); got != "r1" {
		t.Fatalf("leader %s, want r1", got)
	}
	c.checkUsers("r1", tok, users) // the old token verifies: same keys
	users = append(users, createUsers(t, c.nodes["r1"].url, tok, "restored", 8)...)

	// Two fresh nodes join and get the content.
	for _, id := range []string{"r2", "r3"} {
		p := c.newNode(id)
		c.start(id, peers)
		if status, body := c.system("r1", "POST", "/system/cluster/nodes", fmt.Sprintf(`{"id":%q,"raftAddr":%q}`, id, p.raftAddr)); status != 200 {
			t.Fatalf("add %s: %d %s", id, status, body)
		}
		c.waitReady(id, 30*time.Second)
	}
	c.waitSameApplied(30 * time.Second)
	if got := c.members("r3"); len(got) != 3 {
		t.Errorf("GET /system/cluster on r3 lists %v, want 3 nodes", got)
	}
	for _, id := range []string{"r2", "r3"} {
		c.checkUsers(id, tok, users)
	}
	users = append(users, createUsers(t, c.nodes["r3"].url, tok, "new_cluster", 8)...)
	c.waitSameApplied(10 * time.Second)
	c.checkUsers("r2", tok, users)
	c.checkSameContent()
}

// TestCluster_RemoveLeader removes the leader itself, through a follower:
// it hands over, and the two left elect a leader and go on writing.
func TestCluster_RemoveLeader(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	leader := c.leader(ids, 10*time.Second)
	var rest []string
	for _, id := range ids {
		if id != leader {
			rest = append(rest, id)
		}
	}
	tok := token(t, c.nodes[rest[0]].url, testClientID, testSecret)
	users := createUsers(t, c.nodes[rest[0]].url, tok, "before", 16)
	// Through a follower, the hand-over may outrun the leader's answer: 503
	// cluster.leader_unreachable says to retry, and a retry's 404 that the
	// leader has left (README).
	for deadline := time.Now().Add(10 * time.Second); ; {
		status, body := c.system(rest[0], "DELETE", "/system/cluster/nodes/"+leader, "")
		if status == http.StatusNoContent || status == http.StatusNotFound && strings.Contains(body, "cluster.node_not_found") {
			break
		}
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "cluster.leader_unreachable") || time.Now().After(deadline) {
			t.Fatalf("remove the leader %s: %d %s", leader, status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.remove(leader)
	next := c.leader(rest, 10*time.Second)
	for _, id := range rest {
		c.waitReady(id, 10*time.Second)
		if got := c.members(id); len(got) != 2 || strings.Contains(strings.Join(got, ","), leader) {
			t.Errorf("GET /system/cluster on %s lists %v after the leader %s left", id, got, leader)
		}
		users = append(users, createUsers(t, c.nodes[id].url, tok, "after_"+id+"_", 8)...)
	}
	c.waitSameApplied(10 * time.Second)
	for _, id := range rest {
		c.checkUsers(id, tok, users)
	}
	c.checkSameContent()
	t.Logf("leader %s removed; %s leads the 2 left", leader, next)
}
