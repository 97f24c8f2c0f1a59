package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// crossOrigin sends method url with an Origin and a bearer token, as a page
// of origin does, and returns the status and the Access-Control-Allow-Origin
// values of the answer.
func crossOrigin(t *testing.T, method, url, origin, tok, body string) (int, []string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Values("Access-Control-Allow-Origin")
}

// TestClusterCORS_OriginsReachEveryNode: a tenant's origins set through a
// follower (which forwards the write) are allowed by every node once
// replicated, without any node being told but through the log; a forwarded
// request's answer carries one Access-Control-Allow-Origin, the receiving
// node's.
func TestClusterCORS_OriginsReachEveryNode(t *testing.T) {
	const ops, admin = "https://ops.example", "https://admin.example"
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, "--cors-origins", ops)
	leader := c.leader(ids, 10*time.Second)
	follower := ids[0]
	if follower == leader {
		follower = ids[1]
	}
	sys, err := c.systemToken(leader)
	if err != nil {
		t.Fatal(err)
	}
	// Every node reads (and caches) the tenant's origins: none yet.
	for _, id := range ids {
		if got := preflight(t, c.nodes[id].url+"/api/users", admin, "GET"); got != "" {
			t.Fatalf("%s before the PATCH: Access-Control-Allow-Origin %q", id, got)
		}
	}
	st, acao := crossOrigin(t, "PATCH", c.nodes[follower].url+"/system/tenants/default", ops, sys, `{"corsAllowedOrigins":["`+admin+`"]}`)
	if st != http.StatusOK || len(acao) != 1 || acao[0] != ops {
		t.Fatalf("PATCH through follower %s: %d, Access-Control-Allow-Origin %q, want one %q", follower, st, acao, ops)
	}
	for _, id := range ids {
		start := time.Now()
		for {
			got := preflight(t, c.nodes[id].url+"/api/users", admin, "GET")
			if got == admin {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s still refuses %s 10 s after the PATCH (%q)", id, admin, got)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s allows %s after %s", id, admin, time.Since(start))
	}
	tok, err := tryToken(c.nodes[leader].url, "https://default.logto.app/api")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if st, acao := crossOrigin(t, "GET", c.nodes[id].url+"/api/users", admin, tok, ""); st != 200 || len(acao) != 1 || acao[0] != admin {
			t.Errorf("GET /api/users on %s: %d, Access-Control-Allow-Origin %q", id, st, acao)
		}
	}
	// A write through a follower: forwarded, answered with one header.
	st, acao = crossOrigin(t, "POST", c.nodes[follower].url+"/api/users", admin, tok, `{"username":"browser"}`)
	if st != http.StatusOK || len(acao) != 1 || acao[0] != admin {
		t.Errorf("POST /api/users through follower %s: %d, Access-Control-Allow-Origin %q, want one %q", follower, st, acao, admin)
	}
}
