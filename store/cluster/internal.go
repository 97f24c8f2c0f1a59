package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/idbolt/idbolt/store"
)

// Inter-node HTTP runs on the cluster port, behind mutual TLS with the
// cluster's CA: only a node of the cluster reaches it. It carries the
// leader's read index, followers' audit entries, each node's status, and
// the API requests followers forward to the leader.
const (
	pathReadIndex = "/cluster/v1/read-index"
	pathAudits    = "/cluster/v1/audits"
	pathStatus    = "/cluster/v1/status"

	// headerClientAddr carries a forwarded request's client address, so
	// that the leader's audit log, budgets and logs see the client and not
	// the follower. Only a cluster node can set it.
	headerClientAddr = "Idbolt-Client-Addr"
	// headerClientTLS says that the client's request reached the
	// forwarding node over TLS: the leader received it over the cluster's
	// own TLS, which says nothing of the client's hop (the console's
	// cookie and origin checks depend on it).
	headerClientTLS = "Idbolt-Client-Tls"
	// headerAppliedIndex tells the forwarding follower which entry holds
	// the write; it answers once it applied it, so a client reads its own
	// writes on the node it asked.
	headerAppliedIndex = "Idbolt-Applied-Index"

	// maxAuditBatch bounds a forwarded audit batch.
	maxAuditBatch = 16 << 20
)

// indexBody is the answer of the read-index and audit calls.
type indexBody struct {
	Index uint64 `json:"index"`
}

// Handler serves the inter-node HTTP; api serves the API requests that
// followers forward. Until Start it answers 503.
func (n *Node) Handler(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathReadIndex, func(w http.ResponseWriter, r *http.Request) {
		// A follower that found this node elected asks before it is ready.
		if err := n.waitReady(readyWait); err != nil {
			writeInternalError(w, err)
			return
		}
		index, err := n.verifier.do(r.Context())
		if err != nil {
			writeInternalError(w, err)
			return
		}
		writeInternalJSON(w, indexBody{index})
	})
	mux.HandleFunc("POST "+pathAudits, func(w http.ResponseWriter, r *http.Request) {
		if !n.Leader() {
			writeInternalError(w, errNoLeader())
			return
		}
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAuditBatch))
		if err != nil {
			http.Error(w, "audit batch too large", http.StatusRequestEntityTooLarge)
			return
		}
		index, err := n.db.AppendAudits(r.Context(), payload)
		if err != nil {
			writeInternalError(w, err)
			return
		}
		writeInternalJSON(w, indexBody{index})
	})
	mux.HandleFunc("GET "+pathStatus, func(w http.ResponseWriter, r *http.Request) {
		writeInternalJSON(w, n.localStatus())
	})
	mux.Handle("/", n.servedForward(api))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !n.started.Load() {
			writeInternalError(w, errNoLeader())
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// servedForward serves an API request a follower forwarded: with its
// client's address and, only if the client's own hop was TLS, a TLS state;
// and with the index of the last applied entry set on the response.
func (n *Node) servedForward(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr := r.Header.Get(headerClientAddr); addr != "" {
			if _, _, err := net.SplitHostPort(addr); err == nil {
				r.RemoteAddr = addr
			}
			r.Header.Del(headerClientAddr)
		}
		if r.Header.Get(headerClientTLS) == "" {
			r.TLS = nil
		}
		r.Header.Del(headerClientTLS)
		r = r.WithContext(context.WithValue(r.Context(), forwardedKey{}, true))
		api.ServeHTTP(&indexWriter{ResponseWriter: w, n: n}, r)
	})
}

type forwardedKey struct{}

// Forwarded reports whether the request of ctx was forwarded by another
// node: one that finds it no longer leads must refuse it, not forward it
// again (two nodes could pass it back and forth during an election).
func Forwarded(ctx context.Context) bool {
	v, _ := ctx.Value(forwardedKey{}).(bool)
	return v
}

// indexWriter sets headerAppliedIndex when the response starts: by then
// the request's writes are applied here.
type indexWriter struct {
	http.ResponseWriter
	n       *Node
	written bool
}

func (w *indexWriter) WriteHeader(code int) {
	if !w.written {
		w.written = true
		w.Header().Set(headerAppliedIndex, strconv.FormatUint(w.n.db.AppliedIndex(), 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *indexWriter) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *indexWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Forward has the leader serve r, and answers once this node applied what
// the leader's answer depends on. It returns an error, having written
// nothing, when there is no leader or it cannot be reached.
//
// It is a plain round trip, not an httputil.ReverseProxy: the leader is a
// node of this cluster answering API requests, so there are no upgrades,
// trailers or streamed answers to carry, and every forwarded write would
// otherwise pay for the proxy's generality (a 32 KiB buffer, header
// scrubbing, the body sent apart from its headers).
func (n *Node) Forward(w http.ResponseWriter, r *http.Request) error {
	addr, _, err := n.leaderAddr()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	watch := n.watchLeader(addr, cancel)
	out, err := forwardRequest(ctx, r, addr, w.Header().Get("X-Request-Id"))
	if err != nil {
		watch.stop()
		return err
	}
	resp, err := n.cfg.Client.Transport.RoundTrip(out)
	// Once the answer arrives it is kept, whoever leads by then.
	watch.stop()
	if err == nil {
		defer resp.Body.Close()
		err = n.awaitAnswer(r.Context(), resp)
	}
	if err != nil {
		n.metrics.forwarded.WithLabelValues("error").Inc()
		n.logger.Warn("forwarding to the leader failed", "leader", addr, "err", err)
		return &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.leader_unreachable", RetryAfter: time.Second,
			Message: "The cluster's leader could not be reached; try again in a moment."}
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
	n.metrics.forwarded.WithLabelValues("ok").Inc()
	return nil
}

// maxBufferedForward is the largest request body Forward reads into memory
// before sending, so that headers and body leave in one write; a larger one
// (a bulk import) is streamed.
const maxBufferedForward = 64 << 10

// forwardRequest returns r as it goes to the leader at addr: the client's
// address in headerClientAddr (only a cluster node can set it there), the
// request id this node answers with, and none of the headers that concern
// only the hop to this node.
func forwardRequest(ctx context.Context, r *http.Request, addr raft.ServerAddress, requestID string) (*http.Request, error) {
	var body io.Reader = r.Body
	if r.ContentLength >= 0 && r.ContentLength <= maxBufferedForward {
		buf, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
		if err != nil {
			return nil, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "The request body could not be read."}
		}
		body = bytes.NewReader(buf)
	}
	u := *r.URL
	u.Scheme, u.Host = "https", string(addr)
	out, err := http.NewRequestWithContext(ctx, r.Method, u.String(), body)
	if err != nil {
		return nil, err
	}
	out.ContentLength = r.ContentLength
	out.Host = r.Host
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.Header.Set(headerClientAddr, r.RemoteAddr)
	out.Header.Del(headerClientTLS)
	if r.TLS != nil {
		out.Header.Set(headerClientTLS, "1")
	}
	// The leader logs the request under the id this node answers with.
	if requestID != "" {
		out.Header.Set("X-Request-Id", requestID)
	}
	return out, nil
}

// hopHeaders are the request headers Forward does not pass on: those of
// the connection to this node (RFC 9110, section 7.6.1), and the
// proxies' account of the client, which this node already resolved into
// the client address it sends.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// awaitAnswer waits until this node applied the entry the leader's answer
// names, and drops the headers meant for this node alone.
func (n *Node) awaitAnswer(ctx context.Context, resp *http.Response) error {
	v := resp.Header.Get(headerAppliedIndex)
	resp.Header.Del(headerAppliedIndex)
	resp.Header.Del("X-Request-Id") // this node's stands
	for _, h := range []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Trailer", "Upgrade"} {
		resp.Header.Del(h)
	}
	index, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return nil // not an answer of idbolt's API; nothing to wait for
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return n.db.WaitApplied(ctx, index)
}

// forwardWatchEvery is how often a forwarded request checks that the
// node it went to still leads.
const forwardWatchEvery = 100 * time.Millisecond

// leaderWatch cancels a forwarded request once another node leads or this
// one has heard from no leader for the contact bound. It is a timer, not
// a goroutine: most requests are answered before it first fires, and it
// then finds them answered and stops.
type leaderWatch struct{ answered atomic.Bool }

// watchLeader starts a leaderWatch on a request forwarded to leader.
func (n *Node) watchLeader(leader raft.ServerAddress, cancel context.CancelFunc) *leaderWatch {
	lw := &leaderWatch{}
	var check func()
	check = func() {
		if lw.answered.Load() {
			return
		}
		now, _ := n.raft.LeaderWithID()
		if now != "" && now != leader || now == "" && time.Since(n.raft.LastContact()) > n.cfg.ContactBound {
			cancel()
			return
		}
		time.AfterFunc(forwardWatchEvery, check)
	}
	time.AfterFunc(forwardWatchEvery, check)
	return lw
}

// stop ends the watch: the answer arrived (or never will), and is kept.
func (lw *leaderWatch) stop() {
	lw.answered.Store(true)
}

// leaderReadIndex asks the leader for its read index (see ReadBarrier).
func (n *Node) leaderReadIndex(ctx context.Context) (uint64, error) {
	addr, _, err := n.leaderAddr()
	if err != nil {
		return 0, err
	}
	return n.callIndex(ctx, http.MethodGet, addr, pathReadIndex, nil)
}

// ForwardAudits hands a follower's audit entries to the leader.
func (n *Node) ForwardAudits(payload []byte) (uint64, error) {
	addr, _, err := n.leaderAddr()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return n.callIndex(ctx, http.MethodPost, addr, pathAudits, payload)
}

// callIndex makes an inter-node call that answers an indexBody.
func (n *Node) callIndex(ctx context.Context, method string, addr raft.ServerAddress, path string, body []byte) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, method, "https://"+string(addr)+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return 0, &store.Error{Code: store.EUNAVAILABLE, Detail: "cluster.leader_unreachable", RetryAfter: time.Second,
			Message: "The cluster's leader could not be reached; try again in a moment."}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode == http.StatusServiceUnavailable {
			return 0, errNoLeader()
		}
		return 0, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg))
	}
	var ib indexBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&ib); err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return ib.Index, nil
}

func writeInternalJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// writeInternalError answers an inter-node call that failed; the caller
// turns it back into an error of its own.
func writeInternalError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if store.ErrorCode(err) == store.EUNAVAILABLE || errors.Is(err, store.ErrNotLeader) {
		status = http.StatusServiceUnavailable
	} else if store.ErrorCode(err) == store.EINVALID {
		status = http.StatusBadRequest
	}
	http.Error(w, store.ErrorMessage(err), status)
}
