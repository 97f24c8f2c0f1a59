package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCluster_TrustedProxyAddressReachesLeader runs three nodes that trust
// 127.0.0.1 as a reverse proxy, and creates users through a follower: the
// follower forwards the write with the client's address from
// X-Forwarded-For, and the leader's audit log records it. An
// Idbolt-Client-Addr header sent by a client, to a follower or to the
// leader, is not believed: only a node can set it, on the cluster port.
func TestCluster_TrustedProxyAddressReachesLeader(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids, "--trusted-proxies", "127.0.0.1")
	leader := c.leader(ids, 10*time.Second)
	follower := ids[0]
	if follower == leader {
		follower = ids[1]
	}
	tok := token(t, c.nodes[leader].url, testClientID, testSecret)
	create := func(node, username string, headers map[string]string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", c.nodes[node].url+"/api/users", strings.NewReader(fmt.Sprintf(`{"username":%q}`, username)))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var u struct{ ID string }
		if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &u) != nil {
			t.Fatalf("create %s on %s: %d %s", username, node, resp.StatusCode, body)
		}
		return u.ID
	}
	auditIP := func(userID string) string {
		t.Helper()
		var entries []struct {
			Payload struct {
				IP string `json:"ip"`
			} `json:"payload"`
		}
		status, body := do(t, "GET", c.nodes[leader].url+"/api/logs?logKey=Management.User.Create&userId="+userID, tok, "")
		if status != http.StatusOK || json.Unmarshal([]byte(body), &entries) != nil || len(entries) != 1 {
			t.Fatalf("audit of user %s: %d %s", userID, status, body)
		}
		return entries[0].Payload.IP
	}

	tests := []struct {
		name, node string
		headers    map[string]string
		wantIP     string
	}{
		{"forwarded by a follower", follower, map[string]string{"X-Forwarded-For": "198.51.100.1, 203.0.113.77"}, "203.0.113.77"},
		{"Forwarded by a follower", follower, map[string]string{"Forwarded": `for="[2001:db8::77]:443"`}, "2001:db8::77"},
		{"client's Idbolt-Client-Addr at a follower", follower, map[string]string{"Idbolt-Client-Addr": "198.51.100.66:1"}, "127.0.0.1"},
		{"client's Idbolt-Client-Addr at the leader", leader, map[string]string{"Idbolt-Client-Addr": "198.51.100.66:1"}, "127.0.0.1"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := create(tt.node, fmt.Sprintf("proxied_%d", i), tt.headers)
			if got := auditIP(id); got != tt.wantIP {
				t.Errorf("audit ip %q, want %q", got, tt.wantIP)
			}
		})
	}
}
