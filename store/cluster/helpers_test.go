package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// mustInitCerts writes a new CA and certificates for nodes into a fresh
// directory, as "idbolt cluster init-certs" does, and returns it.
func mustInitCerts(tb testing.TB, nodes ...string) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "certs")
	if _, err := InitCerts(dir, nodes, ""); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// mustLoadTLS loads node id's identity from dir.
func mustLoadTLS(tb testing.TB, dir, id string) *TLSConfig {
	tb.Helper()
	c, err := LoadTLS(dir, id)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// startMux serves node id of dir on a fresh loopback port until the test
// ends.
func startMux(tb testing.TB, dir, id string, opts MuxOptions) *Mux {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testOutput(tb), nil))
	}
	m := NewMux(ln, mustLoadTLS(tb, dir, id), opts)
	tb.Cleanup(func() { m.Close() })
	return m
}

// testOutput is where test logs go: the test's output when verbose.
func testOutput(tb testing.TB) io.Writer {
	if t, ok := tb.(*testing.T); ok && testing.Verbose() {
		return t.Output()
	}
	return io.Discard
}

// rootsOf returns the CA pool of dir's ca.pem.
func rootsOf(tb testing.TB, dir string) *x509.CertPool {
	tb.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatal("no CA in", dir)
	}
	return pool
}

// keyPairOf returns node id's certificate and key from dir.
func keyPairOf(tb testing.TB, dir, id string) tls.Certificate {
	tb.Helper()
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, NodeCertFile(id)), filepath.Join(dir, NodeKeyFile(id)))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// readOrClosed reads from conn until it is closed or the bound passes,
// and returns the read error: io.EOF or a reset when the peer closed it,
// a timeout when it kept it open.
func readOrClosed(conn net.Conn, bound time.Duration) error {
	conn.SetReadDeadline(time.Now().Add(bound))
	_, err := io.ReadAll(conn)
	if err == nil {
		return io.EOF
	}
	return err
}
