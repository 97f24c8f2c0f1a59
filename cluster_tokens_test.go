package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store"
)

// The token and authorization guarantees of cluster mode (issue 14), each
// on real processes: one JWKS, a disable seen everywhere at once, tokens
// through a change of leader and refused once cut off, and an assertion's
// jti used once in the whole cluster, even across a kill -9 of the leader.

// followers returns the ids of c's nodes other than leader, in order.
func (c *testCluster) followers(leader string) []string {
	var out []string
	for id := range c.nodes {
		if id != leader {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// signal sends sig to node id's process.
func (c *testCluster) signal(id string, sig syscall.Signal) {
	c.t.Helper()
	if err := c.nodes[id].cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal %v to %s: %v", sig, id, err)
	}
}

// tokenStatus asks base for a Management API token of client id and returns
// the status and body.
func tokenStatus(base, id, secret string) (int, string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}
	req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// createAdminAPIClient creates, through base, API client id with a role
// holding the Management API's scope all, and returns its secret.
func createAdminAPIClient(t *testing.T, base, admin, id string) string {
	t.Helper()
	st, body := do(t, "GET", base+"/api/resources/"+store.ManagementResourceID+"/scopes", admin, "")
	var scopes []struct{ ID, Name string }
	if st != 200 || json.Unmarshal([]byte(body), &scopes) != nil || len(scopes) != 1 || scopes[0].Name != "all" {
		t.Fatalf("management scopes: %d %s", st, body)
	}
	st, body = do(t, "POST", base+"/api/roles", admin,
		fmt.Sprintf(`{"name":"%s-admin","description":"admin","type":"MachineToMachine","scopeIds":[%q]}`, id, scopes[0].ID))
	var role struct{ ID string }
	if st != 200 || json.Unmarshal([]byte(body), &role) != nil || role.ID == "" {
		t.Fatalf("create role: %d %s", st, body)
	}
	st, body = do(t, "POST", base+"/api/api-clients", admin, fmt.Sprintf(`{"clientId":%q,"roleIds":[%q]}`, id, role.ID))
	var created struct {
		ClientSecret string `json:"clientSecret"`
	}
	if st != http.StatusCreated || json.Unmarshal([]byte(body), &created) != nil || created.ClientSecret == "" {
		t.Fatalf("create API client: %d %s", st, body)
	}
	return created.ClientSecret
}

// waitToken gets a Management API token of client id from base, retrying
// for a moment: a node that did not acknowledge the client's creation
// applies it a few milliseconds later.
func waitToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	var last string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		st, body, err := tokenStatus(base, id, secret)
		if err == nil && st == 200 {
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal([]byte(body), &tr) == nil && tr.AccessToken != "" {
				return tr.AccessToken
			}
		}
		last = fmt.Sprintf("%d %s %v", st, body, err)
	}
	t.Fatalf("no token for %s from %s: %s", id, base, last)
	return ""
}

// TestClusterTokens_OneJWKS: a token issued by any node is accepted by the
// Management API of every node, and every node publishes the same keys.
func TestClusterTokens_OneJWKS(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	c.leader(ids, 10*time.Second)
	var jwks string
	for _, id := range ids {
		resp, err := http.Get(c.nodes[id].url + "/oidc/jwks")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var set struct{ Keys []map[string]any }
		if resp.StatusCode != 200 || json.Unmarshal(body, &set) != nil || len(set.Keys) == 0 {
			t.Fatalf("%s /oidc/jwks: %d %s", id, resp.StatusCode, body)
		}
		if jwks == "" {
			jwks = string(body)
		} else if string(body) != jwks {
			t.Errorf("%s /oidc/jwks differs from %s's:\n%s\n%s", id, ids[0], body, jwks)
		}
	}
	for _, from := range ids {
		tok, err := tryToken(c.nodes[from].url, "https://default.logto.app/api")
		if err != nil {
			t.Fatalf("token from %s: %v", from, err)
		}
		for _, on := range ids {
			if st, body := do(t, "GET", c.nodes[on].url+"/api/users?page_size=1", tok, ""); st != 200 {
				t.Errorf("token from %s on %s: %d %s", from, on, st, body)
			}
		}
	}
}

// TestClusterTokens_DisableReachesEveryNode: an API client disabled through
// a follower gets no new token from any node, and the token it holds is
// refused by every node, at once after the disable is acknowledged. The
// bound asserted is generous (timings belong in benchmarks); the delays are
// logged.
func TestClusterTokens_DisableReachesEveryNode(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	leader := c.leader(ids, 10*time.Second)
	via := c.followers(leader)[0]
	admin := token(t, c.nodes[via].url, testClientID, testSecret)
	secret := createAdminAPIClient(t, c.nodes[via].url, admin, "bot")
	held := map[string]string{}
	for _, id := range ids {
		held[id] = waitToken(t, c.nodes[id].url, "bot", secret)
		if st, body := do(t, "GET", c.nodes[id].url+"/api/users?page_size=1", held[id], ""); st != 200 {
			t.Fatalf("bot's token on %s before the disable: %d %s", id, st, body)
		}
	}

	if st, body := do(t, "POST", c.nodes[via].url+"/api/api-clients/bot/disable", admin, ""); st != 200 {
		t.Fatalf("disable through follower %s: %d %s", via, st, body)
	}
	acked := time.Now()
	const bound = 5 * time.Second
	type delay struct {
		node, what string
		d          time.Duration
		tries      int
		err        string
	}
	var mu sync.Mutex
	var delays []delay
	var wg sync.WaitGroup
	for _, id := range ids {
		base := c.nodes[id].url
		// A new token for the client, from this node.
		wg.Go(func() {
			d := delay{node: id, what: "new token"}
			for {
				d.tries++
				st, body, err := tokenStatus(base, "bot", secret)
				if err == nil && st == http.StatusUnauthorized && strings.Contains(body, "invalid_client") {
					break
				}
				if time.Since(acked) > bound {
					d.err = fmt.Sprintf("still %d %s %v", st, body, err)
					break
				}
				time.Sleep(time.Millisecond)
			}
			d.d = time.Since(acked)
			mu.Lock()
			delays = append(delays, d)
			mu.Unlock()
		})
		// Each token the client got before, from any node, used here.
		for from, tok := range held {
			wg.Go(func() {
				d := delay{node: id, what: "token of " + from}
				for {
					d.tries++
					st, body := do(t, "GET", base+"/api/users?page_size=1", tok, "")
					if st == http.StatusUnauthorized {
						break
					}
					if time.Since(acked) > bound {
						d.err = fmt.Sprintf("still %d %s", st, body)
						break
					}
					time.Sleep(time.Millisecond)
				}
				d.d = time.Since(acked)
				mu.Lock()
				delays = append(delays, d)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	slices.SortFunc(delays, func(a, b delay) int { return strings.Compare(a.node+a.what, b.node+b.what) })
	for _, d := range delays {
		if d.err != "" {
			t.Errorf("%s, %s: not refused %s after the disable through %s: %s", d.node, d.what, bound, via, d.err)
		} else {
			t.Logf("%s (leader %s), %s: refused at request %d, %v after the disable through %s was acknowledged",
				d.node, leader, d.what, d.tries, d.d.Round(100*time.Microsecond), via)
		}
	}
}

// TestClusterTokens_FollowerIssuesThroughElectionAndStopsWhenCutOff: a
// follower issues every client_credentials token asked of it while the
// leader is killed and another elected (issuing is local); cut off from
// both other nodes (SIGSTOP) it keeps issuing until the contact bound and
// then answers 503; back in touch (SIGCONT) it issues again.
func TestClusterTokens_FollowerIssuesThroughElectionAndStopsWhenCutOff(t *testing.T) {
	const contactBound = 2 * time.Second
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, "--cluster-contact-bound", contactBound.String())
	first := c.leader(ids, 10*time.Second)
	follower := c.followers(first)[0]
	base := c.nodes[follower].url

	stop := make(chan struct{})
	var issued, failed int
	var failures []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			st, body, err := tokenStatus(base, testClientID, testSecret)
			if err == nil && st == 200 {
				issued++
			} else {
				failed++
				if len(failures) < 5 {
					failures = append(failures, fmt.Sprintf("%s: %d %s %v", time.Now().Format("15:04:05.000"), st, body, err))
				}
			}
		}
	}()
	time.Sleep(time.Second)
	c.kill(first)
	killed := time.Now()
	next := c.leader(c.followers(first), 10*time.Second)
	t.Logf("%s leads %v after kill -9 of %s", next, time.Since(killed).Round(10*time.Millisecond), first)
	time.Sleep(time.Second)
	close(stop)
	<-done
	t.Logf("follower %s through the election: %d tokens issued, %d refused", follower, issued, failed)
	if failed > 0 || issued < 10 {
		t.Fatalf("follower %s refused %d token requests while the leader changed (issued %d): %v", follower, failed, issued, failures)
	}

	// Back to three nodes, then the follower is cut off from both others.
	c.start(first, c.peers)
	c.waitReady(first, 30*time.Second)
	role := "a follower"
	if c.leader(ids, 10*time.Second) == follower {
		role = "the leader" // it was elected: it steps down once cut off
	}
	others := c.followers(follower)
	for _, id := range others {
		c.signal(id, syscall.SIGSTOP)
	}
	stopped := time.Now()
	var refusedAfter time.Duration
	for {
		st, body, err := tokenStatus(base, testClientID, testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if st == http.StatusServiceUnavailable {
			refusedAfter = time.Since(stopped)
			break
		}
		if st != 200 {
			t.Fatalf("cut-off follower: %d %s", st, body)
		}
		if time.Since(stopped) > contactBound+5*time.Second {
			t.Fatalf("%s, %s, still issues tokens %v after it was cut off (contact bound %s)", follower, role, time.Since(stopped), contactBound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%s, %s, cut off: issued tokens for %v, then 503 (contact bound %s)", follower, role, refusedAfter.Round(10*time.Millisecond), contactBound)
	if refusedAfter < contactBound/2 {
		t.Errorf("follower %s refused tokens %v after it was cut off, well before the contact bound %s", follower, refusedAfter, contactBound)
	}

	for _, id := range others {
		c.signal(id, syscall.SIGCONT)
	}
	resumed := time.Now()
	for {
		st, _, err := tokenStatus(base, testClientID, testSecret)
		if err == nil && st == 200 {
			break
		}
		if time.Since(resumed) > 15*time.Second {
			t.Fatalf("follower %s does not issue tokens again after SIGCONT: %d %v", follower, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("follower %s issues again %v after SIGCONT", follower, time.Since(resumed).Round(10*time.Millisecond))
}

// metricsListening finds the --metrics-addr listener's address in a log.
var metricsListening = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// TestClusterTokens_JTIOnceInCluster: an assertion with a jti gets exactly
// one token from the whole cluster, sent to two nodes at once or one after
// the other; a kill -9 of the leader just after it issued tokens loses none
// of their jtis. A follower's /metrics shows the requests it forwarded and
// the raft metrics.
func TestClusterTokens_JTIOnceInCluster(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, "--metrics-addr", "127.0.0.1:0")
	leader := c.leader(ids, 10*time.Second)
	followers := c.followers(leader)
	admin := token(t, c.nodes[leader].url, testClientID, testSecret)
	key := newAssertionKey(t)
	uploadAssertionKey(t, c.nodes[leader].url, admin, "bot", key)
	c.waitSameApplied(10 * time.Second)

	// Concurrently, to two followers and to a follower and the leader.
	for round, pair := range [][2]string{{followers[0], followers[1]}, {followers[0], leader}} {
		a := signAssertion(t, key, fmt.Sprintf("concurrent-%d", round))
		var ok [2]bool
		var bodies [2]string
		var wg sync.WaitGroup
		for i, id := range pair {
			wg.Go(func() {
				st, body := bearerToken(t, c.nodes[id].url, a)
				ok[i], bodies[i] = st == 200, body
			})
		}
		wg.Wait()
		if ok[0] == ok[1] {
			t.Errorf("one assertion sent to %s and %s at once: tokens %v, want exactly one: %s | %s", pair[0], pair[1], ok, bodies[0], bodies[1])
		}
	}
	// One after the other, starting on each node.
	for _, first := range ids {
		a := signAssertion(t, key, "sequential-"+first)
		if st, body := bearerToken(t, c.nodes[first].url, a); st != 200 {
			t.Fatalf("first use on %s: %d %s", first, st, body)
		}
		for _, id := range ids {
			if st, body := bearerToken(t, c.nodes[id].url, a); st != http.StatusBadRequest || !strings.Contains(body, "jti was already used") {
				t.Errorf("replay on %s of an assertion used on %s: %d %s", id, first, st, body)
			}
		}
	}

	// The follower forwarded the grant: its metrics say so.
	m := metricsListening.FindStringSubmatch(c.nodes[followers[0]].log.String())
	if m == nil {
		t.Fatalf("no metrics listener in %s's log:\n%s", followers[0], c.nodes[followers[0]].log)
	}
	resp, err := http.Get("http://" + m[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`idbolt_cluster_forwarded_requests_total{outcome="ok"}`, "idbolt_raft_state 0",
		"idbolt_raft_applied_index ", "idbolt_raft_commit_duration_seconds_count "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("follower %s /metrics lacks %q", followers[0], want)
		}
	}

	// Tokens issued by the leader just before it is killed: their jtis were
	// committed before the tokens were handed out, so the next leader
	// refuses every replay.
	const n = 24
	assertions := make([]string, n)
	for i := range assertions {
		assertions[i] = signAssertion(t, key, fmt.Sprintf("crash-%d", i))
	}
	var wg sync.WaitGroup
	var got [n]int
	for i, a := range assertions {
		wg.Go(func() { got[i], _ = bearerToken(t, c.nodes[leader].url, a) })
	}
	wg.Wait()
	c.kill(leader)
	issued := 0
	for _, st := range got {
		if st == 200 {
			issued++
		}
	}
	if issued == 0 {
		t.Fatalf("the leader issued no token: %v", got)
	}
	next := c.leader(followers, 10*time.Second)
	for _, id := range followers {
		c.waitReady(id, 10*time.Second)
	}
	replayed := 0
	for i, a := range assertions {
		for _, id := range followers {
			st, body := bearerToken(t, c.nodes[id].url, a)
			switch {
			case st == 200 && got[i] == 200:
				replayed++
				t.Errorf("assertion %d, used on the killed leader, got another token from %s (leader %s)", i, id, next)
			case st != 200 && (st != http.StatusBadRequest || !strings.Contains(body, "jti was already used")):
				t.Errorf("assertion %d on %s: %d %s", i, id, st, body)
			}
		}
	}
	t.Logf("%d tokens issued by %s before its kill -9; %d replays accepted by %v", issued, leader, replayed, followers)
}
