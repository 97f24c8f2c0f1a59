// Command idbolt is a multi-tenant identity Management API server, compatible
// with Logto's Management API, with its data in one embedded bbolt file.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/auth/jwtcustom"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var misuse *usageError
	if errors.As(err, &misuse) {
		fmt.Fprintf(os.Stderr, "idbolt: %v\n\n%s", err, usage())
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "idbolt:", err)
		os.Exit(1)
	}
}

// run dispatches the sub-command. A bare "idbolt" serves. A command's
// --help is not an error: its flag set prints the usage and run returns nil.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		cmd, args = "help", args[1:]
	case len(args) > 0 && isVersionFlag(args[0]):
		cmd, args = "version", args[1:]
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stderr)
	case "backup":
		return backup(ctx, args, getenv, stdout, stderr)
	case "restore":
		return restore(args, getenv, stdout, stderr)
	case "rotate-master-key":
		return rotateMasterKey(args, getenv, stdout, stderr)
	case "cluster":
		return clusterCmd(args, getenv, stdout, stderr)
	case "import":
		return importCmd(ctx, args, getenv, stdout, stderr)
	case "admin":
		return adminCmd(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, args, getenv, stdout, stderr)
	case "version":
		printVersion(stdout)
		return nil
	case "help":
		return help(ctx, args, getenv, stdout)
	}
	return &usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// serveConfig is the parsed configuration of "idbolt serve".
type serveConfig struct {
	addr, data, baseURL, alg, logLevel, logFormat, metricsAddr string
	pprofAddr                                                  string
	masterKeyFile                                              string
	metricsToken                                               string // from --metrics-token-file
	rateLimit, failureRate                                     limits.Rate
	shutdownTimeout, auditRetention, bodyTimeout               time.Duration
	customClaimsTimeout                                        time.Duration
	connections                                                api.ConnLimits
	cluster                                                    clusterConfig
	corsOrigins                                                []string // normalized
	tls                                                        tlsConfig
	trustedProxies                                             api.TrustedProxies
}

// clusterConfig is the cluster part of serveConfig; nodeID empty means a
// single server.
type clusterConfig struct {
	nodeID, raftAddr, tlsDir, advertiseURL string
	peers                                  []cluster.Peer
	contactBound                           time.Duration
	// snapshotThreshold and snapshotInterval tune raft's log compaction;
	// zero leaves raft's defaults.
	snapshotThreshold uint64
	snapshotInterval  time.Duration
}

func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c serveConfig
	fs := newFlagSet("serve", stderr)
	fs.StringVar(&c.addr, "addr", env("IDBOLT_ADDR", ":3001"), "listen address (IDBOLT_ADDR)")
	fs.StringVar(&c.data, "data", env("IDBOLT_DATA", "./idbolt.db"), "data file (IDBOLT_DATA)")
	fs.StringVar(&c.masterKeyFile, "master-key-file", env("IDBOLT_MASTER_KEY_FILE", ""), "file with the key that encrypts signing keys at rest; default DATA.key, created if missing (IDBOLT_MASTER_KEY_FILE)")
	fs.StringVar(&c.baseURL, "base-url", env("IDBOLT_BASE_URL", "http://localhost:3001"), "public URL, used in issuers and Link headers (IDBOLT_BASE_URL)")
	fs.StringVar(&c.alg, "signing-alg", env("IDBOLT_SIGNING_ALG", "ES256"), "algorithm of new signing keys: ES256, ES384, RS256 or EdDSA (IDBOLT_SIGNING_ALG)")
	fs.StringVar(&c.logLevel, "log-level", env("IDBOLT_LOG_LEVEL", "info"), "debug, info, warn or error (IDBOLT_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", env("IDBOLT_LOG_FORMAT", "text"), "text or json (IDBOLT_LOG_FORMAT)")
	fs.StringVar(&c.metricsAddr, "metrics-addr", env("IDBOLT_METRICS_ADDR", ""), "serve /metrics on this address instead of the main listener (IDBOLT_METRICS_ADDR)")
	fs.StringVar(&c.pprofAddr, "pprof-addr", env("IDBOLT_PPROF_ADDR", ""), "serve Go's profiles under /debug/pprof/ on this loopback address, e.g. 127.0.0.1:6060 (IDBOLT_PPROF_ADDR)")
	metricsTokenFile := fs.String("metrics-token-file", env("IDBOLT_METRICS_TOKEN_FILE", ""),
		"file holding the bearer token /metrics requires; without it /metrics is served only on --metrics-addr (IDBOLT_METRICS_TOKEN_FILE)")
	rate := fs.String("rate-limit", env("IDBOLT_RATE_LIMIT", "200/10s"), "per-tenant request budget, REQUESTS/DURATION or off (IDBOLT_RATE_LIMIT)")
	failureRate := fs.String("failure-rate-limit", env("IDBOLT_FAILURE_RATE_LIMIT", "100/1m"), "budget of failed authentications and token requests per source address, REQUESTS/DURATION or off (IDBOLT_FAILURE_RATE_LIMIT)")
	shutdownTimeout := fs.String("shutdown-timeout", env("IDBOLT_SHUTDOWN_TIMEOUT", "10s"), "how long in-flight requests may take after SIGTERM (IDBOLT_SHUTDOWN_TIMEOUT)")
	retention := fs.String("audit-retention", env("IDBOLT_AUDIT_RETENTION", "2160h"), "how long audit entries are kept, e.g. 2160h (90 days) (IDBOLT_AUDIT_RETENTION)")
	bodyTimeout := fs.String("body-timeout", env("IDBOLT_BODY_TIMEOUT", api.DefaultBodyTimeout.String()), "how long a request body may take to arrive, 1s to 5m (IDBOLT_BODY_TIMEOUT)")
	customClaimsTimeout := fs.String("custom-claims-timeout", env("IDBOLT_CUSTOM_CLAIMS_TIMEOUT", jwtcustom.DefaultTimeout.String()),
		"how long a custom JWT claims script may run for a token, 10ms to 5s (IDBOLT_CUSTOM_CLAIMS_TIMEOUT)")
	maxConns := fs.String("max-connections", env("IDBOLT_MAX_CONNECTIONS", strconv.Itoa(api.DefaultMaxConnections)), "open connections in total; more are answered 503 (IDBOLT_MAX_CONNECTIONS)")
	maxConnsPerIP := fs.String("max-connections-per-ip", env("IDBOLT_MAX_CONNECTIONS_PER_IP", strconv.Itoa(api.DefaultMaxConnectionsPerSource)), "open connections per source address (IPv6: per /64); more are answered 429 (IDBOLT_MAX_CONNECTIONS_PER_IP)")
	corsOrigins := fs.String("cors-origins", env("IDBOLT_CORS_ORIGINS", ""), "browser origins, ORIGIN,..., that may call every tenant's /api and /oidc/token and the /system API, besides each tenant's own corsAllowedOrigins (IDBOLT_CORS_ORIGINS)")
	fs.StringVar(&c.cluster.nodeID, "node-id", env("IDBOLT_NODE_ID", ""), "cluster mode: this node's id (IDBOLT_NODE_ID)")
	fs.StringVar(&c.cluster.raftAddr, "raft-addr", env("IDBOLT_RAFT_ADDR", ""), "cluster mode: HOST:PORT of this node's cluster port, as the other nodes reach it (IDBOLT_RAFT_ADDR)")
	peers := fs.String("peers", env("IDBOLT_PEERS", ""), "cluster mode: the first members, ID=RAFTADDR,..., this node included, the same on every node (IDBOLT_PEERS)")
	fs.StringVar(&c.cluster.tlsDir, "cluster-tls-dir", env("IDBOLT_CLUSTER_TLS_DIR", ""), "cluster mode: directory with ca.pem, ID.pem and ID-key.pem (idbolt cluster init-certs) (IDBOLT_CLUSTER_TLS_DIR)")
	fs.StringVar(&c.cluster.advertiseURL, "advertise-url", env("IDBOLT_ADVERTISE_URL", ""), "cluster mode: this node's own URL, shown by GET /system/cluster; default from --addr (IDBOLT_ADVERTISE_URL)")
	contactBound := fs.String("cluster-contact-bound", env("IDBOLT_CLUSTER_CONTACT_BOUND", cluster.DefaultContactBound.String()),
		"cluster mode: a follower that has not heard from a leader for this long stops issuing tokens (IDBOLT_CLUSTER_CONTACT_BOUND)")
	snapshotThreshold := fs.String("raft-snapshot-threshold", env("IDBOLT_RAFT_SNAPSHOT_THRESHOLD", strconv.Itoa(cluster.DefaultSnapshotThreshold)),
		"cluster mode, advanced: raft entries between snapshots of the data file, and entries kept after one; "+
			"a node further behind catches up from a snapshot (IDBOLT_RAFT_SNAPSHOT_THRESHOLD)")
	snapshotInterval := fs.String("raft-snapshot-interval", env("IDBOLT_RAFT_SNAPSHOT_INTERVAL", cluster.DefaultSnapshotInterval.String()),
		"cluster mode, advanced: how often (staggered up to twice this) a node checks whether --raft-snapshot-threshold entries "+
			"were written since its last snapshot (IDBOLT_RAFT_SNAPSHOT_INTERVAL)")
	fs.StringVar(&c.tls.certFile, "tls-cert", env("IDBOLT_TLS_CERT", ""), "serve HTTPS with this PEM certificate chain, reloaded on SIGHUP and when it changes; needs --tls-key (IDBOLT_TLS_CERT)")
	fs.StringVar(&c.tls.keyFile, "tls-key", env("IDBOLT_TLS_KEY", ""), "PEM private key of --tls-cert (IDBOLT_TLS_KEY)")
	trustedProxies := fs.String("trusted-proxies", env("IDBOLT_TRUSTED_PROXIES", ""), "CIDR,... or IP,... of reverse proxies whose X-Forwarded-For and Forwarded headers name the client; default none (IDBOLT_TRUSTED_PROXIES)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if err = parseTLSFlags(&c, fs, getenv); err != nil {
		return c, err
	}
	if c.trustedProxies, err = api.ParseTrustedProxies(*trustedProxies); err != nil {
		return c, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.cluster, err = parseClusterFlags(c.cluster, *peers, *contactBound, c.addr, c.tls.scheme()); err != nil {
		return c, err
	}
	if c.cluster.snapshotThreshold, err = strconv.ParseUint(*snapshotThreshold, 10, 64); err != nil || c.cluster.snapshotThreshold < 16 {
		return c, fmt.Errorf("--raft-snapshot-threshold %q: want a whole number of at least 16", *snapshotThreshold)
	}
	if c.cluster.snapshotInterval, err = time.ParseDuration(*snapshotInterval); err != nil || c.cluster.snapshotInterval < 100*time.Millisecond {
		return c, fmt.Errorf("--raft-snapshot-interval %q: want a duration of at least 100ms", *snapshotInterval)
	}
	if c.pprofAddr != "" {
		if err := checkPprofAddr(c.pprofAddr); err != nil {
			return c, err
		}
	}
	if c.metricsToken, err = readMetricsToken(*metricsTokenFile); err != nil {
		return c, err
	}
	if c.shutdownTimeout, err = time.ParseDuration(*shutdownTimeout); err != nil || c.shutdownTimeout < 0 {
		return c, fmt.Errorf("--shutdown-timeout %q: want a duration", *shutdownTimeout)
	}
	if c.bodyTimeout, err = time.ParseDuration(*bodyTimeout); err != nil || c.bodyTimeout < time.Second || c.bodyTimeout > 5*time.Minute {
		return c, fmt.Errorf("--body-timeout %q: want a duration from 1s to 5m", *bodyTimeout)
	}
	if c.customClaimsTimeout, err = time.ParseDuration(*customClaimsTimeout); err != nil ||
		c.customClaimsTimeout < 10*time.Millisecond || c.customClaimsTimeout > 5*time.Second {
		return c, fmt.Errorf("--custom-claims-timeout %q: want a duration from 10ms to 5s", *customClaimsTimeout)
	}
	if c.connections.Total, err = strconv.Atoi(*maxConns); err != nil || c.connections.Total < 1 {
		return c, fmt.Errorf("--max-connections %q: want a whole number of at least 1", *maxConns)
	}
	if c.connections.PerSource, err = strconv.Atoi(*maxConnsPerIP); err != nil || c.connections.PerSource < 1 {
		return c, fmt.Errorf("--max-connections-per-ip %q: want a whole number of at least 1", *maxConnsPerIP)
	}
	if c.rateLimit, err = limits.ParseRate(*rate); err != nil {
		return c, fmt.Errorf("--rate-limit: %w", err)
	}
	if c.failureRate, err = limits.ParseRate(*failureRate); err != nil {
		return c, fmt.Errorf("--failure-rate-limit: %w", err)
	}
	if c.auditRetention, err = time.ParseDuration(*retention); err != nil || c.auditRetention < time.Hour {
		return c, fmt.Errorf("--audit-retention %q: want a duration of at least 1h", *retention)
	}
	if *corsOrigins != "" {
		if c.corsOrigins, err = store.NormalizeCORSOrigins("--cors-origins",
			strings.FieldsFunc(*corsOrigins, func(r rune) bool { return r == ',' || r == ' ' })); err != nil {
			return c, errors.New(store.ErrorMessage(err))
		}
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return c, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if !auth.ValidAlg(c.alg) {
		return c, fmt.Errorf("--signing-alg %q: want ES256, ES384, RS256 or EdDSA", c.alg)
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	return c, nil
}

// parseClusterFlags checks the cluster flags: none, or --node-id with
// --raft-addr, --peers and --cluster-tls-dir.
func parseClusterFlags(c clusterConfig, peers, contactBound, addr, scheme string) (clusterConfig, error) {
	if c.nodeID == "" {
		if c.raftAddr != "" || peers != "" || c.tlsDir != "" {
			return c, errors.New("--raft-addr, --peers and --cluster-tls-dir need --node-id")
		}
		return c, nil
	}
	if err := cluster.ValidNodeID(c.nodeID); err != nil {
		return c, fmt.Errorf("--node-id: %w", err)
	}
	if _, _, err := net.SplitHostPort(c.raftAddr); err != nil {
		return c, fmt.Errorf("--raft-addr %q: want HOST:PORT", c.raftAddr)
	}
	if c.tlsDir == "" {
		return c, errors.New("cluster mode needs --cluster-tls-dir (make one with idbolt cluster init-certs)")
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(peers, ",") {
		id, raftAddr, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || cluster.ValidNodeID(id) != nil || seen[id] {
			return c, fmt.Errorf("--peers %q: want ID=HOST:PORT,... with distinct ids", peers)
		}
		if _, _, err := net.SplitHostPort(raftAddr); err != nil {
			return c, fmt.Errorf("--peers: %s=%q: want HOST:PORT", id, raftAddr)
		}
		seen[id] = true
		c.peers = append(c.peers, cluster.Peer{ID: id, Addr: raftAddr})
	}
	var err error
	if c.contactBound, err = time.ParseDuration(contactBound); err != nil || c.contactBound < time.Second {
		return c, fmt.Errorf("--cluster-contact-bound %q: want a duration of at least 1s", contactBound)
	}
	if c.advertiseURL == "" {
		host, port, _ := net.SplitHostPort(addr)
		if host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
			return c, errors.New("cluster mode needs --advertise-url when --addr names no host")
		}
		c.advertiseURL = scheme + "://" + net.JoinHostPort(host, port)
	}
	return c, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	sink := newLogSink(stderr)
	defer sink.Close()
	var handler slog.Handler = slog.NewTextHandler(sink, &slog.HandlerOptions{Level: level})
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: level})
	}
	logger := slog.New(flushingHandler{handler, sink})
	if getenv("GOGC") == "" {
		// The live heap is small (the data is in the mapped file, caches are
		// bounded) while a token allocates about 25 KB, so at Go's default
		// of 100 the collector runs hundreds of times a second under load
		// and takes about a tenth of the CPU. GOGC in the environment wins.
		debug.SetGCPercent(defaultGCPercent)
	}
	var certs *api.CertReloader
	if cfg.tls.enabled() {
		// Before the data file and the cluster port: a bad pair fails at once.
		if certs, err = api.NewCertReloader(cfg.tls.certFile, cfg.tls.keyFile, logger); err != nil {
			return err
		}
		defer watchCerts(ctx, certs)()
		if strings.HasPrefix(cfg.baseURL, "http://") {
			logger.Warn("--base-url is http:// but the listener serves HTTPS: token issuers and discovery name the http URL, "+
				"which OIDC clients check against the URL they use", "base_url", cfg.baseURL)
		}
	} else {
		defer watchHangups(logger)()
	}
	if fitted, ok := fitConnections(cfg.connections, openFileLimit()); !ok {
		logger.Warn("--max-connections lowered to fit the limit on open files", "max_connections", fitted.Total,
			"open_file_limit", openFileLimit())
		cfg.connections = fitted
	}

	// In cluster mode the node comes first: the store proposes its writes
	// to it. What the leader writes once at start (bootstrap, key
	// rotation) runs when this node becomes leader.
	var (
		db      *store.DB
		a       *auth.Auth
		limiter = limits.New(cfg.rateLimit, nil)
		node    *clusterNode
	)
	if cfg.cluster.nodeID != "" {
		if node, err = startClusterPort(cfg, logger, func(ctx context.Context) {
			if err := bootstrap(ctx, db, cfg.data, cfg.alg, getenv, stderr, logger); err != nil {
				logger.Error("bootstrap on becoming leader failed", "err", err)
			}
			rotateExposedKeys(ctx, a, logger)
		}); err != nil {
			return err
		}
		defer node.close()
	}
	opts := store.Options{Logger: logger, OnAuditError: func(err error, n int) {
		logger.Error("audit entries lost: group commit failed", "entries", n, "err", err)
	}, MasterKeyFile: cfg.masterKeyFile}
	if node != nil {
		opts.Replicator = node.Node
		opts.OnApplied = func(c store.Applied) { api.ApplyReplicated(context.Background(), db, a, limiter, c) }
	}
	db, err = store.Open(ctx, cfg.data, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	if node != nil {
		// On an early return too, raft stops before the file it applies to
		// closes (deferred calls run last in, first out).
		defer node.close()
	}
	pruneCtx, stopPruning := context.WithCancel(ctx)
	pruneDone := make(chan struct{})
	go func() {
		defer close(pruneDone)
		// In a cluster the leader prunes, for all: pruning is a write.
		prune(pruneCtx, db, cfg.auditRetention, logger, func() bool { return node == nil || node.Leader() })
	}()
	defer func() { stopPruning(); <-pruneDone }() // before db.Close, deferred earlier
	if node == nil {
		if err := bootstrap(ctx, db, cfg.data, cfg.alg, getenv, stderr, logger); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := db.RegisterMetrics(reg); err != nil {
		return err
	}
	if certs != nil {
		if err := certs.RegisterMetrics(reg); err != nil {
			return err
		}
	}
	if a, err = auth.New(auth.Config{Store: db, BaseURL: cfg.baseURL, Alg: cfg.alg, Logger: logger, Registry: reg,
		CustomClaims: jwtcustom.Limits{Timeout: cfg.customClaimsTimeout}}); err != nil {
		return err
	}
	if node == nil {
		if err := rotateExposedKeys(ctx, a, logger); err != nil {
			return err
		}
	}
	sources := limits.NewBounded(cfg.failureRate, limits.MaxTrackedSources, nil)
	if err := api.SyncRateLimits(ctx, db, limiter); err != nil {
		return err
	}
	// /metrics names every tenant: on the public listener only behind the
	// metrics token; on --metrics-addr (a private interface) also without.
	var metricsHandler http.Handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	if cfg.metricsToken != "" {
		metricsHandler = requireMetricsToken(cfg.metricsToken, metricsHandler)
	}
	mux := http.NewServeMux()
	metricsOnListener := cfg.metricsAddr == "" && cfg.metricsToken != ""
	if metricsOnListener {
		mux.Handle("GET /metrics", metricsHandler)
	}
	apiConfig := api.Config{Store: db, Auth: a, Logger: logger, RequestLogger: slog.New(newPlainLineHandler(handler, sink, cfg.logFormat == "json")), BaseURL: cfg.baseURL,
		Limiter: limiter, Sources: sources, Registry: reg, CORSOrigins: cfg.corsOrigins, MetricsOnListener: metricsOnListener}
	if node != nil {
		apiConfig.Cluster = node.Node
		reg.MustRegister(node.Collectors()...)
	}
	apiHandler := api.New(apiConfig)
	stopHooks, err := startHookDelivery(ctx, db, logger, reg, func() bool { return node == nil || node.Leader() })
	if err != nil {
		return err
	}
	defer stopHooks() // before db.Close, deferred earlier
	mux.Handle("/", apiHandler)
	var muxPaths []string
	if metricsOnListener {
		muxPaths = append(muxPaths, "/metrics")
	}
	public := apiFirst(mux, apiHandler, muxPaths...) // tuning.go
	servers := []*http.Server{newHTTPServer(api.LimitBodies(api.TrustProxies(public, cfg.trustedProxies), cfg.bodyTimeout), logger)}
	if certs != nil {
		servers[0].ErrorLog = quietHandshakeErrors(logger)
		servers[0].HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: maxStreamsPerConnection}
	}
	addrs, names := []string{cfg.addr}, []string{"listening"}
	if node != nil {
		// Inter-node HTTP: requests followers forward, read indexes.
		internal := newHTTPServer(api.LimitBodies(node.Handler(apiHandler), cfg.bodyTimeout), logger)
		go internal.Serve(node.mux.HTTPListener())
		defer internal.Close()
		if err := node.Start(db); err != nil {
			return err
		}
	}
	if cfg.metricsAddr != "" {
		m := http.NewServeMux()
		m.Handle("GET /metrics", metricsHandler)
		servers, addrs = append(servers, newHTTPServer(api.LimitBodies(m, cfg.bodyTimeout), logger)), append(addrs, cfg.metricsAddr)
		names = append(names, "metrics listening")
	}
	if cfg.pprofAddr != "" {
		servers, addrs, names = append(servers, newPprofServer(logger)), append(addrs, cfg.pprofAddr), append(names, "profiles listening")
	}

	serveErr := make(chan error, len(servers))
	for i, srv := range servers {
		ln, err := net.Listen("tcp", addrs[i])
		if err != nil {
			for _, started := range servers[:i] {
				started.Close()
			}
			return err
		}
		if i == 0 {
			opts := api.ListenerOptions{Limits: cfg.connections, Registry: reg, TrustedProxies: cfg.trustedProxies}
			if certs != nil {
				opts.TLS = certs.TLSConfig()
			}
			ln, srv.ConnState = api.PublicListener(ln, opts)
		}
		logger.Info(names[i], "addr", ln.Addr().String(), "data", cfg.data, "base_url", cfg.baseURL,
			"rate_limit", cfg.rateLimit.String(), "max_connections", cfg.connections.Total,
			"max_connections_per_ip", cfg.connections.PerSource, "tls", i == 0 && certs != nil, "version", readBuildInfo().Version)
		go func() { serveErr <- srv.Serve(ln) }()
	}

	var runErr error
	select {
	case runErr = <-serveErr:
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil {
			logger.Warn("shutdown did not finish in time", "err", err)
		}
	}
	a.FlushAuditSummaries()
	if node != nil {
		node.close() // before the data file closes; raft applies to it
	}
	if runErr != nil && !errors.Is(runErr, http.ErrServerClosed) {
		return runErr
	}
	stopPruning()
	<-pruneDone
	if err := db.Close(); err != nil {
		return fmt.Errorf("close data file: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// backup downloads a consistent copy of a running server's data file with a
// system token, checks it, and only then moves it to --out.
func backup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	base := fs.String("url", cmp.Or(getenv("IDBOLT_URL"), "http://localhost:3001"), "base URL of the running server (IDBOLT_URL)")
	out := fs.String("out", getenv("IDBOLT_BACKUP_OUT"), "file to write the backup to (required) (IDBOLT_BACKUP_OUT)")
	clientID := fs.String("client-id", getenv("IDBOLT_CLIENT_ID"), "client id of an instance administrator (IDBOLT_CLIENT_ID)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret := getenv("IDBOLT_CLIENT_SECRET") // not a flag: flags show up in ps
	if *out == "" || *clientID == "" || secret == "" {
		return errors.New("backup needs --out, --client-id (or IDBOLT_CLIENT_ID) and IDBOLT_CLIENT_SECRET")
	}
	baseURL := strings.TrimRight(*base, "/")
	token, err := systemToken(ctx, baseURL, *clientID, secret)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/system/backup", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("backup: %s: %s", resp.Status, body)
	}
	tmp := *out + ".partial"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	prog := newProgress(stderr, "backup", max(resp.ContentLength, 0), true, nil)
	n, err := io.Copy(io.MultiWriter(f, prog), resp.Body)
	prog.Finish()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = store.CheckFile(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "idbolt: backup of %d bytes written to %s\n", n, *out)
	return nil
}

// systemToken gets a token for the /system API with client_credentials.
func systemToken(ctx context.Context, baseURL, clientID, secret string) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {store.SystemIndicator}, "scope": {"all"}}
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fmt.Errorf("token: %s", resp.Status)
	}
	if resp.StatusCode != http.StatusOK || body.Scope != "all" {
		return "", fmt.Errorf("token: %s %s (the app must be an instance administrator: GET /system/admins)", resp.Status, body.Error)
	}
	return body.AccessToken, nil
}

// restore replaces a stopped server's data file with a checked backup.
func restore(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	in := fs.String("in", getenv("IDBOLT_RESTORE_IN"), "backup file to restore (required) (IDBOLT_RESTORE_IN)")
	data := fs.String("data", cmp.Or(getenv("IDBOLT_DATA"), "./idbolt.db"), "data file to replace; its server must be stopped (IDBOLT_DATA)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" {
		return errors.New("restore needs --in")
	}
	var size int64
	if st, err := os.Stat(*in); err == nil {
		size = st.Size()
	}
	prog := newProgress(stderr, "restore", size, true, nil)
	err := store.RestoreReporting(*in, *data, prog)
	prog.Finish()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "idbolt: %s restored to %s\n", *in, *data)
	return nil
}

// rotateMasterKey re-encrypts a stopped server's data file under a new
// master key. The new key is read from --new-master-key-file, or generated
// into it when the file does not exist yet; it is on disk before the data
// file changes, so a crash leaves a file that one of the two keys opens.
func rotateMasterKey(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rotate-master-key", stderr)
	data := fs.String("data", cmp.Or(getenv("IDBOLT_DATA"), "./idbolt.db"), "data file; its server must be stopped (IDBOLT_DATA)")
	oldPath := fs.String("master-key-file", getenv("IDBOLT_MASTER_KEY_FILE"), "current master key file; default DATA.key (IDBOLT_MASTER_KEY_FILE)")
	newPath := fs.String("new-master-key-file", getenv("IDBOLT_NEW_MASTER_KEY_FILE"), "new master key file, generated if it does not exist (required) (IDBOLT_NEW_MASTER_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *newPath == "" || fs.NArg() > 0 {
		return errors.New("rotate-master-key needs --new-master-key-file (and no other arguments)")
	}
	*oldPath = cmp.Or(*oldPath, store.DefaultMasterKeyFile(*data))
	if filepath.Clean(*oldPath) == filepath.Clean(*newPath) {
		return errors.New("rotate-master-key: --new-master-key-file must differ from the current key file")
	}
	oldKey, err := store.ReadMasterKeyFile(*oldPath)
	if err != nil {
		return fmt.Errorf("rotate-master-key: %w", err)
	}
	newKey, err := store.ReadMasterKeyFile(*newPath)
	created := false
	if errors.Is(err, iofs.ErrNotExist) {
		newKey, err = store.CreateMasterKeyFile(*newPath)
		created = err == nil
	}
	if err != nil {
		return fmt.Errorf("rotate-master-key: %w", err)
	}
	if err := store.RotateMasterKey(*data, oldKey, newKey); err != nil {
		return fmt.Errorf("rotate-master-key: %w", err)
	}
	how := "the key in"
	if created {
		how = "a new key generated into"
	}
	fmt.Fprintf(stdout, "idbolt: %s is now encrypted with %s %s; start the server with --master-key-file %s, "+
		"back that file up separately from the data file, and keep %s while you keep backups taken before now\n",
		*data, how, *newPath, *newPath, *oldPath)
	return nil
}

// prune deletes audit entries older than retention and expired console
// sessions, at start and then hourly, until ctx ends.
func prune(ctx context.Context, db *store.DB, retention time.Duration, logger *slog.Logger, leads func() bool) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		var n int
		var err, sessionsErr error
		if leads() {
			n, err = db.PruneAudit(ctx, time.Now().Add(-retention))
			sessionsErr = db.PruneAllConsoleSessions(ctx, time.Now(), store.DefaultConsoleSessionLimits)
		}
		if err != nil && ctx.Err() == nil {
			logger.Error("audit pruning failed", "err", err)
		} else if n > 0 {
			logger.Info("audit entries pruned", "deleted", n, "retention", retention.String())
		}
		if sessionsErr != nil && ctx.Err() == nil {
			logger.Error("console session pruning failed", "err", sessionsErr)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// fdReserve is how many file descriptors are kept for what is not an API
// connection: the data file, listeners, metrics scrapes, outgoing webhooks.
const fdReserve = 64

// fitConnections lowers lim.Total so that the open connections cannot use
// up fileLimit (0: unknown), since a server out of file descriptors answers
// nobody, not even its health check. It reports whether lim fitted as given.
func fitConnections(lim api.ConnLimits, fileLimit uint64) (api.ConnLimits, bool) {
	if fileLimit == 0 || uint64(lim.Total)+fdReserve <= fileLimit {
		return lim, true
	}
	lim.Total = max(1, int(fileLimit/2), int(fileLimit)-fdReserve)
	if uint64(lim.Total) >= fileLimit {
		lim.Total = max(1, int(fileLimit)-1)
	}
	return lim, false
}

// newHTTPServer returns a server with timeouts that keep slow clients from
// holding connections forever: headers must arrive within 10 s, bodies
// within the body timeout (--body-timeout, set per request by
// api.LimitBodies), and an idle keep-alive connection is closed after a minute.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// rotateExposedKeys rotates the signing keys an older version kept in clear
// (auth.RotateExposedKeys).
func rotateExposedKeys(ctx context.Context, a *auth.Auth, logger *slog.Logger) error {
	n, err := a.RotateExposedKeys(ctx)
	if err != nil {
		logger.Error("rotating the signing keys an older version kept in clear failed", "err", err)
		return err
	}
	if n > 0 {
		logger.Warn("rotated the signing keys an older version kept in clear: backups taken before can no longer sign tokens; the old keys verify for 24 h more",
			"tenants", n)
	}
	return nil
}

// bootstrap creates tenant default on a new data file. Credentials from the
// environment are used as given; generated ones never enter the log: they
// are shown on stderr only when it is a terminal, else written to the file
// DATA.credentials (mode 0600), whose path is logged. On a file that has
// tenants, bootstrap variables are reported as ignored (by name only).
func bootstrap(ctx context.Context, db *store.DB, data, alg string, getenv func(string) string, stderr io.Writer, logger *slog.Logger) error {
	key, err := auth.GenerateKey(alg)
	if err != nil {
		return err
	}
	id, secret := getenv("IDBOLT_BOOTSTRAP_CLIENT_ID"), getenv("IDBOLT_BOOTSTRAP_CLIENT_SECRET")
	if (id == "") != (secret == "") {
		return errors.New("set both IDBOLT_BOOTSTRAP_CLIENT_ID and IDBOLT_BOOTSTRAP_CLIENT_SECRET, or neither")
	}
	// The file for generated credentials is made before they are, so that
	// a failure to make it leaves the data file as it was.
	var sink *credentialsSink
	if secret == "" {
		if _, err := db.FindTenantByID(ctx, store.DefaultTenant); store.ErrorCode(err) == store.ENOTFOUND {
			if sink, err = openCredentialsSink(stderr, data); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	creds, err := db.Bootstrap(ctx, store.NewTenant{ID: store.DefaultTenant, Name: "Default", SigningKey: key,
		ClientID: id, ClientSecret: secret, System: true})
	if err != nil || creds == nil {
		if sink != nil {
			sink.discard()
		}
	}
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if creds == nil {
		if secret != "" {
			logger.Warn("IDBOLT_BOOTSTRAP_CLIENT_ID and IDBOLT_BOOTSTRAP_CLIENT_SECRET are ignored: they apply only to a new data file, "+
				"and this one has its tenants (idbolt admin reset-credentials issues new admin credentials)", "data", data)
		}
		return nil
	}
	if sink == nil {
		return nil // the credentials given in the environment
	}
	if err := sink.write(store.DefaultTenant, *creds, "Created with an admin application, also an instance administrator"); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	if sink.file != nil {
		logger.Warn("created tenant default; the credentials of its admin application are in the credentials file: keep them safe, then delete it",
			"credentials_file", sink.path)
	}
	return nil
}
