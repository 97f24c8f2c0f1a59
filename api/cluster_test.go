package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

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
