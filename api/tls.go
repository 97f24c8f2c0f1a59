package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CertReloader holds the listener's certificate, read from a PEM
// certificate file (the chain, leaf first) and a PEM key file, and reads
// them again as Watch asks. Handshakes take the certificate through
// GetCertificate, so a new pair applies to new connections only, and open
// ones are never dropped. Its methods are safe for concurrent use.
type CertReloader struct {
	certFile, keyFile string
	logger            *slog.Logger
	cert              atomic.Pointer[tls.Certificate]

	// reloadFailures counts the new pairs that could not be loaded.
	reloadFailures prometheus.Counter

	mu sync.Mutex // serializes loads
	// seen is the hash of the two files as last read, loaded or not, so
	// that Watch neither reloads an unchanged pair nor logs a bad one
	// every time it looks.
	seen [sha256.Size]byte
}

// NewCertReloader reads the pair, and fails when a file cannot be read, is
// not PEM, or the key is not the certificate's.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, logger: logger,
		reloadFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "idbolt_tls_reload_failures_total",
			Help: "New TLS certificate pairs that could not be loaded (the previous pair stayed in use).",
		})}
	if _, err := c.load(true); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate is the tls.Config.GetCertificate of the listener: the
// pair loaded last.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// Watch reloads the pair on every value of reload (SIGHUP) and whenever
// either file's content changes, looked at every poll, until ctx ends. A bad
// pair is logged once and the previous one kept.
func (c *CertReloader) Watch(ctx context.Context, poll time.Duration, reload <-chan os.Signal) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		force := false
		select {
		case <-ctx.Done():
			return
		case <-reload:
			force = true
		case <-tick.C:
		}
		// load logs a certificate it loads; a bad pair is logged here,
		// once per content unless a signal asks again.
		if changed, err := c.load(force); err != nil && (force || changed) {
			c.reloadFailures.Inc()
			c.logger.Error("TLS certificate not reloaded: the previous one is kept", "err", err)
		}
	}
}

// RegisterMetrics registers idbolt_tls_certificate_not_after_seconds (the
// expiry of the certificate served, for an alert well before it) and
// idbolt_tls_reload_failures_total with reg.
func (c *CertReloader) RegisterMetrics(reg prometheus.Registerer) error {
	notAfter := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_tls_certificate_not_after_seconds",
		Help: "Expiry of the TLS certificate served, in seconds since the Unix epoch.",
	}, func() float64 { return float64(c.cert.Load().Leaf.NotAfter.Unix()) })
	for _, m := range []prometheus.Collector{notAfter, c.reloadFailures} {
		if err := reg.Register(m); err != nil {
			return err
		}
	}
	return nil
}

// TLSConfig returns the listener's TLS configuration: TLS 1.2 at least,
// HTTP/2 offered, the certificate from c.
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: c.GetCertificate}
}

// load reads both files and, unless force is false and their content is
// what it read last time, parses them and swaps the certificate in. It
// reports whether the content differed from the last read.
func (c *CertReloader) load(force bool) (changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return false, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return false, fmt.Errorf("--tls-key: %w", err)
	}
	h := sha256.New()
	for _, b := range [][]byte{certPEM, keyPEM} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	changed = !bytes.Equal(sum[:], c.seen[:])
	c.seen = sum
	if !changed && !force {
		return false, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return changed, fmt.Errorf("TLS pair %s and %s: %w", c.certFile, c.keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return changed, fmt.Errorf("TLS certificate %s: %w", c.certFile, err)
		}
		pair.Leaf = leaf
	}
	c.cert.Store(&pair)
	fingerprint := sha256.Sum256(leaf.Raw)
	attrs := []any{"cert", c.certFile, "subject", leaf.Subject.String(), "dns_names", leaf.DNSNames,
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "sha256", hex.EncodeToString(fingerprint[:])}
	if now := time.Now(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
		c.logger.Warn("TLS certificate loaded, but it is not valid now: clients will refuse it", attrs...)
	} else {
		c.logger.Info("TLS certificate loaded", attrs...)
	}
	return changed, nil
}
