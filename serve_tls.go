package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/idbolt/idbolt/api"
)

// tlsConfig is the TLS part of serveConfig: both files, or neither for
// plain HTTP.
type tlsConfig struct {
	certFile, keyFile string
}

func (t tlsConfig) enabled() bool { return t.certFile != "" }

// scheme is the scheme of the URLs that reach the API listener.
func (t tlsConfig) scheme() string {
	if t.enabled() {
		return "https"
	}
	return "http"
}

// certPollInterval is how often the certificate files are read to see
// whether they changed: a renewal (certbot, cert-manager) applies within a
// few seconds without a SIGHUP. Reading two small files is cheap.
const certPollInterval = 2 * time.Second

// maxStreamsPerConnection bounds the requests one HTTP/2 connection may
// have under way (net/http's default is at least 100). The connection
// limits count connections, and over HTTP/1.1 a connection carries one
// request at a time: this keeps what one address can have in flight within
// 32 times --max-connections-per-ip rather than over 100 times.
const maxStreamsPerConnection = 32

// parseTLSFlags checks --tls-cert and --tls-key, and makes the default
// --base-url https when they are given.
func parseTLSFlags(c *serveConfig, fs *flag.FlagSet, getenv func(string) string) error {
	if (c.tls.certFile == "") != (c.tls.keyFile == "") {
		return errors.New("--tls-cert and --tls-key (IDBOLT_TLS_CERT, IDBOLT_TLS_KEY) go together: give both, or neither for plain HTTP")
	}
	if !c.tls.enabled() {
		return nil
	}
	baseURLSet := getenv("IDBOLT_BASE_URL") != ""
	fs.Visit(func(f *flag.Flag) { baseURLSet = baseURLSet || f.Name == "base-url" })
	if !baseURLSet {
		c.baseURL = "https://localhost:3001"
	}
	return nil
}

// watchCerts reloads the listener's certificate on SIGHUP and when its
// files change, until the returned stop is called. SIGHUP is caught from
// the return on, so a SIGHUP sent once the server listens never kills it.
func watchCerts(ctx context.Context, certs *api.CertReloader) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		certs.Watch(ctx, certPollInterval, hup)
	}()
	return func() {
		cancel()
		<-done
		signal.Stop(hup)
	}
}

// quietHandshakeErrors is the http.Server.ErrorLog of the TLS listener:
// what net/http reports goes to logger at warn level, as on the plain
// listener, except failed handshakes, at debug level. Anyone who can
// reach the port can fail one (a scanner, a TLS 1.1 client, a plain HTTP
// request), so at warn level they would flood the log at the rate of
// new connections.
func quietHandshakeErrors(logger *slog.Logger) *log.Logger {
	return log.New(logWriter(func(p []byte) {
		msg := strings.TrimSuffix(string(p), "\n")
		level := slog.LevelWarn
		if strings.HasPrefix(msg, "http: TLS handshake error") {
			level = slog.LevelDebug
		}
		logger.Log(context.Background(), level, msg)
	}), "", 0)
}

// logWriter is an io.Writer that hands every write, one log line, to a
// function.
type logWriter func(p []byte)

func (w logWriter) Write(p []byte) (int, error) {
	w(p)
	return len(p), nil
}

// watchHangups catches SIGHUP when there is no certificate to reload, until
// the returned stop is called: a reload (systemd's ExecReload in
// deploy/idbolt.service sends it) must not stop the server, so it only says
// that there is nothing to reload.
func watchHangups(logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				logger.Info("SIGHUP: nothing to reload (no --tls-cert)")
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
