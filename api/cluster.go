package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// Cluster is what the API needs of cluster mode (store/cluster.Node); nil
// without it.
type Cluster interface {
	// Leader reports whether this node leads and may write.
	Leader() bool
	// Forward has the leader serve a request and writes its answer, or
	// returns an error having written nothing.
	Forward(w http.ResponseWriter, r *http.Request) error
	// ReadBarrier returns once this node has applied every write
	// acknowledged anywhere before the call.
	ReadBarrier(ctx context.Context) error
	// CanIssueTokens returns nil while this node may issue tokens.
	CanIssueTokens() error
	// Ready reports whether this node has a leader and has caught up.
	Ready() bool
	Status(ctx context.Context) (cluster.Status, error)
	AddVoter(ctx context.Context, id, raftAddr string) error
	RemoveServer(ctx context.Context, id string) error
}

// clusterGate does what cluster mode asks of a request before it is
// served here, and reports whether it is already answered:
//   - a write reaching a follower is forwarded to the leader, which
//     authenticates, limits and serves it (so nothing is counted twice);
//   - so is a JWT bearer token request, whose jti must be claimed once in
//     the whole cluster, and the exchange of a subject token, used once;
//   - another token request is served here while the node may issue
//     tokens (in touch with a leader);
//   - a read of the Management or system API waits until this node has
//     applied every write acknowledged before it (a read index), but for
//     GET /system/cluster, which shows this node's view of the cluster.
func (s *Server) clusterGate(w http.ResponseWriter, r *request, e *endpoint) bool {
	c := s.cluster
	if c == nil {
		return false
	}
	tokenEndpoint := isTokenEndpoint(e.path)
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	forward := !c.Leader() && !read && !tokenEndpoint
	if tokenEndpoint && !c.Leader() {
		writes, err := peekGrantType(r)
		if err != nil {
			s.writeError(w, r, err)
			return true
		}
		forward = writes
	}
	var err error
	switch {
	case forward && cluster.Forwarded(r.Context()):
		// It came from another node that took this one for the leader.
		err = &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.not_leader",
			Message: "The cluster's leader changed while the request was on its way; try again."}
	case forward:
		err = c.Forward(w, r.Request)
		if err == nil {
			return true
		}
	case tokenEndpoint:
		err = c.CanIssueTokens()
	case e.path == "/system/cluster":
		// The node's own view of the cluster, which matters most when it
		// has no leader to get a read index from.
	case read && e.token != noToken:
		err = c.ReadBarrier(r.Context())
	}
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	return false
}

// peekGrantType reports whether r is a token request that writes: the JWT
// bearer grant (its jti) or the exchange of a subject token (used once). It
// leaves the body to be read again, and reads no more than the token
// endpoint accepts: a larger body is left for it to refuse.
func peekGrantType(r *request) (writes bool, err error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, auth.MaxTokenRequest+1))
	if err != nil {
		return false, &store.Error{Code: store.EINVALID, Message: "The request body could not be read."}
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
	if len(body) > auth.MaxTokenRequest {
		return false, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return false, nil
	}
	switch form.Get("grant_type") {
	case jwtBearerGrant:
		return true, nil
	case tokenExchangeGrant:
		return form.Get("subject_token_type") == subjectTokenType, nil
	}
	return false, nil
}

// The grant and token types whose token requests write.
const (
	jwtBearerGrant     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	tokenExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange"
	subjectTokenType   = "urn:ietf:params:oauth:token-type:access_token"
)

// clusterAddNode is the body of POST /system/cluster/nodes.
type clusterAddNode struct {
	ID       *string `json:"id"`
	RaftAddr *string `json:"raftAddr"`
}

func (s *Server) clusterMode() (Cluster, error) {
	if s.cluster == nil {
		return nil, &store.Error{Code: store.ENOTFOUND, Detail: "cluster.not_enabled",
			Message: "This server does not run in cluster mode."}
	}
	return s.cluster, nil
}

func (s *Server) handleClusterGet(w http.ResponseWriter, r *request) error {
	c, err := s.clusterMode()
	if err != nil {
		return err
	}
	st, err := c.Status(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, st)
	return nil
}

func (s *Server) handleClusterNodeAdd(w http.ResponseWriter, r *request) error {
	c, err := s.clusterMode()
	if err != nil {
		return err
	}
	var req clusterAddNode
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ID == nil || *req.ID == "" || req.RaftAddr == nil || *req.RaftAddr == "" {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "id and raftAddr are required."}
	}
	if err := c.AddVoter(r.Context(), *req.ID, *req.RaftAddr); err != nil {
		return err
	}
	return s.handleClusterGet(w, r)
}

func (s *Server) handleClusterNodeDelete(w http.ResponseWriter, r *request) error {
	c, err := s.clusterMode()
	if err != nil {
		return err
	}
	if err := c.RemoveServer(r.Context(), r.param("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ApplyReplicated drops what a follower caches of the tenants that entries
// applied from the cluster changed (store.Options.OnApplied): signing keys
// and verified tokens, and rate limits.
func ApplyReplicated(ctx context.Context, db *store.DB, a *auth.Auth, l *limits.Limiter, c store.Applied) {
	if c.All {
		a.ForgetAllTenants()
		if l != nil {
			SyncRateLimits(ctx, db, l)
		}
		return
	}
	for _, t := range c.Keys {
		a.ForgetTenant(t)
	}
	if l == nil || len(c.Settings) == 0 {
		return
	}
	rls, err := db.TenantRateLimits(ctx)
	if err != nil {
		return
	}
	for _, t := range c.Settings {
		if rl, ok := rls[t]; ok {
			l.SetRate(t, toLimitsRate(&rl))
		} else {
			l.SetRate(t, nil)
		}
	}
}
