package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// counter returns the value of the counter (or gauge) name with exactly
// labels.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(m, labels) {
				if m.GetGauge() != nil {
					return m.GetGauge().GetValue()
				}
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

func TestRateLimit_PerTenant(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now, RateLimit: limits.Rate{Requests: 10, Per: 10 * time.Second}})
	e := &env{Server: srv, token: srv.ManagementToken(t, "default")} // 1 of default's 10
	// The system token also comes from default's token endpoint (2 of 10);
	// /system itself is not limited.
	sys := srv.SystemToken(t)
	var other createdTenant
	call(t, "POST", e.URL+"/system/tenants", sys, map[string]any{"id": "other"}).JSON(t, &other)
	otherTok := apitest.Token(t, e.URL, "other", other.Credentials.ClientID, other.Credentials.ClientSecret, "https://other.logto.app/api", "all")

	refused := 0
	var retryAfter string
	for i := range 14 { // 8 left in the budget, so 6 refusals
		r := call(t, "GET", e.URL+"/api/users", e.token, nil)
		for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} {
			if r.Header.Get(h) == "" {
				t.Fatalf("request %d lacks %s", i, h)
			}
		}
		switch r.Status {
		case 200:
		case 429:
			refused++
			if r.Code() != "request.too_many_requests" {
				t.Errorf("429 body %s", r.Body)
			}
			retryAfter = r.Header.Get("Retry-After")
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused != 6 {
		t.Fatalf("%d refusals, want exactly 6", refused)
	}
	if got := counter(t, srv.Registry, "idbolt_rate_limit_hits_total", map[string]string{"tenant": "default", "route": "/api/users"}); got != 6 {
		t.Errorf("rate limit metric %v, want 6", got)
	}
	// Tenant other has its own budget.
	if r := call(t, "GET", e.URL+"/t/other/api/users", otherTok, nil); r.Status != 200 || r.Header.Get("RateLimit-Remaining") != "8" {
		t.Errorf("other tenant: %d remaining %s", r.Status, r.Header.Get("RateLimit-Remaining"))
	}
	// Retry-After is honest: waiting that long is enough.
	secs, err := strconv.Atoi(retryAfter)
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", retryAfter)
	}
	clk.Add(time.Duration(secs) * time.Second)
	if r := call(t, "GET", e.URL+"/api/users", e.token, nil); r.Status != 200 {
		t.Errorf("after Retry-After: %d", r.Status)
	}
	// Health checks and discovery are never limited.
	for range 20 {
		if r := call(t, "GET", e.URL+"/api/status", "", nil); r.Status != 204 {
			t.Fatalf("status limited: %d", r.Status)
		}
	}
	// The token endpoint counts too.
	r := postForm(t, e.URL+"/oidc/token", map[string][]string{"grant_type": {"client_credentials"}, "resource": {mgmtResource}}, srv.ClientID, srv.ClientSecret)
	if r.Status != 429 {
		t.Errorf("token endpoint over budget: %d %s", r.Status, r.Body)
	}

	t.Run("TenantOverride", func(t *testing.T) {
		r := call(t, "PATCH", e.URL+"/system/tenants/other", sys, map[string]any{"rateLimit": map[string]any{"requests": 1000, "perSeconds": 60}})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"rateLimit":{"requests":1000,"perSeconds":60}`) {
			t.Fatalf("patch: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/t/other/api/users", otherTok, nil); r.Header.Get("RateLimit-Limit") != "1000" {
			t.Errorf("override not in effect: %v", r.Header)
		}
		for _, bad := range []map[string]any{
			{"rateLimit": map[string]any{"requests": 0, "perSeconds": 60}},
			{"rateLimit": map[string]any{"requests": 10, "perSeconds": 0}},
			{"rateLimit": map[string]any{"requests": "many", "perSeconds": 1}},
		} {
			if r := call(t, "PATCH", e.URL+"/system/tenants/other", sys, bad); r.Status != 400 {
				t.Errorf("bad rate limit %v: %d %s", bad, r.Status, r.Body)
			}
		}
		r = call(t, "PATCH", e.URL+"/system/tenants/other", sys, map[string]any{"rateLimit": nil})
		if r.Status != 200 || !strings.Contains(string(r.Body), `"rateLimit":null`) {
			t.Fatalf("clear: %d %s", r.Status, r.Body)
		}
		if r := call(t, "GET", e.URL+"/t/other/api/users", otherTok, nil); r.Header.Get("RateLimit-Limit") != "10" {
			t.Errorf("default not restored: %v", r.Header)
		}
	})
}

func TestMetrics_Labels(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{})
	call(t, "GET", e.URL+"/api/users/"+u.ID, e.token, nil)
	call(t, "GET", e.URL+"/t/no-such-tenant/api/users", e.token, nil)
	if got := counter(t, e.Registry, "idbolt_http_requests_total",
		map[string]string{"tenant": "default", "route": "/api/users/:userId", "method": "GET", "code": "200"}); got != 1 {
		t.Errorf("requests by pattern: %v", got)
	}
	if got := counter(t, e.Registry, "idbolt_http_requests_total",
		map[string]string{"tenant": "unknown", "route": "/api/users", "method": "GET", "code": "404"}); got != 1 {
		t.Errorf("unknown tenant not counted as unknown: %v", got)
	}
	if got := counter(t, e.Registry, "idbolt_tokens_issued_total", map[string]string{"tenant": "default", "grant_type": "client_credentials"}); got != 1 {
		t.Errorf("tokens issued: %v", got)
	}
	postForm(t, e.URL+"/oidc/token", map[string][]string{"grant_type": {"client_credentials"}, "resource": {mgmtResource}}, e.ClientID, "wrong")
	if got := counter(t, e.Registry, "idbolt_token_failures_total", map[string]string{"tenant": "default", "reason": "invalid_client"}); got != 1 {
		t.Errorf("token failures: %v", got)
	}
	families, _ := e.Registry.Gather()
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), u.ID) || strings.Contains(l.GetValue(), "no-such-tenant") {
					t.Errorf("metric %s carries a raw value %q", f.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestRateLimit_FailedClientAuth(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	form := map[string][]string{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	for i := range 20 {
		if r := postForm(t, srv.URL+"/oidc/token", form, srv.ClientID, "guess"+strconv.Itoa(i)); r.Status != 401 {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The budget is spent: even the right secret must wait.
	r := postForm(t, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret)
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("after 20 failures: %d %v %s", r.Status, r.Header, r.Body)
	}
	// Other client ids are not affected.
	if r := postForm(t, srv.URL+"/oidc/token", form, "someone-else", "x"); r.Status != 401 {
		t.Errorf("other client id: %d", r.Status)
	}
	secs, _ := strconv.Atoi(r.Header.Get("Retry-After"))
	clk.Add(time.Duration(secs) * time.Second)
	if r := postForm(t, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret); r.Status != 200 {
		t.Errorf("after Retry-After: %d %s", r.Status, r.Body)
	}
	// Successes never spend the budget.
	for range 30 {
		if r := postForm(t, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret); r.Status != 200 {
			t.Fatalf("success refused: %d", r.Status)
		}
	}
}

// TestLogs_NoSecrets drives token and user requests through a logging server
// and checks that no secret, password or token reaches the log.
func TestLogs_NoSecrets(t *testing.T) {
	var buf syncBuffer
	srv := apitest.Start(t, apitest.Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	tok := srv.ManagementToken(t, "default")
	r := call(t, "POST", srv.URL+"/api/users?search=x", tok, map[string]any{"username": "logcheck", "password": "Sup3r-Secret-Pw!"})
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	postForm(t, srv.URL+"/oidc/token", map[string][]string{"grant_type": {"client_credentials"}, "resource": {mgmtResource}}, srv.ClientID, "wrong-secret-value")
	req, _ := http.NewRequest("GET", srv.URL+"/api/users", nil)
	req.Header.Set("X-Request-Id", "trace-123")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Request-Id") != "trace-123" {
		t.Errorf("client request id not kept: %q", resp.Header.Get("X-Request-Id"))
	}
	logs := buf.String()
	for _, secret := range []string{srv.ClientSecret, "Sup3r-Secret-Pw!", "wrong-secret-value", tok, tok[len(tok)-20:]} {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains a secret %q", secret[:8])
		}
	}
	if !strings.Contains(logs, `"request_id":"trace-123"`) || !strings.Contains(logs, `"route":"/api/users"`) {
		t.Errorf("request log lines missing:\n%s", logs)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
