package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// delivery is one request a receiver got.
type delivery struct {
	Header  http.Header
	Body    []byte
	Payload struct {
		HookID       string            `json:"hookId"`
		Event        string            `json:"event"`
		CreatedAt    string            `json:"createdAt"`
		UserAgent    string            `json:"userAgent"`
		IP           string            `json:"ip"`
		Path         string            `json:"path"`
		Method       string            `json:"method"`
		Status       int               `json:"status"`
		Params       map[string]string `json:"params"`
		MatchedRoute string            `json:"matchedRoute"`
		RawData      json.RawMessage   `json:"data"`
		Data         map[string]any    `json:"-"` // RawData when it is an object
	}
	Accepted bool // the receiver answered 2xx
}

// receiver is a local webhook endpoint. fail decides, per request number
// (from 1), the status it answers.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivery
	fail func(n int) int
	seen chan struct{}
}

func newReceiver(t testing.TB, fail func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{fail: fail, seen: make(chan struct{}, 1)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{Header: r.Header.Clone(), Body: body}
		if err := json.Unmarshal(body, &d.Payload); err != nil {
			t.Errorf("receiver: body %s: %v", body, err)
		}
		if bytes.HasPrefix(d.Payload.RawData, []byte("{")) {
			json.Unmarshal(d.Payload.RawData, &d.Payload.Data) //nolint:errcheck // it was decoded once already
		}
		rc.mu.Lock()
		status := http.StatusOK
		if rc.fail != nil {
			status = rc.fail(len(rc.got) + 1)
		}
		d.Accepted = status/100 == 2
		rc.got = append(rc.got, d)
		rc.mu.Unlock()
		select {
		case rc.seen <- struct{}{}:
		default:
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// accepted returns the deliveries the receiver took, in arrival order.
func (rc *receiver) accepted() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivery
	for _, d := range rc.got {
		if d.Accepted {
			out = append(out, d)
		}
	}
	return out
}

// waitAccepted waits until the receiver took n deliveries, and returns them.
func (rc *receiver) waitAccepted(t testing.TB, n int) []delivery {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if got := rc.accepted(); len(got) >= n {
			return got
		}
		select {
		case <-rc.seen:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("receiver took %d deliveries, want %d", len(rc.accepted()), n)
		}
	}
}

// checkSignature fails t unless d carries Logto's signature of its body
// under key.
func checkSignature(t testing.TB, d delivery, key string) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(key))
	m.Write(d.Body)
	if got, want := d.Header.Get("Logto-Signature-Sha-256"), hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("%s: signature %q, want %q", d.Payload.Event, got, want)
	}
	if d.Header.Get("Content-Type") != "application/json" || d.Header.Get("User-Agent") != "Logto (https://logto.io/)" {
		t.Errorf("%s: headers %v", d.Payload.Event, d.Header)
	}
	if d.Header.Get("Idbolt-Event-Id") == "" {
		t.Errorf("%s: no event id", d.Payload.Event)
	}
}

var dataEvents = []string{
	"User.Created", "User.Deleted", "User.Data.Updated", "User.SuspensionStatus.Updated",
	"Role.Created", "Role.Deleted", "Role.Data.Updated", "Role.Scopes.Updated",
	"Scope.Created", "Scope.Deleted", "Scope.Data.Updated",
	"Organization.Created", "Organization.Deleted", "Organization.Data.Updated", "Organization.Membership.Updated",
	"OrganizationRole.Created", "OrganizationRole.Deleted", "OrganizationRole.Data.Updated", "OrganizationRole.Scopes.Updated",
	"OrganizationScope.Created", "OrganizationScope.Deleted", "OrganizationScope.Data.Updated",
}

// TestHooks_EveryEvent: each data event reaches the receiver once, in
// commit order, signed, with Logto's payload fields; the payload's status
// is the one the request was answered with, and data is the entity as its
// GET route shows it.
func TestHooks_EveryEvent(t *testing.T) {
	e := newEnv(t)
	rc := newReceiver(t, nil)
	h := e.createHook(t, rc.URL, append(dataEvents, "PostSignIn")...)

	var u user
	var role, res, scope, org, orgRole, orgScope idName
	type step struct {
		event, method string
		path          func() string
		body          any
		out           any
		dataID        func() string // the id data must carry; nil: a relation change or deletion, whose data is the route's answer, if it has one
	}
	p := func(s string) func() string { return func() string { return s } }
	steps := []step{
		{"User.Created", "POST", p("/api/users"), map[string]any{"username": "hooked"}, &u, func() string { return u.ID }},
		{"User.Data.Updated", "PATCH", func() string { return "/api/users/" + u.ID }, map[string]any{"name": "Hooked"}, nil, func() string { return u.ID }},
		{"User.SuspensionStatus.Updated", "PATCH", func() string { return "/api/users/" + u.ID + "/is-suspended" }, map[string]any{"isSuspended": true}, nil, func() string { return u.ID }},
		{"Role.Created", "POST", p("/api/roles"), map[string]any{"name": "r1", "description": "d"}, &role, func() string { return role.ID }},
		{"Role.Data.Updated", "PATCH", func() string { return "/api/roles/" + role.ID }, map[string]any{"description": "d2"}, nil, func() string { return role.ID }},
		{"", "POST", p("/api/resources"), map[string]any{"name": "api", "indicator": "https://api.example"}, &res, nil},
		{"Scope.Created", "POST", func() string { return "/api/resources/" + res.ID + "/scopes" }, map[string]any{"name": "read"}, &scope, func() string { return scope.ID }},
		{"Scope.Data.Updated", "PATCH", func() string { return "/api/resources/" + res.ID + "/scopes/" + scope.ID }, map[string]any{"description": "reads"}, nil, func() string { return scope.ID }},
		{"Role.Scopes.Updated", "POST", func() string { return "/api/roles/" + role.ID + "/scopes" }, func() any { return map[string]any{"scopeIds": []string{scope.ID}} }, nil, nil},
		{"Role.Scopes.Updated", "DELETE", func() string { return "/api/roles/" + role.ID + "/scopes/" + scope.ID }, nil, nil, nil},
		{"Organization.Created", "POST", p("/api/organizations"), map[string]any{"name": "o1"}, &org, func() string { return org.ID }},
		{"Organization.Data.Updated", "PATCH", func() string { return "/api/organizations/" + org.ID }, map[string]any{"description": "x"}, nil, func() string { return org.ID }},
		{"Organization.Membership.Updated", "POST", func() string { return "/api/organizations/" + org.ID + "/users" }, func() any { return map[string]any{"userIds": []string{u.ID}} }, nil, nil},
		{"OrganizationScope.Created", "POST", p("/api/organization-scopes"), map[string]any{"name": "os1"}, &orgScope, func() string { return orgScope.ID }},
		{"OrganizationScope.Data.Updated", "PATCH", func() string { return "/api/organization-scopes/" + orgScope.ID }, map[string]any{"description": "x"}, nil, func() string { return orgScope.ID }},
		{"OrganizationRole.Created", "POST", p("/api/organization-roles"), map[string]any{"name": "or1"}, &orgRole, func() string { return orgRole.ID }},
		{"OrganizationRole.Data.Updated", "PATCH", func() string { return "/api/organization-roles/" + orgRole.ID }, map[string]any{"description": "x"}, nil, func() string { return orgRole.ID }},
		{"OrganizationRole.Scopes.Updated", "PUT", func() string { return "/api/organization-roles/" + orgRole.ID + "/scopes" }, func() any { return map[string]any{"organizationScopeIds": []string{orgScope.ID}} }, nil, nil},
		{"Organization.Membership.Updated", "DELETE", func() string { return "/api/organizations/" + org.ID + "/users/" + u.ID }, nil, nil, nil},
		{"OrganizationRole.Deleted", "DELETE", func() string { return "/api/organization-roles/" + orgRole.ID }, nil, nil, nil},
		{"OrganizationScope.Deleted", "DELETE", func() string { return "/api/organization-scopes/" + orgScope.ID }, nil, nil, nil},
		{"Organization.Deleted", "DELETE", func() string { return "/api/organizations/" + org.ID }, nil, nil, nil},
		{"Scope.Deleted", "DELETE", func() string { return "/api/resources/" + res.ID + "/scopes/" + scope.ID }, nil, nil, nil},
		{"Role.Deleted", "DELETE", func() string { return "/api/roles/" + role.ID }, nil, nil, nil},
		{"User.Deleted", "DELETE", func() string { return "/api/users/" + u.ID }, nil, nil, nil},
		// A failed write fires nothing.
		{"", "DELETE", p("/api/users/nobody"), nil, nil, nil},
	}
	type sent struct {
		step
		path   string
		status int
		body   []byte
	}
	var want []sent
	fired := map[string]bool{}
	for _, s := range steps {
		path, body := s.path(), s.body
		if f, ok := body.(func() any); ok {
			body = f()
		}
		r := call(t, s.method, e.URL+path, e.token, body)
		if s.method == "DELETE" && strings.Contains(path, "nobody") {
			if r.Status != http.StatusNotFound {
				t.Fatalf("%s %s: %d", s.method, path, r.Status)
			}
			continue
		}
		if r.Status/100 != 2 {
			t.Fatalf("%s %s: %d %s", s.method, path, r.Status, r.Body)
		}
		if s.out != nil {
			r.JSON(t, s.out)
		}
		if s.event != "" {
			want = append(want, sent{step: s, path: path, status: r.Status, body: r.Body})
			fired[s.event] = true
		}
	}
	for _, ev := range dataEvents {
		if !fired[ev] {
			t.Errorf("the test fires no %s", ev)
		}
	}
	got := rc.waitAccepted(t, len(want))
	time.Sleep(100 * time.Millisecond) // nothing more may come
	if got = rc.accepted(); len(got) != len(want) {
		t.Fatalf("receiver got %d deliveries, want %d", len(got), len(want))
	}
	for i, w := range want {
		d := got[i]
		pl := d.Payload
		checkSignature(t, d, h.SigningKey)
		if pl.Event != w.event || pl.HookID != h.ID || pl.Path != w.path || pl.Method != w.method || pl.Status != w.status {
			t.Errorf("delivery %d: %s %s %s %d hook %s, want %s %s %s %d hook %s", i, pl.Event, pl.Method, pl.Path, pl.Status, pl.HookID,
				w.event, w.method, w.path, w.status, h.ID)
		}
		if _, err := time.Parse(time.RFC3339Nano, pl.CreatedAt); err != nil {
			t.Errorf("%s: createdAt %q is not ISO 8601", pl.Event, pl.CreatedAt)
		}
		if !strings.HasPrefix(pl.MatchedRoute, "/api/") || strings.Contains(pl.MatchedRoute, "tenant") {
			t.Errorf("%s: matchedRoute %q", pl.Event, pl.MatchedRoute)
		}
		if pl.UserAgent == "" || pl.IP == "" {
			t.Errorf("%s: userAgent %q ip %q", pl.Event, pl.UserAgent, pl.IP)
		}
		for k, v := range pl.Params {
			if !strings.Contains(w.path, v) {
				t.Errorf("%s: param %s=%s not in path %s", pl.Event, k, v, w.path)
			}
		}
		switch {
		case w.dataID == nil && len(w.body) > 0:
			var got, want any
			if json.Unmarshal(pl.RawData, &got) != nil || json.Unmarshal(w.body, &want) != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s %s: data %s, want the answer %s", pl.Event, pl.Method, pl.RawData, w.body)
			}
		case w.dataID == nil:
			if pl.RawData != nil && string(pl.RawData) != "null" {
				t.Errorf("%s: data %s, want none", pl.Event, pl.RawData)
			}
		case pl.Data["id"] != w.dataID():
			t.Errorf("%s: data %v, want the entity %s", pl.Event, pl.Data, w.dataID())
		}
	}
	// The data is the entity after the change.
	if got[1].Payload.Data["name"] != "Hooked" || got[2].Payload.Data["isSuspended"] != true {
		t.Errorf("user data after the change: %v / %v", got[1].Payload.Data, got[2].Payload.Data)
	}
	if got[0].Payload.Data["tenantId"] != nil {
		t.Errorf("user data carries tenantId: %v", got[0].Payload.Data)
	}
	// Every event passed: the outbox is empty.
	waitOutboxEmpty(t, e.Server)
}

// waitOutboxEmpty waits until no tenant's outbox holds an event.
func waitOutboxEmpty(t testing.TB, srv *apitest.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending, err := srv.DB.PendingHookEvents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox not pruned: %v", pending)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHooks_RetryInOrder: a receiver that fails (500) and then recovers
// gets every event once more, in commit order; each attempt is in
// recent-logs and the execution stats.
func TestHooks_RetryInOrder(t *testing.T) {
	e := newEnv(t, apitest.Options{HookFirstRetry: 5 * time.Millisecond})
	rc := newReceiver(t, func(n int) int {
		if n <= 4 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	h := e.createHook(t, rc.URL, "User.Created")
	var ids []string
	for i := range 5 {
		ids = append(ids, e.createUser(t, map[string]any{"username": fmt.Sprintf("retry%d", i)}).ID)
	}
	got := rc.waitAccepted(t, 5)
	time.Sleep(100 * time.Millisecond)
	got = rc.accepted()
	if len(got) != 5 {
		t.Fatalf("accepted %d deliveries, want 5", len(got))
	}
	for i, d := range got {
		if d.Payload.Data["id"] != ids[i] {
			t.Errorf("delivery %d: user %v, want %s (commit order)", i, d.Payload.Data["id"], ids[i])
		}
	}
	rc.mu.Lock()
	all := len(rc.got)
	firstEventID := rc.got[0].Header.Get("Idbolt-Event-Id")
	retriedEventID := rc.got[4].Header.Get("Idbolt-Event-Id")
	rc.mu.Unlock()
	if all != 9 {
		t.Errorf("receiver saw %d requests, want 4 failures and 5 deliveries", all)
	}
	if firstEventID != retriedEventID {
		t.Errorf("a retry has event id %q, the first attempt %q: receivers could not deduplicate", retriedEventID, firstEventID)
	}
	waitOutboxEmpty(t, e.Server)
	for result, want := range map[string]float64{"success": 5, "error": 4, "failed": 0} {
		if got := counter(t, e.Registry, "idbolt_hook_deliveries_total", map[string]string{"result": result}); got != want {
			t.Errorf("idbolt_hook_deliveries_total{result=%q} = %v, want %v", result, got, want)
		}
	}

	var withStats hook
	e.do(t, "GET", "/api/hooks/"+h.ID+"?includeExecutionStats=true", nil, http.StatusOK, &withStats)
	if s := withStats.ExecutionStats; s == nil || s.RequestCount != 9 || s.SuccessCount != 5 {
		t.Errorf("executionStats %+v, want 9 requests, 5 successes", s)
	}
	var logs []struct {
		Key     string `json:"key"`
		Payload struct {
			Result string            `json:"result"`
			Params map[string]string `json:"params"`
		} `json:"payload"`
	}
	r := e.do(t, "GET", "/api/hooks/"+h.ID+"/recent-logs?page_size=20", nil, http.StatusOK, &logs)
	if len(logs) != 9 || r.Header.Get("Total-Number") != "9" {
		t.Fatalf("recent-logs: %d entries, Total-Number %s", len(logs), r.Header.Get("Total-Number"))
	}
	results := map[string]int{}
	for _, l := range logs {
		if l.Key != "TriggerHook.User.Created" || l.Payload.Params["hookId"] != h.ID {
			t.Errorf("log entry %+v", l)
		}
		results[l.Payload.Result]++
	}
	if results["Success"] != 5 || results["Error"] != 4 {
		t.Errorf("results %v", results)
	}
	e.do(t, "GET", "/api/hooks/"+h.ID+"/recent-logs?logKey=TriggerHook.User.Deleted", nil, http.StatusOK, &logs)
	if len(logs) != 0 {
		t.Errorf("logKey filter: %d entries", len(logs))
	}
}

// TestHooks_GiveUp: an event the receiver never takes is marked failed once
// the retry window ends, and the next one is delivered.
func TestHooks_GiveUp(t *testing.T) {
	e := newEnv(t, apitest.Options{HookFirstRetry: 5 * time.Millisecond, HookGiveUpAfter: 300 * time.Millisecond})
	var fail sync.Map
	rc := newReceiver(t, nil)
	rc.fail = func(int) int {
		if _, ok := fail.Load("on"); ok {
			return http.StatusBadGateway
		}
		return http.StatusOK
	}
	fail.Store("on", true)
	e.createHook(t, rc.URL, "Role.Created")
	e.do(t, "POST", "/api/roles", map[string]any{"name": "lost", "description": "d"}, http.StatusOK, nil)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rc.mu.Lock()
		tried := len(rc.got)
		rc.mu.Unlock()
		if tried > 0 {
			break // the first attempt failed
		}
		if time.Now().After(deadline) {
			t.Fatal("no attempt of the first event")
		}
	}
	time.Sleep(500 * time.Millisecond) // past the window
	fail.Delete("on")
	e.do(t, "POST", "/api/roles", map[string]any{"name": "kept", "description": "d"}, http.StatusOK, nil)
	got := rc.waitAccepted(t, 1)
	if got[0].Payload.Data["name"] != "kept" {
		t.Errorf("delivered %v, want role kept", got[0].Payload.Data)
	}
	waitOutboxEmpty(t, e.Server)
	if got := counter(t, e.Registry, "idbolt_hook_deliveries_total", map[string]string{"result": "failed"}); got != 1 {
		t.Errorf("idbolt_hook_deliveries_total{result=failed} = %v, want 1", got)
	}
}

// TestHooks_Outbox: a tenant without hooks, or whose hooks do not subscribe
// to an event, writes no event; an event waits in the outbox while its
// receiver is down; hooks see only their own tenant's events.
func TestHooks_Outbox(t *testing.T) {
	e := newEnv(t, apitest.Options{HookFirstRetry: time.Hour})
	for i := range 3 {
		e.createUser(t, map[string]any{"username": fmt.Sprintf("quiet%d", i)})
	}
	pending := func() map[string]int {
		p, err := e.DB.PendingHookEvents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := pending(); len(p) != 0 {
		t.Fatalf("outbox without hooks: %v", p)
	}
	down := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	e.createHook(t, down.URL, "Role.Created")
	e.createUser(t, map[string]any{"username": "quiet_again"})
	if p := pending(); len(p) != 0 {
		t.Fatalf("outbox with a hook on another event: %v", p)
	}
	e.createHook(t, down.URL, "User.Created")
	e.createUser(t, map[string]any{"username": "waits"})
	if p := pending(); p["default"] != 1 {
		t.Fatalf("outbox with a subscribed hook: %v, want 1 event of default", p)
	}
	if got := counter(t, e.Registry, "idbolt_hook_queue_depth", map[string]string{"tenant": "default"}); got != 1 {
		t.Errorf("idbolt_hook_queue_depth{tenant=default} = %v, want 1", got)
	}
	// Tenant isolation.
	b := e.inTenant(t, "hooks-iso")
	rcA, rcB := newReceiver(t, nil), newReceiver(t, nil)
	e.createHook(t, rcA.URL, "User.Created")
	b.createHook(t, rcB.URL, "User.Created")
	ua := e.createUser(t, map[string]any{"username": "in_a"})
	var ub user
	b.do(t, "POST", "/api/users", map[string]any{"username": "in_b"}, http.StatusOK, &ub)
	da, db := rcA.waitAccepted(t, 1), rcB.waitAccepted(t, 1)
	time.Sleep(100 * time.Millisecond)
	if da, db = rcA.accepted(), rcB.accepted(); len(da) != 1 || len(db) != 1 || da[0].Payload.Data["id"] != ua.ID || db[0].Payload.Data["id"] != ub.ID {
		t.Errorf("tenant A's receiver got %d, B's %d deliveries; want each its own tenant's user", len(da), len(db))
	}
	if !strings.HasPrefix(db[0].Payload.Path, "/t/hooks-iso/api/users") {
		t.Errorf("tenant B's event path %q", db[0].Payload.Path)
	}
}

// TestHooks_DeadEndpointDelaysNoOther: while one hook's receiver holds its
// first request and never answers, another hook of the same tenant, on the
// same events, gets every event in commit order.
func TestHooks_DeadEndpointDelaysNoOther(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var hung sync.Mutex
	hangs := 0
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hung.Lock()
		hangs++
		hung.Unlock()
		<-release
	}))
	t.Cleanup(dead.Close)
	t.Cleanup(func() { close(release) }) // runs first: Close waits for the held request
	live := newReceiver(t, nil)
	e.createHook(t, dead.URL, "User.Created")
	liveHook := e.createHook(t, live.URL, "User.Created")
	var ids []string
	for i := range 3 {
		ids = append(ids, e.createUser(t, map[string]any{"username": fmt.Sprintf("alive%d", i)}).ID)
	}
	got := live.waitAccepted(t, 3)
	for i, d := range got {
		if d.Payload.Data["id"] != ids[i] {
			t.Errorf("delivery %d: user %v, want %s", i, d.Payload.Data["id"], ids[i])
		}
	}
	// The list's stats are each hook's own: the dead one's attempt is
	// still under way, so it has none.
	var list []hook
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		e.do(t, "GET", "/api/hooks?includeExecutionStats=true", nil, http.StatusOK, &list)
		if len(list) == 2 && list[1].ExecutionStats != nil && list[1].ExecutionStats.SuccessCount == 3 {
			break // the third attempt's audit entry is written after the answer
		}
		if time.Now().After(deadline) {
			t.Fatalf("list stats %+v", list)
		}
	}
	if list[1].ID != liveHook.ID || list[1].ExecutionStats.RequestCount != 3 || list[0].ExecutionStats == nil ||
		list[0].ExecutionStats.RequestCount != 0 {
		t.Errorf("stats: dead %+v, live %+v", list[0].ExecutionStats, list[1].ExecutionStats)
	}
	hung.Lock()
	defer hung.Unlock()
	if hangs != 1 {
		t.Errorf("the dead receiver got %d requests while holding the first, want 1", hangs)
	}
}

// TestHooks_TestRoute: POST /api/hooks/{id}/test sends one signed sample
// per event to the given URL (not the hook's), and answers Logto's 422
// codes when the receiver refuses or cannot be reached.
func TestHooks_TestRoute(t *testing.T) {
	e := newEnv(t)
	never := newReceiver(t, nil) // the hook's own URL: a test never goes there
	h := e.createHook(t, never.URL, "User.Created")
	rc := newReceiver(t, nil)
	events := []string{"Role.Created", "PostSignIn", "Role.Created"}
	e.do(t, "POST", "/api/hooks/"+h.ID+"/test", map[string]any{"events": events,
		"config": map[string]any{"url": rc.URL, "headers": map[string]string{"x-test": "yes"}}}, http.StatusNoContent, nil)
	got := rc.waitAccepted(t, 2)
	seen := map[string]bool{}
	for _, d := range got {
		checkSignature(t, d, h.SigningKey)
		if d.Payload.HookID != h.ID || d.Header.Get("X-Test") != "yes" || d.Payload.Data != nil {
			t.Errorf("sample %+v, headers %v", d.Payload, d.Header)
		}
		seen[d.Payload.Event] = true
	}
	if len(got) != 2 || !seen["Role.Created"] || !seen["PostSignIn"] {
		t.Errorf("samples of %v, want one each of Role.Created and PostSignIn", seen)
	}
	if n := len(never.accepted()); n != 0 {
		t.Errorf("the hook's own URL got %d requests", n)
	}
	var logs []any
	e.do(t, "GET", "/api/hooks/"+h.ID+"/recent-logs", nil, http.StatusOK, &logs)
	if len(logs) != 0 {
		t.Errorf("a test is in recent-logs: %v", logs)
	}

	refusing := newReceiver(t, func(int) int { return http.StatusTeapot })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name, id string
		body     any
		status   int
		code     string
	}{
		{"Refused", h.ID, map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": refusing.URL}}, 422, "hook.endpoint_responded_with_error"},
		{"Unreachable", h.ID, map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": closed.URL}}, 422, "hook.send_test_payload_failed"},
		{"NoEvents", h.ID, map[string]any{"events": []string{}, "config": map[string]any{"url": rc.URL}}, 400, "hook.missing_events"},
		{"NoConfig", h.ID, map[string]any{"events": []string{"User.Created"}}, 400, "guard.invalid_input"},
		{"BadURL", h.ID, map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": "file:///etc/passwd"}}, 400, "guard.invalid_input"},
		{"Missing", "nope", map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": rc.URL}}, 404, "entity.not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, call(t, "POST", e.URL+"/api/hooks/"+tc.id+"/test", e.token, tc.body), tc.status, tc.code)
		})
	}
}

// TestHooks_TenantMadeAgain: a tenant deleted and made again under the same
// id numbers its events from 1 anew; its hook gets the new tenant's event,
// never one decoded for the old tenant.
func TestHooks_TenantMadeAgain(t *testing.T) {
	e := newEnv(t)
	sys := e.SystemToken(t)
	deliveredTo := func() string {
		t.Helper()
		b := e.inTenant(t, "again")
		rc := newReceiver(t, nil)
		b.createHook(t, rc.URL, "User.Created")
		var u user
		b.do(t, "POST", "/api/users", map[string]any{"username": "same_name"}, http.StatusOK, &u)
		if got := rc.waitAccepted(t, 1)[0].Payload.Data["id"]; got != u.ID {
			t.Errorf("delivered user %v, want %s", got, u.ID)
		}
		return u.ID
	}
	first := deliveredTo()
	if r := call(t, "DELETE", e.URL+"/system/tenants/again", sys, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete tenant: %d %s", r.Status, r.Body)
	}
	if second := deliveredTo(); second == first {
		t.Fatalf("the tenant made again has the same user id %s", second)
	}
}
