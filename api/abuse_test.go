package api_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
)

// clientFrom returns an HTTP client whose connections come from the loopback
// address ip (any 127.x.y.z works on Linux), so that a test can play two
// sources against one server.
func clientFrom(t testing.TB, ip string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// TestAbuse_JunkTokensKeepTenantWorking floods the Management API and the
// token endpoint from one address with junk credentials, more than the
// tenant's whole budget, and checks that the tenant's real client (at
// another address) is never refused, and that the flood is throttled by a
// budget of its own.
func TestAbuse_JunkTokensKeepTenantWorking(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now, RateLimit: limits.Rate{Requests: 200, Per: 10 * time.Second}})
	real, attacker := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	tok := srv.ManagementToken(t, "default")

	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	refused := 0
	for i := range 260 {
		r := callVia(t, attacker, "GET", srv.URL+"/api/users", "junk-"+strconv.Itoa(i), nil)
		if r.Status == http.StatusTooManyRequests {
			refused++
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("junk request %d: 429 without Retry-After", i)
			}
		} else if r.Status != http.StatusUnauthorized {
			t.Fatalf("junk request %d: %d %s", i, r.Status, r.Body)
		}
		r = postFormVia(t, attacker, srv.URL+"/oidc/token", form, "nobody-"+strconv.Itoa(i), "guess")
		if r.Status != http.StatusUnauthorized && r.Status != http.StatusTooManyRequests {
			t.Fatalf("junk token request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused == 0 {
		t.Error("520 junk requests from one address were never throttled")
	}
	// The real client keeps working, on both endpoints.
	for i := range 20 {
		if r := callVia(t, real, "GET", srv.URL+"/api/users", tok, nil); r.Status != http.StatusOK {
			t.Fatalf("real client, request %d after the flood: %d %s", i, r.Status, r.Body)
		}
	}
	if r := postFormVia(t, real, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret); r.Status != http.StatusOK {
		t.Fatalf("real client's token request after the flood: %d %s", r.Status, r.Body)
	}
	// The tenant's budget was spent only by the real client: 1 token, 20
	// reads and 1 token.
	if r := callVia(t, real, "GET", srv.URL+"/api/users", tok, nil); r.Header.Get("RateLimit-Remaining") != strconv.Itoa(200-23) {
		t.Errorf("tenant budget after the flood: remaining %q, want %d", r.Header.Get("RateLimit-Remaining"), 200-23)
	}
	// A token the server has already verified works even from the
	// throttled address (e.g. a client behind the same NAT).
	if r := callVia(t, attacker, "GET", srv.URL+"/api/users", tok, nil); r.Status != http.StatusOK {
		t.Errorf("verified token from the throttled address: %d %s", r.Status, r.Body)
	}
	if got := counter(t, srv.Registry, "idbolt_rate_limit_hits_total", map[string]string{"tenant": "default", "route": "/api/users"}); got != 0 {
		t.Errorf("the tenant was rate limited %v times", got)
	}
}

// TestRateLimit_FailedClientAuthPerAddress checks that guessing a client's
// secret from one address does not lock the client out at another.
func TestRateLimit_FailedClientAuthPerAddress(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	real, attacker := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.3")
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	for i := range 21 {
		r := postFormVia(t, attacker, srv.URL+"/oidc/token", form, srv.ClientID, "guess"+strconv.Itoa(i))
		if want := http.StatusUnauthorized; i == 20 {
			if r.Status != http.StatusTooManyRequests {
				t.Fatalf("guess 21: %d, want 429", r.Status)
			}
		} else if r.Status != want {
			t.Fatalf("guess %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Guessing stays throttled at the guessing address, even with the right
	// secret...
	if r := postFormVia(t, attacker, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret); r.Status != http.StatusTooManyRequests {
		t.Errorf("right secret from the guessing address: %d, want 429", r.Status)
	}
	// ...while the right secret from another address always works.
	for i := range 5 {
		if r := postFormVia(t, real, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret); r.Status != http.StatusOK {
			t.Fatalf("right secret from another address, try %d: %d %s", i, r.Status, r.Body)
		}
	}
}
