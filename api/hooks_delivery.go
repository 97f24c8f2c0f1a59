package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/store"
)

// HookDeliveryConfig configures a HookDeliverer. Zero durations mean the
// production values.
type HookDeliveryConfig struct {
	Store  *store.DB
	Logger *slog.Logger
	// Registry receives the delivery metrics; nil means they are not
	// exported.
	Registry prometheus.Registerer
	// Leader reports whether this node delivers: in cluster mode only the
	// leader does, since advancing a cursor is a write. Nil means always.
	Leader func() bool
	// FirstRetry is the wait before the first retry of a failed attempt
	// (1 s); each further retry waits twice as long, up to MaxRetryWait
	// (10 min).
	FirstRetry   time.Duration
	MaxRetryWait time.Duration
	// GiveUpAfter is how long after its commit an event is retried before
	// it is marked failed and skipped (24 h).
	GiveUpAfter time.Duration
	// Timeout bounds one attempt (10 s).
	Timeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Client sends the requests; nil means one that follows no redirects.
	// Tests that point hooks at loopback receivers use the default.
	Client *http.Client
}

// Delivery defaults.
const (
	defaultHookFirstRetry   = time.Second
	defaultHookMaxRetryWait = 10 * time.Minute
	defaultHookGiveUp       = 24 * time.Hour
	defaultHookTimeout      = 10 * time.Second
	// hookRefresh is how often the deliverer looks for hooks created or
	// enabled without an event since, and for a change of leadership.
	hookRefresh = 2 * time.Second
	// hookRefreshMin is the least time between two looks for new hooks
	// prompted by commits (a hook created or enabled starts delivering
	// at most this late after its first event).
	hookRefreshMin = 200 * time.Millisecond
	// hookResponseLimit is how much of a receiver's answer is read (and
	// kept in the attempt's log entry).
	hookResponseLimit = 4 << 10
	// hookUserAgent is the User-Agent Logto's webhooks send.
	hookUserAgent = "Logto (https://logto.io/)"
	// eventIDHeader carries the event's id, the same on every attempt, so
	// a receiver can drop a repeat (delivery is at least once).
	eventIDHeader = "Idbolt-Event-Id"
)

// HookDeliverer posts every tenant's hook events from the outbox
// (store/hooks.go): one worker per enabled hook, each in commit order, so a
// slow or dead endpoint delays only its own hook. Build it with
// NewHookDeliverer and run it with Run.
type HookDeliverer struct {
	cfg     HookDeliveryConfig
	metrics *hookMetrics

	mu      sync.Mutex
	workers map[store.HookRef]*hookWorker
}

// hookWorker delivers one hook's events.
type hookWorker struct {
	poke   chan struct{} // new events may wait
	cancel context.CancelFunc
	done   chan struct{}
}

// hookMetrics are the deliverer's collectors.
type hookMetrics struct {
	deliveries *prometheus.CounterVec // by result: success, error, failed (given up)
	queue      *prometheus.Desc       // pending events per tenant, read at scrape time
	db         *store.DB
}

func (m *hookMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.queue }

func (m *hookMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pending, err := m.db.PendingHookEvents(ctx)
	if err != nil {
		return
	}
	for tenant, n := range pending {
		ch <- prometheus.MustNewConstMetric(m.queue, prometheus.GaugeValue, float64(n), tenant)
	}
}

// NewHookDeliverer returns a deliverer and registers its metrics:
// idbolt_hook_deliveries_total{result} and idbolt_hook_queue_depth{tenant}
// (events some hook of the tenant has yet to pass; no per-hook label).
func NewHookDeliverer(cfg HookDeliveryConfig) (*HookDeliverer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Leader == nil {
		cfg.Leader = func() bool { return true }
	}
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = defaultHookFirstRetry
	}
	if cfg.MaxRetryWait <= 0 {
		cfg.MaxRetryWait = defaultHookMaxRetryWait
	}
	if cfg.GiveUpAfter <= 0 {
		cfg.GiveUpAfter = defaultHookGiveUp
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultHookTimeout
	}
	if cfg.Client == nil {
		cfg.Client = newOutboundClient()
	}
	m := &hookMetrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "idbolt_hook_deliveries_total",
			Help: "Webhook delivery attempts by result: success, error (retried) or failed (given up after the retry window)."},
			[]string{"result"}),
		queue: prometheus.NewDesc("idbolt_hook_queue_depth", "Webhook events of the tenant's outbox that some hook has yet to pass.",
			[]string{"tenant"}, nil),
		db: cfg.Store,
	}
	if cfg.Registry != nil {
		for _, c := range []prometheus.Collector{m.deliveries, m} {
			if err := cfg.Registry.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return &HookDeliverer{cfg: cfg, metrics: m, workers: map[store.HookRef]*hookWorker{}}, nil
}

// Run delivers until ctx ends, then stops every worker and returns. An
// attempt under way when ctx ends is cut; its event is sent again by the
// next run (at least once).
func (d *HookDeliverer) Run(ctx context.Context) {
	defer d.stopAll()
	tick := time.NewTicker(hookRefresh)
	defer tick.Stop()
	d.refresh(ctx)
	lastRefresh := time.Now()
	var later <-chan time.Time // a refresh put off by hookRefreshMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-later:
		case <-d.cfg.Store.HookEventsAppended():
			// Commits with events come thousands a second under load:
			// wake the workers, and look for new hooks at most every
			// hookRefreshMin, since that reads every tenant.
			if wait := hookRefreshMin - time.Since(lastRefresh); wait > 0 {
				d.poke()
				if later == nil {
					later = time.After(wait)
				}
				continue
			}
		}
		d.refresh(ctx)
		lastRefresh, later = time.Now(), nil
	}
}

// poke wakes every worker: new events may wait.
func (d *HookDeliverer) poke() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.workers {
		select {
		case w.poke <- struct{}{}:
		default:
		}
	}
}

// refresh starts a worker for every enabled hook that has none, stops the
// workers of hooks gone or disabled (or all of them when this node does not
// lead), and pokes the rest.
func (d *HookDeliverer) refresh(ctx context.Context) {
	var want map[store.HookRef]bool
	if d.cfg.Leader() {
		refs, err := d.cfg.Store.FindEnabledHooks(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.cfg.Logger.Error("hooks: list enabled hooks", "err", err)
			}
			return
		}
		want = make(map[store.HookRef]bool, len(refs))
		for _, r := range refs {
			want[r] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for ref, w := range d.workers {
		if !want[ref] {
			w.cancel()
			<-w.done
			delete(d.workers, ref)
		}
	}
	for ref := range want {
		w, ok := d.workers[ref]
		if !ok {
			wctx, cancel := context.WithCancel(ctx)
			w = &hookWorker{poke: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
			d.workers[ref] = w
			go func() {
				defer close(w.done)
				d.work(wctx, ref, w.poke)
			}()
		}
		select {
		case w.poke <- struct{}{}:
		default:
		}
	}
}

func (d *HookDeliverer) stopAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for ref, w := range d.workers {
		w.cancel()
		<-w.done
		delete(d.workers, ref)
	}
}

// Cursor batching: a worker stores how far it got after
// hookCursorBatch events, after hookCursorEvery, when none waits, and when
// it stops, not after every event, so that a delivery does not cost a
// committed (fsynced, and in a cluster replicated) write. A crash repeats
// at most the events since the last store, which at-least-once allows.
const (
	hookCursorBatch = 100
	hookCursorEvery = time.Second
	// hookReadBatch is how many events a worker reads in one transaction
	// (and one opening of the signing key). A change of the hook applies
	// from the next read: events already read go out as it was.
	hookReadBatch = 64
)

// work delivers ref's events in commit order until ctx ends or the hook is
// gone.
func (d *HookDeliverer) work(ctx context.Context, ref store.HookRef, poke <-chan struct{}) {
	var passed, stored uint64 // the last event done with, and the last stored
	lastStore := d.cfg.Now()
	saveCursor := func(ctx context.Context) bool {
		if passed == stored {
			return true
		}
		err := d.cfg.Store.AdvanceHookCursor(ctx, ref.Tenant, ref.HookID, passed)
		if err == nil {
			stored, lastStore = passed, d.cfg.Now()
			return true
		}
		if store.ErrorCode(err) == store.ENOTFOUND {
			return false
		}
		if ctx.Err() == nil {
			// Not leading any more, or the disk: the events are sent
			// again later, which at-least-once allows.
			d.cfg.Logger.Warn("hooks: advance cursor", "tenant", ref.Tenant, "hook", ref.HookID, "err", err)
		}
		return true
	}
	defer func() {
		// Stopping (shutdown, leadership lost, hook disabled): keep what
		// was delivered, so that a restart repeats as little as it can.
		flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		saveCursor(flush)
	}()
	for ctx.Err() == nil {
		hook, batch, err := d.cfg.Store.NextHookEvents(ctx, ref.Tenant, ref.HookID, passed, hookReadBatch)
		switch {
		case store.ErrorCode(err) == store.ENOTFOUND:
			return // the hook or its tenant is gone
		case err != nil:
			if ctx.Err() == nil {
				d.cfg.Logger.Error("hooks: read next event", "tenant", ref.Tenant, "hook", ref.HookID, "err", err)
			}
			sleep(ctx, d.cfg.FirstRetry)
			continue
		case len(batch) == 0:
			if !saveCursor(ctx) {
				return
			}
			select {
			case <-ctx.Done():
			case <-poke:
			}
			continue
		}
		for _, ev := range batch {
			if !d.deliver(ctx, ref, hook, ev, passed) {
				break // ctx ended, or the hook changed: read again
			}
			passed = ev.Seq
			if passed-stored >= hookCursorBatch || d.cfg.Now().Sub(lastStore) >= hookCursorEvery {
				if !saveCursor(ctx) {
					return
				}
			}
		}
	}
}

// deliver attempts ev, the hook's next event after passed, until the
// receiver takes it or the retry window ends, waiting FirstRetry, doubling,
// between attempts. It reports whether the hook is done with ev (delivered
// or given up); false when ctx ended or the event is no longer the hook's
// next.
func (d *HookDeliverer) deliver(ctx context.Context, ref store.HookRef, hook *store.Hook, ev *store.HookEvent, passed uint64) bool {
	wait := d.cfg.FirstRetry
	for {
		if !d.cfg.Leader() {
			return false
		}
		status, answer, err := d.attempt(ctx, ref.Tenant, hook, ev)
		if ctx.Err() != nil {
			return false
		}
		ok := err == nil && status/100 == 2
		d.audit(ref, hook.ID, ev, status, answer, err, ok)
		if ok {
			d.metrics.deliveries.WithLabelValues("success").Inc()
			return true
		}
		d.metrics.deliveries.WithLabelValues("error").Inc()
		if d.cfg.Now().Sub(time.UnixMilli(ev.CreatedAt)) >= d.cfg.GiveUpAfter {
			d.metrics.deliveries.WithLabelValues("failed").Inc()
			d.cfg.Logger.Warn("hooks: event given up after the retry window", "tenant", ref.Tenant, "hook", hook.ID,
				"event", ev.Event, "event_id", ev.ID)
			return true
		}
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, d.cfg.MaxRetryWait)
		// The hook may have been changed (its URL fixed) or deleted.
		var next []*store.HookEvent
		var err2 error
		hook, next, err2 = d.cfg.Store.NextHookEvents(ctx, ref.Tenant, ref.HookID, passed, 1)
		if err2 != nil || len(next) == 0 || next[0].Seq != ev.Seq {
			return false
		}
	}
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// hookPayload is the body of a data event's request, as Logto sends it.
type hookPayload struct {
	HookID       string            `json:"hookId"`
	Event        string            `json:"event"`
	CreatedAt    string            `json:"createdAt"` // ISO 8601, as Logto's
	UserAgent    string            `json:"userAgent,omitempty"`
	IP           string            `json:"ip,omitempty"`
	Path         string            `json:"path,omitempty"`
	Method       string            `json:"method,omitempty"`
	Status       int               `json:"status,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
	MatchedRoute string            `json:"matchedRoute,omitempty"`
	Data         any               `json:"data"`
}

// hookPayloadOf returns ev's body for hook.
func hookPayloadOf(tenant, hookID string, ev *store.HookEvent) ([]byte, error) {
	p := hookPayload{HookID: hookID, Event: ev.Event, UserAgent: ev.UserAgent, IP: ev.IP,
		CreatedAt: isoMillis(time.UnixMilli(ev.CreatedAt)),
		Path:      ev.Request.Path, Method: ev.Request.Method, Status: ev.Request.Status, Params: ev.Request.Params,
		MatchedRoute: ev.Request.MatchedRoute, Data: hookData(tenant, ev.Data)}
	return json.Marshal(&p)
}

// isoMillis formats t as Logto's payloads do: ISO 8601 in UTC, to the
// millisecond.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// hookData is an event's entity in the shape its GET route answers.
func hookData(tenant string, v any) any {
	switch d := v.(type) {
	case *store.User:
		return toUserResponse(d)
	case *store.Role:
		return toRoleResponse(tenant)(d)
	case *store.Scope:
		return toScopeResponse(tenant)(d)
	case *store.Organization:
		return toOrganizationResponse(tenant)(d)
	case *store.OrganizationRole:
		return toOrganizationRoleResponse(tenant)(d)
	case *store.OrganizationScope:
		return toOrganizationScopeResponse(tenant)(d)
	case *[]*store.Scope:
		return mapSlice(*d, toScopeResponse(tenant))
	case *map[string][]string:
		return *d
	}
	return nil
}

// attempt posts ev to hook once and returns the receiver's status and the
// start of its answer.
func (d *HookDeliverer) attempt(ctx context.Context, tenant string, hook *store.Hook, ev *store.HookEvent) (int, string, error) {
	body, err := hookPayloadOf(tenant, hook.ID, ev)
	if err != nil {
		return 0, "", err
	}
	return postHook(ctx, d.cfg.Client, d.cfg.Timeout, hook, body, ev.ID)
}

// postHook sends body to hook with Logto's headers and the hook's own, and
// returns the status and up to hookResponseLimit bytes of the answer.
func postHook(ctx context.Context, client *http.Client, timeout time.Duration, hook *store.Hook, body []byte, eventID string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.Config.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("User-Agent", hookUserAgent)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hook.Config.Headers { // may override the two above, as in Logto
		req.Header.Set(k, v)
	}
	req.Header.Set(signatureHeader, sign(hook.SigningKey, body))
	if eventID != "" {
		req.Header.Set(eventIDHeader, eventID)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, hookResponseLimit))
	return resp.StatusCode, string(answer), nil
}

// audit logs one attempt as Logto does: TriggerHook.<event>, naming the
// hook, with the receiver's status or the error.
func (d *HookDeliverer) audit(ref store.HookRef, hookID string, ev *store.HookEvent, status int, answer string, err error, ok bool) {
	p := store.AuditPayload{Key: "TriggerHook." + ev.Event, Result: "Success",
		Target: &store.AuditTarget{Type: "hook", ID: hookID},
		Params: map[string]string{"hookId": hookID, "eventId": ev.ID}}
	if status != 0 {
		p.Params["responseStatus"] = strconv.Itoa(status)
	}
	if !ok {
		p.Result = "Error"
		msg := answer
		if err != nil {
			msg = err.Error()
		}
		p.Error = map[string]string{"message": fmt.Sprintf("%.512s", msg)}
	}
	d.cfg.Store.AuditAsync(ref.Tenant, p)
}
