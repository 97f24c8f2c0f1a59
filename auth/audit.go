package auth

import (
	"container/heap"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// What the audit log keeps of a token request. A failed request is often
// anonymous, so everything taken from it is bounded: only the parameters
// below, each value cut to maxAuditValue bytes of JSON, and beyond
// defaultAuditFailures per minute and source address, or tenantAuditFailures
// per minute and tenant from all addresses together, the failures are only
// counted (idbolt_audit_suppressed_total) and summarised once a minute per
// tenant and address, or per tenant. defaultAuditFailures times
// maxAuditEntry, plus one summary per tenant, is what one address can add to
// the log per minute; tenantAuditFailures times maxAuditEntry, plus one
// summary, what all addresses together can add to one tenant's log.
const (
	// maxAuditValue bounds each value taken from the request, measured as
	// the JSON it becomes in the worst case.
	maxAuditValue = 128
	// maxAuditEntry bounds the stored size of a failed request's entry:
	// nine clipped values (the parameters, user agent, application id and
	// error description) with their names, and the fixed fields.
	maxAuditEntry = 2048
	// maxAuditSummary bounds the stored size of a summary entry.
	maxAuditSummary = 512
	// auditSummaryKey is the log key of a summary entry.
	auditSummaryKey = "ExchangeTokenBy.Suppressed"
	// defaultAuditFailures is how many failed token requests per minute and
	// source address are stored one by one.
	defaultAuditFailures = 10
	// tenantAuditFailures is how many failed token requests, and summaries
	// of one address, per minute and tenant are stored one by one, from all
	// addresses together: 1,000 IPv4 addresses or an IPv6 /48 must not fill
	// the disk either.
	tenantAuditFailures = 300
	// maxPendingSummaries bounds the summaries held in memory, instance
	// wide; failures beyond it are only counted in the metric.
	maxPendingSummaries = 100_000
)

// auditParams are the token request parameters worth keeping; any other is
// dropped. Secret ones are masked by the store.
var auditParams = map[string]bool{
	"grant_type": true, "client_id": true, "client_secret": true, "resource": true, "scope": true,
	"organization_id": true, "assertion": true,
}

// clipJSON returns the longest prefix of s, cut at a rune boundary, whose
// JSON encoding cannot exceed n bytes (quotes excluded). Printable ASCII
// other than " \ < > & counts one byte; every other byte counts six, the
// most any escape takes, so the bound holds for any encoder.
func clipJSON(s string, n int) string {
	cost := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			cost++
		} else {
			cost += 6
		}
		if cost > n {
			for i > 0 && !utf8.RuneStart(s[i]) {
				i--
			}
			return s[:i]
		}
	}
	return s
}

// auditSuppression counts failed token requests not stored one by one, per
// tenant and source address, until their summary is written.
type auditSuppression struct {
	budget  *limits.Limiter // entries stored one by one, per source address
	tenants *limits.Limiter // entries stored one by one, per tenant
	metric  *prometheus.CounterVec
	next    atomic.Int64 // unix nanoseconds of the earliest summary due; 0 when none
	mu      sync.Mutex
	pending map[suppressionKey]*suppressed
	// due orders the pending summaries by when they are due, so that a
	// flush touches only the due ones, never all pending ones.
	due dueHeap
}

// dueSummary is a pending summary's place in the due order.
type dueSummary struct {
	at  time.Time
	key suppressionKey
}

// dueHeap is a min-heap of pending summaries by due time (container/heap).
type dueHeap []dueSummary

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueSummary)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// suppressionKey names a summary: of one address in a tenant, or, with an
// empty source, of every address of a tenant whose own budget is spent.
type suppressionKey struct{ tenant, source string }

type suppressed struct {
	ip    string // one address seen, for the summary's ip field
	count int
	since time.Time
}

func newAuditSuppression(rate limits.Rate, now func() time.Time, reg prometheus.Registerer) *auditSuppression {
	s := &auditSuppression{
		budget:  limits.NewBounded(rate, limits.MaxTrackedSources, now),
		tenants: limits.NewBounded(limits.Rate{Requests: tenantAuditFailures, Per: time.Minute}, limits.MaxTrackedSources, now),
		metric: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_audit_suppressed_total",
			Help: "Failed token requests counted but not stored one by one in the audit log, by tenant.",
		}, []string{"tenant"}),
		pending: map[suppressionKey]*suppressed{},
	}
	reg.MustRegister(s.metric)
	return s
}

// audit queues the token request's log entry; it never waits for the disk.
// req is nil when the request could not be parsed, oe nil on success.
func (a *Auth) audit(r *http.Request, tenant, source string, req *tokenRequest, oe *oauthError) {
	now := a.now()
	a.flushAuditSummaries(now)
	ip := ClientIP(r)
	if oe != nil && (!a.suppress.budget.Allow(source).Allowed || !a.suppress.tenants.Allow(tenant).Allowed) {
		a.suppress.count(tenant, source, ip, now)
		return
	}
	p := store.AuditPayload{Key: "ExchangeTokenBy.Unknown", Result: "Success", IP: ip,
		UserAgent: clipJSON(r.UserAgent(), maxAuditValue)}
	if req != nil {
		if k, ok := auditKeys[req.GrantType]; ok {
			p.Key = k
		}
		p.ApplicationID = clipJSON(req.ClientID, maxAuditValue)
		p.UserID, p.ActorUserID = req.UserID, req.ActorUserID // set by the grant, from the store
		p.Params = make(map[string]string, len(req.Form))
		for k, v := range req.Form {
			if auditParams[k] {
				p.Params[k] = clipJSON(v[0], maxAuditValue) // secrets masked by the store
			}
		}
	}
	if oe != nil {
		p.Result = "Error"
		p.Error = map[string]string{"error": oe.Type, "error_description": clipJSON(oe.Description, maxAuditValue)}
	} else {
		p.TokenTypes = []string{"AccessToken"}
	}
	a.store.AuditAsync(tenant, p)
}

// count counts a failed token request not stored one by one in a summary:
// its address's, or the tenant's once the tenant's budget is spent (a
// summary is an entry too).
func (s *auditSuppression) count(tenant, source, ip string, now time.Time) {
	s.metric.WithLabelValues(tenant).Inc()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := suppressionKey{tenant, source}
	p := s.pending[k]
	if p == nil {
		k.source = ""
		p = s.pending[k]
	}
	if p != nil {
		p.count++
		return
	}
	if len(s.pending) >= maxPendingSummaries {
		return // counted in the metric only
	}
	per := s.tenants.RateFor(tenant).Per
	if s.tenants.Allow(tenant).Allowed {
		k.source, per = source, s.budget.RateFor(source).Per
	} else {
		ip = ""
	}
	s.pending[k] = &suppressed{ip: ip, count: 1, since: now}
	heap.Push(&s.due, dueSummary{at: now.Add(per), key: k})
	s.next.Store(s.due[0].at.UnixNano())
}

// FlushAuditSummaries writes every pending summary of failed token requests
// that were counted but not stored, whether or not its minute has passed.
// Call it after the HTTP server has stopped and before the store closes, so
// that a clean stop loses no summary.
func (a *Auth) FlushAuditSummaries() { a.writeAuditSummaries(time.Time{}) }

// flushAuditSummaries writes the summaries whose minute has passed: one
// entry per tenant and source address saying how many failed token requests
// were not stored. It is called on every token request and costs an atomic
// load unless a summary is due, and then only the due summaries' work.
func (a *Auth) flushAuditSummaries(now time.Time) {
	if next := a.suppress.next.Load(); next == 0 || now.UnixNano() < next {
		return
	}
	a.writeAuditSummaries(now)
}

// writeAuditSummaries writes the summaries due at now; the zero now means
// all of them.
func (a *Auth) writeAuditSummaries(now time.Time) {
	s := a.suppress
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.IsZero() {
		for k, p := range s.pending {
			a.writeAuditSummary(k, p)
		}
		clear(s.pending)
		s.due = s.due[:0]
	}
	for len(s.due) > 0 && !now.Before(s.due[0].at) {
		k := heap.Pop(&s.due).(dueSummary).key
		a.writeAuditSummary(k, s.pending[k])
		delete(s.pending, k)
	}
	var next int64
	if len(s.due) > 0 {
		next = s.due[0].at.UnixNano()
	}
	s.next.Store(next)
}

// writeAuditSummary queues the entry of one summary.
func (a *Auth) writeAuditSummary(k suppressionKey, p *suppressed) {
	from := " failed token requests from this address were counted, not stored one by one"
	if k.source == "" {
		from = " failed token requests from many addresses were counted, not stored one by one"
	}
	a.store.AuditAsync(k.tenant, store.AuditPayload{Key: auditSummaryKey, Result: "Error", IP: p.ip,
		Params: map[string]string{"suppressed": strconv.Itoa(p.count), "since": strconv.FormatInt(p.since.UnixMilli(), 10)},
		Error:  map[string]string{"error": "too_many_failures", "error_description": strconv.Itoa(p.count) + from}})
}
