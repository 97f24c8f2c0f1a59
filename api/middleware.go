package api

import (
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// requestInfo travels with a request so that the outer middleware can log and
// count what inner layers learned (the resolved tenant).
type requestInfo struct {
	tenant string
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// newRequestID returns 16 random hex characters. A request id names a
// request in logs and is no secret, so math/rand's generator, which needs
// no system call, is good enough.
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return hex.EncodeToString(b[:])
}

// observe wraps a route: request id, one log line, and the request metrics.
// route is the registered pattern, so metrics never carry raw paths.
func (s *Server) observe(route string, next func(http.ResponseWriter, *http.Request, *requestInfo)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveObserved(w, r, route, next) }
}

// serveObserved is observe for one request. Routes call it directly, so
// that the route params need not travel in the request's context.
func (s *Server) serveObserved(w http.ResponseWriter, r *http.Request, route string, next func(http.ResponseWriter, *http.Request, *requestInfo)) {
	start := s.now()
	id := r.Header.Get("X-Request-Id")
	if !requestIDRE.MatchString(id) {
		id = newRequestID()
	}
	w.Header().Set("X-Request-Id", id)
	o := &observed{statusRecorder: statusRecorder{ResponseWriter: w}, info: requestInfo{tenant: "unknown"}}
	rec, info := &o.statusRecorder, &o.info
	next(rec, r, info)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	elapsed := s.now().Sub(start)
	code := strconv.Itoa(rec.status)
	s.metrics.requests.WithLabelValues(info.tenant, route, r.Method, code).Inc()
	s.metrics.duration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
	// The handler itself rather than Logger.LogAttrs, which would look up
	// this caller's program counter (runtime.Callers) for a source that no
	// request line prints. Never the query string: it may carry search
	// terms; never headers.
	ctx := r.Context()
	if h := s.reqLog.Handler(); h.Enabled(ctx, slog.LevelInfo) {
		line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		line.AddAttrs(slog.String("request_id", id), slog.String("tenant", info.tenant), slog.String("method", r.Method),
			slog.String("route", route), slog.Int("status", rec.status), slog.Duration("duration", elapsed),
			slog.String("ip", auth.ClientIP(r)))
		h.Handle(ctx, line)
	}
}

// observed is what serveObserved keeps of a request, in one allocation.
type observed struct {
	statusRecorder
	info requestInfo
}

// LimitBodies wraps h, the outermost handler of a listener, so that the
// body of every request must arrive within timeout from when it starts
// being served (zero means DefaultBodyTimeout): a client trickling a body is
// cut off, the read fails and the handler answers 400. It sits outside the
// router so that replies no route handler writes (a 404, /metrics) are
// covered too: net/http reads the rest of an unread body after them. net/http
// lifts the deadline once the body has been read to its end, so a long
// handler after it is not cut (TestBodyTimeout_LongHandlerNotCut). It is a
// per-request deadline rather than http.Server.ReadTimeout, whose expiry
// during a long handler would cancel the handler's context.
func LimitBodies(h http.Handler, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// The error is ErrNotSupported when w is not a connection (an
			// httptest.ResponseRecorder): nothing to limit then.
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		h.ServeHTTP(w, r)
	})
}

// limit takes one request from tenant's budget and writes the RateLimit
// headers. It answers 429 and returns false when the budget is spent.
func (s *Server) limit(w http.ResponseWriter, r *request, route string) bool {
	if s.limiter == nil {
		return true
	}
	d := s.limiter.Allow(r.tenant)
	if d.Limit == 0 {
		return true // unlimited
	}
	writeRateLimitHeaders(w.Header(), d)
	if d.Allowed {
		return true
	}
	s.metrics.rateLimit.WithLabelValues(r.tenant, route).Inc()
	s.writeError(w, r, &store.Error{Code: store.ETOOMANYREQUESTS, Detail: "request.too_many_requests",
		Message: "Too many requests. Please try again later."})
	return false
}

// peekLimit is limit without taking a token: the token endpoint charges the
// tenant only once a token is issued (tokenCharge), but need not work for a
// tenant whose budget is already spent.
func (s *Server) peekLimit(w http.ResponseWriter, r *request, route string) bool {
	if s.limiter == nil {
		return true
	}
	d := s.limiter.Peek(r.tenant)
	if d.Limit == 0 || d.Allowed {
		return true
	}
	writeRateLimitHeaders(w.Header(), d)
	s.metrics.rateLimit.WithLabelValues(r.tenant, route).Inc()
	s.writeError(w, r, &store.Error{Code: store.ETOOMANYREQUESTS, Detail: "request.too_many_requests",
		Message: "Too many requests. Please try again later."})
	return false
}

// sourceSpent reports whether source has spent its budget of failed
// requests. It takes nothing from the budget: failures do, where they are
// seen.
func (s *Server) sourceSpent(source string) (limits.Decision, bool) {
	d := s.sources.Peek(source)
	return d, !d.Allowed && d.Limit != 0
}

// refuseSource answers 429 to a request whose source address has spent its
// budget of failed requests.
func (s *Server) refuseSource(w http.ResponseWriter, r *request, route string, d limits.Decision) {
	s.metrics.sourceLimit.WithLabelValues(route).Inc()
	w.Header().Set("Retry-After", limits.RetryAfter(d.RetryAfter))
	s.writeError(w, r, &store.Error{Code: store.ETOOMANYREQUESTS, Detail: "request.too_many_requests",
		Message: "Too many failed requests from this address. Please try again later."})
}

// tokenCharge decides who pays for a token request once its status is
// known: an issued token is charged to the tenant (with the RateLimit
// headers), a failed request to its source address.
type tokenCharge struct {
	http.ResponseWriter
	server         *Server
	tenant, source string
	charged        bool
	// throttledRoute is the route of a request whose source address had
	// spent its budget: a refusal of it is counted as a source limit hit.
	throttledRoute string
}

func (c *tokenCharge) charge(status int) {
	if c.charged {
		return
	}
	c.charged = true
	if status >= 400 {
		c.server.sources.Allow(c.source)
		if c.throttledRoute != "" && status == http.StatusTooManyRequests {
			c.server.metrics.sourceLimit.WithLabelValues(c.throttledRoute).Inc()
		}
		return
	}
	if c.server.limiter == nil {
		return
	}
	if d := c.server.limiter.Allow(c.tenant); d.Limit != 0 {
		d.Allowed = true // the token is issued; a race past the peek is not refused
		writeRateLimitHeaders(c.Header(), d)
	}
}

func (c *tokenCharge) WriteHeader(status int) {
	c.charge(status)
	c.ResponseWriter.WriteHeader(status)
}

func (c *tokenCharge) Write(b []byte) (int, error) {
	c.charge(http.StatusOK)
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *tokenCharge) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// writeRateLimitHeaders sets the RateLimit fields (draft-ietf-httpapi-ratelimit-headers)
// and, on a refusal, Retry-After in whole seconds rounded up, so that a client
// that waits that long is allowed.
func writeRateLimitHeaders(h http.Header, d limits.Decision) {
	h["Ratelimit-Limit"] = []string{strconv.Itoa(d.Limit)} // canonical names: Set would check each per request
	h["Ratelimit-Remaining"] = []string{strconv.Itoa(d.Remaining)}
	h["Ratelimit-Reset"] = []string{strconv.Itoa(limits.CeilSeconds(d.Reset))}
	if !d.Allowed {
		h.Set("Retry-After", limits.RetryAfter(d.RetryAfter))
	}
}
