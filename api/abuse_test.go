package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// anonymousAuditBytesPerMinute is the bound the README states on what one
// source address can add to a tenant's audit log per minute: 10 failed
// token requests stored one by one, of at most 2 KiB each, and one summary
// of at most 512 bytes.
const anonymousAuditBytesPerMinute = 10*2048 + 512

// storedAuditSize is what an entry takes in the data file's audit bucket:
// the 8-byte key, bbolt's 16-byte leaf element, and the record (8-byte
// time, id length and 21-byte id, 2-byte key length, key, payload).
func storedAuditSize(key string, payload []byte) int {
	return 8 + 16 + 8 + 1 + 21 + 2 + len(key) + len(payload)
}

// TestAbuse_AnonymousAuditBytesBounded floods /oidc/token from one address
// with bodies of the maximum size, full of characters that JSON escapes,
// for three minutes, and checks what reached the audit log: at most the
// stated bytes per minute, the rest counted in idbolt_audit_suppressed_total
// and summarised once a minute.
func TestAbuse_AnonymousAuditBytesBounded(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	tok := srv.ManagementToken(t, "default")
	attacker := clientFrom(t, "127.0.0.2")

	junk := strings.Repeat("<", 3000) // %3C in the body: about 63 KiB in all
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://x.example/" + junk},
		"scope": {junk}, "organization_id": {junk}, "client_secret": {junk}}
	for i := range 2 {
		form.Set("unknown_"+strconv.Itoa(i), junk)
	}
	const minutes, perMinute = 3, 150
	var suppressed, reached int
	for m := range minutes {
		for i := range perMinute {
			form.Set("client_id", strconv.Itoa(m*perMinute+i)+junk)
			body := form.Encode()
			if len(body) > 64<<10 {
				t.Fatalf("body of %d bytes, over the token endpoint's limit", len(body))
			}
			req, err := http.NewRequest("POST", srv.URL+"/oidc/token", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", junk)
			resp, err := attacker.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusUnauthorized:
				reached++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("junk request: %d", resp.StatusCode)
			}
		}
		clk.Add(time.Minute)
	}
	suppressed = reached - minutes*10
	// The first request of a minute wrote the summary of the minute before;
	// the last one is written at a clean stop.
	srv.Auth.FlushAuditSummaries()

	type entry struct {
		Key     string          `json:"key"`
		Payload json.RawMessage `json:"payload"`
	}
	var mine []entry
	deadline := time.Now().Add(20 * time.Second)
	for {
		mine = mine[:0]
		for page := 1; ; page++ {
			var entries []entry
			r := call(t, "GET", srv.URL+"/api/logs?page_size=100&page="+strconv.Itoa(page), tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("logs: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &entries)
			for _, e := range entries {
				if strings.Contains(string(e.Payload), `"ip":"127.0.0.2"`) {
					mine = append(mine, e)
				}
			}
			if len(entries) < 100 {
				break
			}
		}
		if len(mine) >= minutes*11 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // entries are group-committed every 100 ms
	}
	total, summarised := 0, 0
	for _, e := range mine {
		total += storedAuditSize(e.Key, e.Payload)
		if e.Key == "ExchangeTokenBy.Suppressed" {
			var p struct {
				Params map[string]string `json:"params"`
			}
			if err := json.Unmarshal(e.Payload, &p); err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(p.Params["suppressed"])
			summarised += n
		}
	}
	t.Logf("%d junk requests reached the handler, %d audit entries of %d bytes in all", reached, len(mine), total)
	if total > minutes*anonymousAuditBytesPerMinute {
		t.Errorf("one address added %d bytes of audit entries in %d minutes, over the stated %d per minute",
			total, minutes, anonymousAuditBytesPerMinute)
	}
	if len(mine) != minutes*11 {
		t.Errorf("%d entries from the flood, want %d (10 stored and 1 summary a minute)", len(mine), minutes*11)
	}
	if summarised != suppressed || suppressed <= 0 {
		t.Errorf("summaries count %d suppressed requests, want %d", summarised, suppressed)
	}
	if got := counter(t, srv.Registry, "idbolt_audit_suppressed_total", map[string]string{"tenant": "default"}); got != float64(suppressed) {
		t.Errorf("idbolt_audit_suppressed_total = %v, want %d", got, suppressed)
	}
}

// TestAbuse_ThrottledAddressRightSecretWorks checks that an address which
// has spent its budget of failed requests (a NAT shared with a flood) still
// gets a token with the right client secret, and that the new token works on
// the Management API from that address, while junk from it stays refused:
// unknown secrets, junk bearer tokens and JWT bearer assertions (signature
// checks, the expensive work).
func TestAbuse_ThrottledAddressRightSecretWorks(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now, SourceFailures: limits.Rate{Requests: 10, Per: time.Minute}})
	nat := clientFrom(t, "127.0.0.5")
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	for i := range 10 {
		if r := postFormVia(t, nat, srv.URL+"/oidc/token", form, "nobody-"+strconv.Itoa(i), "guess"); r.Status != http.StatusUnauthorized {
			t.Fatalf("junk token request %d: %d %s", i, r.Status, r.Body)
		}
	}
	refusedJunk := func(when string) {
		t.Helper()
		if r := callVia(t, nat, "GET", srv.URL+"/api/users", "junk-bearer", nil); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: junk bearer token from the throttled address: %d %s", when, r.Status, r.Body)
		}
		jb := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"a.b.c"}}
		if r := postFormVia(t, nat, srv.URL+"/oidc/token", jb, "", ""); r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("%s: jwt bearer assertion from the throttled address: %d %s", when, r.Status, r.Body)
		}
	}
	refusedJunk("after the flood")
	r := postFormVia(t, nat, srv.URL+"/oidc/token", form, srv.ClientID, srv.ClientSecret)
	if r.Status != http.StatusOK {
		t.Fatalf("right secret from the throttled address: %d %s", r.Status, r.Body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tr)
	if r := callVia(t, nat, "GET", srv.URL+"/api/users", tr.AccessToken, nil); r.Status != http.StatusOK {
		t.Errorf("new token from the throttled address: %d %s", r.Status, r.Body)
	}
	// Junk stays refused: a wrong secret is checked and charged, the
	// expensive work is not even started.
	if r := postFormVia(t, nat, srv.URL+"/oidc/token", form, "nobody-else", "guess"); r.Status != http.StatusUnauthorized {
		t.Errorf("junk secret after the right one: %d %s", r.Status, r.Body)
	}
	refusedJunk("after a token was issued")
}

// TestAbuse_AuditBoundedPerTenantAcrossAddresses floods one tenant's token
// endpoint from 40 loopback addresses, each staying within its own audit
// budget (10 a minute), and checks that the tenant's log got at most the
// per-tenant 300 failed requests a minute one by one, the rest counted and
// summarised per tenant, so that many addresses cannot fill the disk.
func TestAbuse_AuditBoundedPerTenantAcrossAddresses(t *testing.T) {
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now})
	tok := srv.ManagementToken(t, "default")
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}}
	const addresses, perAddress = 40, 10
	for a := range addresses {
		c := clientFrom(t, "127.0.1."+strconv.Itoa(a+1))
		for i := range perAddress {
			if r := postFormVia(t, c, srv.URL+"/oidc/token", form, "nobody-"+strconv.Itoa(i), "guess"); r.Status != http.StatusUnauthorized {
				t.Fatalf("address %d, request %d: %d %s", a, i, r.Status, r.Body)
			}
		}
	}
	srv.Auth.FlushAuditSummaries()

	var stored, summaries, summarised int
	deadline := time.Now().Add(20 * time.Second)
	for {
		stored, summaries, summarised = 0, 0, 0
		for page := 1; ; page++ {
			var entries []struct {
				Key     string `json:"key"`
				Payload struct {
					Result string            `json:"result"`
					Params map[string]string `json:"params"`
				} `json:"payload"`
			}
			r := call(t, "GET", srv.URL+"/api/logs?page_size=100&page="+strconv.Itoa(page), tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("logs: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &entries)
			for _, e := range entries {
				switch {
				case e.Key == "ExchangeTokenBy.Suppressed":
					n, _ := strconv.Atoi(e.Payload.Params["suppressed"])
					summaries, summarised = summaries+1, summarised+n
				case strings.HasPrefix(e.Key, "ExchangeTokenBy.") && e.Payload.Result == "Error":
					stored++
				}
			}
			if len(entries) < 100 {
				break
			}
		}
		if stored+summarised >= addresses*perAddress || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // entries are group-committed every 100 ms
	}
	t.Logf("%d failed requests stored one by one, %d in %d summaries", stored, summarised, summaries)
	if stored > 300 {
		t.Errorf("%d failed requests of one tenant stored one by one in a minute, over the stated 300", stored)
	}
	if stored+summarised != addresses*perAddress {
		t.Errorf("stored %d + summarised %d, want %d", stored, summarised, addresses*perAddress)
	}
	if summaries > 1 {
		t.Errorf("%d summaries, want one for the tenant", summaries)
	}
	if got := counter(t, srv.Registry, "idbolt_audit_suppressed_total", map[string]string{"tenant": "default"}); got != float64(summarised) {
		t.Errorf("idbolt_audit_suppressed_total = %v, want %d", got, summarised)
	}
}
