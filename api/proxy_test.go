package api_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
)

// failedToken sends a token request with a wrong secret through client,
// with the given forwarding headers, and checks it is refused with want.
func failedToken(t *testing.T, client *http.Client, base, clientID string, headers map[string]string, want int) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "scope": {"all"}}
	req, err := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, "wrong-secret")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("token request from %s with %v: %d, want %d", clientID, headers, resp.StatusCode, want)
	}
}

// auditIPs returns the ip of every failed token request of clientID in the
// audit log, waiting for the group commit to write wantN of them.
func auditIPs(t *testing.T, srv *apitest.Server, tok, clientID string, wantN int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var entries []struct {
			Payload struct {
				IP            string `json:"ip"`
				ApplicationID string `json:"applicationId"`
			} `json:"payload"`
		}
		r := call(t, "GET", srv.URL+"/api/logs?page_size=100&logKey=ExchangeTokenBy.ClientCredentials", tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("logs: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &entries)
		var ips []string
		for _, e := range entries {
			if e.Payload.ApplicationID == clientID {
				ips = append(ips, e.Payload.IP)
			}
		}
		if len(ips) >= wantN || time.Now().After(deadline) {
			slices.Sort(ips)
			return ips
		}
		time.Sleep(50 * time.Millisecond) // entries are group-committed every 100 ms
	}
}

// TestTrustedProxies_AuditAndBudgets runs a server that trusts 127.0.0.1
// as a reverse proxy, and checks through real connections that the
// forwarding headers decide the audit log's ip and the per-address budget
// of failed requests only when the peer is that proxy, and that the client
// cannot pass for another address by prepending entries.
func TestTrustedProxies_AuditAndBudgets(t *testing.T) {
	trusted, err := api.ParseTrustedProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	logs := &syncBuffer{}
	srv := apitest.Start(t, apitest.Options{Now: clk.Now, TrustedProxies: trusted,
		SourceFailures: limits.Rate{Requests: 3, Per: time.Minute}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	tok := srv.ManagementToken(t, "default")
	proxy, direct := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.7")

	t.Run("AuditIP", func(t *testing.T) {
		tests := []struct {
			name    string
			client  *http.Client
			headers map[string]string
			wantIP  string
		}{
			{"untrusted peer, X-Forwarded-For ignored", direct, map[string]string{"X-Forwarded-For": "203.0.113.10"}, "127.0.0.7"},
			{"untrusted peer, Forwarded ignored", direct, map[string]string{"Forwarded": "for=203.0.113.11"}, "127.0.0.7"},
			{"trusted peer, X-Forwarded-For", proxy, map[string]string{"X-Forwarded-For": "203.0.113.12"}, "203.0.113.12"},
			{"trusted peer, spoofed left-most entry", proxy, map[string]string{"X-Forwarded-For": "192.0.2.66, 203.0.113.13"}, "203.0.113.13"},
			{"trusted peer, Forwarded with a quoted IPv6 and port", proxy,
				map[string]string{"Forwarded": `for=192.0.2.66;proto=https, for="[2001:db8:cafe::17]:4711"`}, "2001:db8:cafe::17"},
			{"trusted peer, Forwarded unknown: the proxy itself", proxy, map[string]string{"Forwarded": "for=192.0.2.66, for=unknown"}, "127.0.0.1"},
			{"trusted peer, the two headers disagree: the proxy itself", proxy,
				map[string]string{"Forwarded": "for=192.0.2.66", "X-Forwarded-For": "203.0.113.14"}, "127.0.0.1"},
			{"trusted peer, no header", proxy, nil, "127.0.0.1"},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clientID := "proxy-audit-" + strconv.Itoa(i)
				failedToken(t, tt.client, srv.URL, clientID, tt.headers, http.StatusUnauthorized)
				if got := auditIPs(t, srv, tok, clientID, 1); len(got) != 1 || got[0] != tt.wantIP {
					t.Errorf("audit ip %q, want %q", got, tt.wantIP)
				}
				if want := "route=/oidc/token status=401"; !strings.Contains(logs.String(), want) {
					t.Fatalf("no request log line with %q:\n%s", want, logs)
				}
				// The request log names the same address.
				lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
				var last string
				for _, l := range lines {
					if strings.Contains(l, "route=/oidc/token status=401") {
						last = l
					}
				}
				if !strings.HasSuffix(last, " ip="+tt.wantIP) {
					t.Errorf("request log %q, want ip=%s", last, tt.wantIP)
				}
			})
		}
	})

	t.Run("FailureBudget", func(t *testing.T) {
		clk.Add(time.Hour) // budgets spent above are refilled
		junk := func(client *http.Client, xff string, want int) {
			t.Helper()
			req, _ := http.NewRequest("GET", srv.URL+"/api/users", nil)
			req.Header.Set("Authorization", "Bearer junk")
			if xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("junk bearer token, X-Forwarded-For %q: %d, want %d", xff, resp.StatusCode, want)
			}
		}
		for range 3 {
			junk(proxy, "198.51.100.1", http.StatusUnauthorized)
		}
		junk(proxy, "198.51.100.1", http.StatusTooManyRequests)
		junk(proxy, "192.0.2.1, 198.51.100.1", http.StatusTooManyRequests) // a prepended entry changes nothing
		// Another client behind the same proxy, and the proxy itself, have
		// budgets of their own.
		junk(proxy, "198.51.100.2", http.StatusUnauthorized)
		junk(proxy, "", http.StatusUnauthorized)
		// An untrusted peer is charged under its own address, whatever it
		// claims.
		for range 3 {
			junk(direct, "198.51.100.3", http.StatusUnauthorized)
		}
		junk(direct, "198.51.100.4", http.StatusTooManyRequests)
		junk(proxy, "198.51.100.3", http.StatusUnauthorized)
	})
}
