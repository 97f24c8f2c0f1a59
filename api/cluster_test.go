package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

var _ api.Cluster = (*fakeCluster)(nil)

// fakeCluster is a node that is or is not the leader, and records what the
// API asked of it.
type fakeCluster struct {
	mu        sync.Mutex
	leader    bool
	cutOff    bool
	forwarded []string
	barriers  int
}

func (c *fakeCluster) Leader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader
}

func (c *fakeCluster) Forward(w http.ResponseWriter, r *http.Request) error {
	c.mu.Lock()
	c.forwarded = append(c.forwarded, r.Method+" "+r.URL.Path)
	c.mu.Unlock()
	w.WriteHeader(http.StatusTeapot) // the leader's answer, as the proxy writes it
	return nil
}

func (c *fakeCluster) ReadBarrier(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.barriers++
	return nil
}

func (c *fakeCluster) CanIssueTokens() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cutOff {
		return &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.no_leader", Message: "cut off"}
	}
	return nil
}

func (c *fakeCluster) Ready() bool { return !c.cutOff }

func (c *fakeCluster) Status(context.Context) (cluster.Status, error) {
	return cluster.Status{Leader: "n1", Nodes: []cluster.NodeStatus{{ID: "n1", State: "leader"}}}, nil
}

func (c *fakeCluster) AddVoter(context.Context, string, string) error { return nil }
func (c *fakeCluster) RemoveServer(context.Context, string) error     { return nil }

func (c *fakeCluster) set(leader, cutOff bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leader, c.cutOff = leader, cutOff
	c.forwarded, c.barriers = nil, 0
}

// TestClusterGate: what a node asks of cluster mode before it serves a
// request, as leader and as follower.
func TestClusterGate(t *testing.T) {
	fc := &fakeCluster{leader: true}
	srv := apitest.Start(t, apitest.Options{Cluster: fc})
	tok := srv.ManagementToken(t, "default")
	sysTok := srv.SystemToken(t)

	// As leader: writes are served here; reads wait on the read index.
	fc.set(true, false)
	if r := call(t, "POST", srv.URL+"/api/users", tok, []byte(`{"username":"ann"}`)); r.Status != http.StatusOK || len(fc.forwarded) != 0 {
		t.Fatalf("leader write: %d, forwarded %v", r.Status, fc.forwarded)
	}
	if r := call(t, "GET", srv.URL+"/api/users", tok, nil); r.Status != http.StatusOK || fc.barriers != 1 {
		t.Fatalf("leader read: %d after %d read barriers, want 1", r.Status, fc.barriers)
	}
	// Public reads need no read index.
	fc.set(true, false)
	if r := call(t, "GET", srv.URL+"/oidc/jwks", "", nil); r.Status != http.StatusOK || fc.barriers != 0 {
		t.Fatalf("JWKS: %d after %d read barriers, want none", r.Status, fc.barriers)
	}

	// As follower: writes go to the leader, before authentication.
	fc.set(false, false)
	for _, req := range []struct{ method, path string }{
		{"POST", "/api/users"}, {"PATCH", "/api/users/x"}, {"DELETE", "/api/users/x"}, {"POST", "/system/tenants"},
	} {
		if r := call(t, req.method, srv.URL+req.path, "not a token", []byte(`{}`)); r.Status != http.StatusTeapot {
			t.Errorf("%s %s on a follower: %d, want the leader's answer", req.method, req.path, r.Status)
		}
	}
	if len(fc.forwarded) != 4 {
		t.Fatalf("forwarded %v, want the 4 writes", fc.forwarded)
	}
	// Client credentials are issued here; a JWT bearer request goes to the
	// leader, whose jti set is the cluster's.
	fc.set(false, false)
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {store.ManagementIndicator("default")}, "scope": {"all"}}
	if r := tokenCall(t, srv, form); r.Status != http.StatusOK || len(fc.forwarded) != 0 {
		t.Fatalf("client_credentials on a follower: %d, forwarded %v", r.Status, fc.forwarded)
	}
	bearer := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"x.y.z"}}
	if r := tokenCall(t, srv, bearer); r.Status != http.StatusTeapot || len(fc.forwarded) != 1 {
		t.Fatalf("JWT bearer on a follower: %d, forwarded %v", r.Status, fc.forwarded)
	}
	// A body larger than the token endpoint accepts is not read into
	// memory to be forwarded: the endpoint refuses it here.
	fc.set(false, false)
	huge := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {strings.Repeat("a", auth.MaxTokenRequest)}}
	if r := tokenCall(t, srv, huge); r.Status != http.StatusBadRequest || len(fc.forwarded) != 0 {
		t.Fatalf("oversized token request on a follower: %d, forwarded %v", r.Status, fc.forwarded)
	}
	// Cut off from the leader: no tokens, and not ready.
	fc.set(false, true)
	if r := tokenCall(t, srv, form); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("token on a cut-off node: %d %s, want 503", r.Status, r.Body)
	}
	if r := call(t, "GET", srv.URL+"/api/status/ready", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("ready on a cut-off node: %d, want 503", r.Status)
	}
	// Only the leader answers 204 at /api/status/leader.
	for _, c := range []struct {
		leader, cutOff bool
		want           int
	}{{true, false, http.StatusNoContent}, {false, false, http.StatusServiceUnavailable}, {true, true, http.StatusServiceUnavailable}} {
		fc.set(c.leader, c.cutOff)
		if r := call(t, "GET", srv.URL+"/api/status/leader", "", nil); r.Status != c.want {
			t.Errorf("leader check (leader %v, cut off %v): %d, want %d", c.leader, c.cutOff, r.Status, c.want)
		}
	}
	// GET /system/cluster shows the cluster.
	fc.set(true, false)
	if r := call(t, "GET", srv.URL+"/system/cluster", sysTok, nil); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"leader":"n1"`) {
		t.Fatalf("GET /system/cluster: %d %s", r.Status, r.Body)
	}
}

// TestCluster_NotEnabled: the cluster routes of a single server answer
// 404; it always leads.
func TestCluster_NotEnabled(t *testing.T) {
	srv := apitest.Start(t, apitest.Options{})
	sysTok := srv.SystemToken(t)
	if r := call(t, "GET", srv.URL+"/api/status/leader", "", nil); r.Status != http.StatusNoContent {
		t.Errorf("leader check of a single server: %d, want 204", r.Status)
	}
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/system/cluster", ""}, {"POST", "/system/cluster/nodes", `{"id":"n4","raftAddr":"127.0.0.1:1"}`}, {"DELETE", "/system/cluster/nodes/n2", ""},
	} {
		r := call(t, req.method, srv.URL+req.path, sysTok, []byte(req.body))
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "cluster.not_enabled") {
			t.Errorf("%s %s: %d %s, want 404 cluster.not_enabled", req.method, req.path, r.Status, r.Body)
		}
	}
}

// tokenCall posts form to the token endpoint with the admin application's
// credentials.
func tokenCall(t *testing.T, srv *apitest.Server, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv.ClientID, srv.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	checkResponse(t, req, resp.StatusCode, resp.Header, body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// followerStandIn is a cluster node that follows a reachable leader: it
// may issue tokens, and records what it forwards instead of forwarding it.
type followerStandIn struct {
	forwarded []string // bodies of forwarded requests
	cutOff    bool     // no leader: no read index
}

func (f *followerStandIn) Leader() bool { return false }
func (f *followerStandIn) Forward(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	f.forwarded = append(f.forwarded, string(body))
	w.WriteHeader(http.StatusTeapot)
	return nil
}
func (f *followerStandIn) ReadBarrier(context.Context) error {
	if f.cutOff {
		return &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.no_leader", Message: "No leader."}
	}
	return nil
}
func (f *followerStandIn) CanIssueTokens() error { return nil }
func (f *followerStandIn) Ready() bool           { return true }
func (f *followerStandIn) Status(context.Context) (cluster.Status, error) {
	return cluster.Status{Nodes: []cluster.NodeStatus{{ID: "n1", State: "candidate"}}}, nil
}
func (f *followerStandIn) AddVoter(context.Context, string, string) error {
	return errors.New("not a real node")
}
func (f *followerStandIn) RemoveServer(context.Context, string) error {
	return errors.New("not a real node")
}

// endlessBody is a request body of size bytes that counts what was read.
type endlessBody struct{ read, size int64 }

func (b *endlessBody) Read(p []byte) (int, error) {
	if b.read >= b.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), b.size-b.read))
	for i := range n {
		p[i] = 'a'
	}
	b.read += int64(n)
	return n, nil
}

// A follower looks into a token request's body to send JWT bearer grants
// to the leader; anyone may send one, so it must read no more of it than
// the token endpoint accepts.
func TestCluster_FollowerTokenRequestBodyBounded(t *testing.T) {
	f := &followerStandIn{}
	srv := apitest.Start(t, apitest.Options{Cluster: f})

	t.Run("ErrTooLarge", func(t *testing.T) {
		body := &endlessBody{size: 64 << 20}
		req := httptest.NewRequest("POST", "/oidc/token", body)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, req)
		if got, want := rec.Code, http.StatusBadRequest; got != want {
			t.Fatalf("status %d, want %d: %s", got, want, rec.Body)
		}
		if body.read > 1<<20 {
			t.Fatalf("the follower read %d bytes of a 64 MiB token request; want at most the endpoint's 64 KiB and a buffer", body.read)
		}
		if len(f.forwarded) != 0 {
			t.Fatalf("forwarded %d requests", len(f.forwarded))
		}
	})

	t.Run("OKJWTBearerForwardedWhole", func(t *testing.T) {
		form := "grant_type=" + strings.ReplaceAll("urn:ietf:params:oauth:grant-type:jwt-bearer", ":", "%3A") + "&assertion=x.y.z"
		req := httptest.NewRequest("POST", "/oidc/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, req)
		if got, want := rec.Code, http.StatusTeapot; got != want {
			t.Fatalf("status %d, want the stand-in leader's %d: %s", got, want, rec.Body)
		}
		if len(f.forwarded) != 1 || f.forwarded[0] != form {
			t.Fatalf("forwarded %q, want the whole body %q", f.forwarded, form)
		}
	})
}

// A node with no leader cannot get a read index, so its reads are 503; its
// own view of the cluster stays readable, since that is when an operator
// needs it.
func TestCluster_StatusWithoutLeader(t *testing.T) {
	f := &followerStandIn{}
	srv := apitest.Start(t, apitest.Options{Cluster: f})
	sys := srv.SystemToken(t)
	f.cutOff = true
	if got := call(t, "GET", srv.URL+"/system/tenants", sys, nil); got.Status != http.StatusServiceUnavailable {
		t.Fatalf("GET /system/tenants without a leader: %d %s, want 503", got.Status, got.Body)
	}
	got := call(t, "GET", srv.URL+"/system/cluster", sys, nil)
	if got.Status != http.StatusOK {
		t.Fatalf("GET /system/cluster without a leader: %d %s, want 200", got.Status, got.Body)
	}
	var st cluster.Status
	got.JSON(t, &st)
	if len(st.Nodes) != 1 || st.Nodes[0].State != "candidate" {
		t.Fatalf("status %+v, want the node's own view", st)
	}
}
