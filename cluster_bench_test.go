package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Cluster benchmarks compare three nodes on loopback with one node of the
// same binary without cluster flags, in the same run: rounds alternate
// between the two, so that the load other processes put on the machine
// falls on both alike. Each reports the rates as metrics and their ratio;
// run them with -benchtime 1x (one run is many rounds):
//
//	go test . -run '^$' -bench 'Cluster_' -benchtime 1x

const (
	benchRounds   = 6
	benchDuration = 2 * time.Second
)

// benchLoad runs workers clients for d, worker w sending its requests to
// bases[w%len(bases)] with send, and returns the rate of requests send
// counted as served and the number it did not.
func benchLoad(b *testing.B, bases []string, workers int, d time.Duration,
	send func(client *http.Client, base string, w, i int) (served bool, detail string)) (rate float64, failed int64) {
	b.Helper()
	var served, refused atomic.Int64
	var firstFailure sync.Once
	deadline := time.Now().Add(d)
	clients := map[string]*http.Client{}
	for _, base := range bases {
		clients[base] = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		base := bases[w%len(bases)]
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				ok, detail := send(clients[base], base, w, i)
				if ok {
					served.Add(1)
					continue
				}
				refused.Add(1)
				firstFailure.Do(func() { b.Logf("first failed request on %s: %s", base, detail) })
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	return float64(served.Load()) / elapsed.Seconds(), refused.Load()
}

// benchFlags let every benchmark client keep its connection open: they all
// come from loopback, one source address.
var benchFlags = []string{"--max-connections-per-ip", "1024"}

// benchSingle starts one node without cluster flags.
func benchSingle(b *testing.B, bin string) string {
	b.Helper()
	_, base, _ := startProcess(b, bin, filepath.Join(b.TempDir(), "single.db"), benchFlags...)
	return base
}

// benchCompare runs benchRounds rounds of load against single and against
// cluster, alternating which goes first, and reports the mean rates and the
// median over rounds of the cluster's rate as a percentage of the single
// node's in the same round (a round that another process slowed down
// moves the median little).
func benchCompare(b *testing.B, unit string, single, cluster []string, workers int,
	send func(client *http.Client, base string, w, i int) (bool, string)) {
	b.Helper()
	var singleTotal, clusterTotal float64
	var ratios []float64
	for round := range benchRounds {
		var rates [2]float64 // single, cluster
		runs := []struct {
			name  string
			bases []string
			total *float64
			rate  *float64
		}{{"single", single, &singleTotal, &rates[0]}, {"cluster", cluster, &clusterTotal, &rates[1]}}
		if round%2 == 1 {
			runs[0], runs[1] = runs[1], runs[0]
		}
		for _, r := range runs {
			rate, failed := benchLoad(b, r.bases, workers, benchDuration, send)
			if failed > 0 {
				b.Errorf("round %d, %s: %d requests failed", round, r.name, failed)
			}
			if rate == 0 {
				b.Fatalf("round %d, %s: nothing served", round, r.name)
			}
			b.Logf("round %d %-7s %8.1f %s", round, r.name, rate, unit)
			*r.total += rate
			*r.rate = rate
		}
		ratios = append(ratios, 100*rates[1]/rates[0])
	}
	b.ReportMetric(singleTotal/benchRounds, "single-"+unit)
	b.ReportMetric(clusterTotal/benchRounds, "cluster-"+unit)
	b.ReportMetric(median(ratios), "cluster-%")
}

// BenchmarkCluster_UserCreates compares POST /api/users from 64 clients
// spread over a three-node cluster (followers forward to the leader), as
// behind a load balancer that knows nothing of the cluster, with the same
// load on a single node. The goal is at least 50 %.
func BenchmarkCluster_UserCreates(b *testing.B) {
	benchClusterCreates(b, false)
}

// BenchmarkCluster_UserCreatesToLeader is BenchmarkCluster_UserCreates with
// every client sent to the node that answers 204 at /api/status/leader, as
// behind a load balancer that routes writes by it.
func BenchmarkCluster_UserCreatesToLeader(b *testing.B) {
	benchClusterCreates(b, true)
}

// benchClusterCreates runs the create benchmarks, with every client on
// the leader or spread over the nodes.
func benchClusterCreates(b *testing.B, toLeader bool) {
	bin := buildBinary(b)
	single := benchSingle(b, bin)
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(b, ids, benchFlags...)
	c.leader(ids, 10*time.Second)
	var nodes []string
	for _, id := range ids {
		resp, err := http.Get(c.nodes[id].url + "/api/status/leader")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if !toLeader || resp.StatusCode == http.StatusNoContent {
			nodes = append(nodes, c.nodes[id].url)
		}
	}
	if toLeader && len(nodes) != 1 {
		b.Fatalf("%d nodes answer 204 at /api/status/leader, want 1", len(nodes))
	}
	tokens := map[string]string{single: token(b, single, testClientID, testSecret)}
	for _, base := range nodes {
		tokens[base] = token(b, base, testClientID, testSecret)
	}
	var run atomic.Int64
	b.ResetTimer()
	for range b.N {
		benchCompare(b, "creates/s", []string{single}, nodes, 64, func(client *http.Client, base string, w, i int) (bool, string) {
			name := fmt.Sprintf("b%d_%d_%d", run.Add(1), w, i)
			req, _ := http.NewRequest("POST", base+"/api/users", strings.NewReader(`{"username":"`+name+`"}`))
			req.Header.Set("Authorization", "Bearer "+tokens[base])
			req.Header.Set("Content-Type", "application/json")
			return benchSend(client, req)
		})
	}
}

// BenchmarkCluster_TokensOnFollower compares client_credentials token
// requests from 16 clients on one follower of a three-node cluster with
// the same load on a single node. The goal is at least 90 %.
func BenchmarkCluster_TokensOnFollower(b *testing.B) {
	bin := buildBinary(b)
	single := benchSingle(b, bin)
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(b, ids, benchFlags...)
	leader := c.leader(ids, 10*time.Second)
	follower := ids[0]
	if follower == leader {
		follower = ids[1]
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}.Encode()
	b.ResetTimer()
	for range b.N {
		benchCompare(b, "tokens/s", []string{single}, []string{c.nodes[follower].url}, 16, func(client *http.Client, base string, _, _ int) (bool, string) {
			req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(testClientID, testSecret)
			return benchSend(client, req)
		})
	}
}

// benchSend sends req and reports whether it was answered 200.
func benchSend(client *http.Client, req *http.Request) (bool, string) {
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	return true, ""
}
