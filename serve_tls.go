package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/signal"
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
// files change, until the returned stop is called. SIGHUP is caught only
// with TLS on, so that without it the signal keeps its usual effect; it is
// caught from the return on, so a SIGHUP sent once the server listens
// never kills it.
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
