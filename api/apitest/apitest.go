// Package apitest starts a complete idbolt server in-process on a temporary
// data file, for idbolt's own tests and for users' integration tests:
//
//	srv := apitest.Start(t)
//	token := srv.ManagementToken(t, "default")
//	req, _ := http.NewRequest("GET", srv.URL+"/api/users", nil)
//	req.Header.Set("Authorization", "Bearer "+token)
//
// The server listens on a loopback port, uses the real store, auth and api
// packages, and is stopped and its file removed when the test ends.
package apitest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/kv/kvtest"
)

// Options configure Start. The zero value is a good default.
type Options struct {
	// Path is the data file; empty means a new file in tb.TempDir().
	Path string
	// Sync makes every commit fsync, as in production. Off by default, since
	// tests rarely need durability and fsync makes them slow.
	Sync bool
	// Alg is the signing algorithm of the bootstrap tenant; empty means ES256.
	Alg string
	// Now pins the clock of store, auth and api; nil means time.Now.
	Now func() time.Time
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// AuthFailures is the budget of failed client authentications per
	// client id and source address; nil means the server's default (20 a minute).
	AuthFailures *limits.Rate
	// AuditFailures is how many failed token requests per source address
	// and minute are audited one by one; the zero value means the server's
	// default. Tests that audit many failures from one address raise it.
	AuditFailures limits.Rate
	// SourceFailures is the budget of failed requests (authentication
	// failures, failed token requests) per source address; the zero value
	// means the server's default (100 a minute). Integration tests that
	// make many failed requests from one address raise it.
	SourceFailures limits.Rate
	// RateLimit is the per-tenant budget; the zero value means unlimited,
	// which suits most tests.
	RateLimit limits.Rate
	// NoAudit turns the audit log off (for overhead benchmarks).
	NoAudit bool
	// Cluster stands in for cluster mode (api.Config.Cluster); nil runs a
	// single server.
	Cluster api.Cluster
	// MaxJTIsPerClient bounds the live JWT bearer assertion jtis of one API
	// client; zero means the server's default.
	MaxJTIsPerClient int
	// WebhookBackoff is the wait before each retry of an email webhook
	// delivery, one retry per entry; nil means the server's 100 ms and
	// 400 ms. Tests that make deliveries fail shorten it.
	WebhookBackoff []time.Duration
	// BodyTimeout bounds the reading of a request body; zero means the
	// server's default (30 s).
	BodyTimeout time.Duration
	// Connections bounds the open connections, as the --max-connections
	// flags do; the zero value means no bound.
	Connections api.ConnLimits
	// BackupStallTimeout cuts a backup download that makes no progress for
	// this long; zero means the server's 30 s.
	BackupStallTimeout time.Duration
	// CORSOrigins are the server's own allowed browser origins, as the
	// --cors-origins flag gives them (api.Config.CORSOrigins); they must be
	// normalized (store.NormalizeCORSOrigins).
	CORSOrigins []string
	// TrustedProxies are the peers whose forwarding headers name the
	// client, as --trusted-proxies sets them; nil trusts none.
	TrustedProxies api.TrustedProxies
	// HookFirstRetry is the wait before a failed webhook delivery is
	// retried (doubling from there); zero means the server's 1 s. Tests
	// whose receivers fail shorten it.
	HookFirstRetry time.Duration
	// HookGiveUpAfter is how long an event is retried before it is given
	// up; zero means the server's 24 h.
	HookGiveUpAfter time.Duration
}

// Server is a running in-process idbolt.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	// ClientID and ClientSecret are the bootstrap admin application of
	// tenant default, which holds the Management API role and is an instance
	// administrator.
	ClientID     string
	ClientSecret string
	// DB is the open data file.
	DB *store.DB
	// Auth is the token service.
	Auth *auth.Auth
	// Handler is the server's handler, for calling it without a network
	// round trip (benchmarks).
	Handler http.Handler
	// Registry holds the server's metrics.
	Registry *prometheus.Registry
	// Limiter holds the per-tenant request budgets.
	Limiter *limits.Limiter

	http      *httptest.Server
	stopHooks func() // stops the webhook deliverer
	tb        testing.TB
	rec       *kvtest.Recorder // nil in benchmarks
	path      string
}

// Start starts a server and registers its shutdown with tb.Cleanup.
func Start(tb testing.TB, opts ...Options) *Server {
	tb.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Path == "" {
		o.Path = filepath.Join(tb.TempDir(), "idbolt.db")
	}
	if o.Alg == "" {
		o.Alg = "ES256"
	}
	ctx := context.Background()
	// A test records the write-set of every commit, Open's own included,
	// and checks, when the server closes, that replaying them onto the file
	// as it was before Open (none for a new one) gives the file as it is.
	// Benchmarks do not: it would weigh on what they measure.
	var rec *kvtest.Recorder
	var onCommit func(kv.WriteSet)
	if _, bench := tb.(*testing.B); !bench {
		rec = new(kvtest.Recorder)
		onCommit = rec.Record
		if err := rec.Start(o.Path, tb.TempDir()); err != nil {
			tb.Fatal(err)
		}
	}
	db, err := store.Open(ctx, o.Path, store.Options{NoSync: !o.Sync, Now: o.Now, NoAudit: o.NoAudit, Logger: o.Logger,
		MaxJTIsPerClient: o.MaxJTIsPerClient, OnCommit: onCommit})
	if err != nil {
		tb.Fatalf("apitest: open store: %v", err)
	}
	s := &Server{DB: db, ClientID: "apitest-admin", ClientSecret: store.NewSecret(), tb: tb, rec: rec, path: o.Path}
	key, err := auth.GenerateKey(o.Alg)
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	creds, err := db.Bootstrap(ctx, store.NewTenant{ID: store.DefaultTenant, Name: "Default", SigningKey: key,
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, System: true})
	if err != nil {
		tb.Fatalf("apitest: bootstrap: %v", err)
	} else if creds == nil {
		s.ClientID, s.ClientSecret = "", "" // an existing file keeps its own admin
	}

	ts := httptest.NewUnstartedServer(nil)
	s.URL = "http://" + ts.Listener.Addr().String()
	s.Registry = prometheus.NewRegistry()
	if err := db.RegisterMetrics(s.Registry); err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	var authFail *limits.Limiter
	if o.AuthFailures != nil {
		authFail = limits.New(*o.AuthFailures, o.Now)
	}
	s.Auth, err = auth.New(auth.Config{Store: db, BaseURL: s.URL, Alg: o.Alg, Now: o.Now, Logger: o.Logger,
		Registry: s.Registry, AuthFailures: authFail, AuditFailures: o.AuditFailures})
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	if _, err := s.Auth.RotateExposedKeys(ctx); err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	s.Limiter = limits.New(o.RateLimit, o.Now)
	if err := api.SyncRateLimits(ctx, db, s.Limiter); err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	var sources *limits.Limiter
	if !o.SourceFailures.Unlimited() {
		sources = limits.NewBounded(o.SourceFailures, limits.MaxTrackedSources, o.Now)
	}
	s.Handler = api.New(api.Config{Store: db, Auth: s.Auth, Logger: o.Logger, BaseURL: s.URL, Now: o.Now,
		Limiter: s.Limiter, Sources: sources, Registry: s.Registry, WebhookBackoff: o.WebhookBackoff,
		BackupStallTimeout: o.BackupStallTimeout, Cluster: o.Cluster, CORSOrigins: o.CORSOrigins})
	ts.Config.Handler = api.LimitBodies(api.TrustProxies(s.Handler, o.TrustedProxies), o.BodyTimeout)
	if o.Connections != (api.ConnLimits{}) {
		ts.Listener = api.LimitListener(ts.Listener, o.Connections, s.Registry)
		ts.Config.ConnState = api.ConnStateHook(ts.Listener)
	}
	var leader func() bool
	if o.Cluster != nil {
		leader = o.Cluster.Leader
	}
	hooks, err := api.NewHookDeliverer(api.HookDeliveryConfig{Store: db, Logger: o.Logger, Registry: s.Registry,
		Leader: leader, FirstRetry: o.HookFirstRetry, GiveUpAfter: o.HookGiveUpAfter, Now: o.Now})
	if err != nil {
		tb.Fatalf("apitest: %v", err)
	}
	hooksCtx, stopHooks := context.WithCancel(context.Background())
	hooksDone := make(chan struct{})
	go func() {
		defer close(hooksDone)
		hooks.Run(hooksCtx)
	}()
	s.stopHooks = func() { stopHooks(); <-hooksDone }
	ts.Start()
	s.http = ts
	tb.Cleanup(func() {
		// Every test that uses a server also checks, at its end, that no
		// reference in the file dangles.
		if s.http != nil {
			if err := db.CheckIntegrity(context.Background()); err != nil {
				tb.Errorf("apitest: data file integrity: %v", err)
			}
		}
		s.Close()
	})
	return s
}

// Close stops the server and closes the data file. It is safe to call twice.
func (s *Server) Close() {
	if s.http != nil {
		s.http.Close()
		s.http = nil
		s.stopHooks()
		s.DB.Close()
		if s.rec != nil {
			if err := s.rec.Verify(s.path); err != nil {
				s.tb.Errorf("apitest: write-sets: %v", err)
			}
		}
	}
}

// TenantPrefix returns the path prefix of tenant ("" for default).
func TenantPrefix(tenant string) string { return auth.TenantPrefix(tenant) }

// Token gets an access token with client_credentials and fails tb on error.
func Token(tb testing.TB, baseURL, tenant, clientID, secret, resource, scope string) string {
	tb.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {scope}}
	req, err := http.NewRequest("POST", baseURL+TenantPrefix(tenant)+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("apitest: token request: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("apitest: token request: %d %s", resp.StatusCode, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		tb.Fatalf("apitest: token response %s: %v", body, err)
	}
	return tr.AccessToken
}

// ManagementToken returns a Management API token (scope all) of tenant, got
// with the bootstrap admin's credentials; tenant must be default unless its
// own admin credentials are passed to Token instead.
func (s *Server) ManagementToken(tb testing.TB, tenant string) string {
	tb.Helper()
	return Token(tb, s.URL, tenant, s.ClientID, s.ClientSecret, store.ManagementIndicator(tenant), "all")
}

// SystemToken returns a token for the /system API.
func (s *Server) SystemToken(tb testing.TB) string {
	tb.Helper()
	return Token(tb, s.URL, store.DefaultTenant, s.ClientID, s.ClientSecret, store.SystemIndicator, "all")
}
