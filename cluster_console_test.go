package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCluster_ConsoleSignInThroughFollower: a console sign-in sent to a
// follower over plain HTTP, from the page that node served, is forwarded
// to the leader and answered as that node would answer it: accepted as
// same-origin, with a cookie a browser keeps over HTTP (not Secure). The
// leader receives it over the cluster's TLS, which says nothing of the
// client's hop.
func TestCluster_ConsoleSignInThroughFollower(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	leader := c.leader(ids, 10*time.Second)
	follower := ids[0]
	if follower == leader {
		follower = ids[1]
	}
	base := c.nodes[follower].url
	body := `{"clientId":"` + testClientID + `","clientSecret":"` + testSecret + `"}`
	req, _ := http.NewRequest("POST", base+"/console/session", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("console sign-in through follower %s: %d, want 201", follower, resp.StatusCode)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("console sign-in through a follower set no cookie")
	}
	for _, ck := range cookies {
		if ck.Secure {
			t.Errorf("cookie %s is Secure on a plain-HTTP sign-in through a follower: a browser would drop it", ck.Name)
		}
	}
}
