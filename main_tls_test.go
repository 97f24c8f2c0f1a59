package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost, with
// its PEM files.
type testCert struct {
	cert            *x509.Certificate
	certPEM, keyPEM []byte
	fingerprint     string // hex SHA-256 of the DER, as the server logs it
}

// newTestCert makes a self-signed ECDSA certificate named cn.
func newTestCert(t testing.TB, cn string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return &testCert{cert: cert, fingerprint: hex.EncodeToString(sum[:]),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})}
}

// install writes certPEM and keyPEM to the two files as a renewal tool
// does: each through a temporary file renamed over the old one.
func install(t testing.TB, certPEM, keyPEM []byte, certFile, keyFile string) {
	t.Helper()
	for path, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(path+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
}

// tlsClient returns a client that trusts certs and keeps its connections
// to itself, with HTTP/2 on.
func tlsClient(t testing.TB, certs ...*testCert) *http.Client {
	t.Helper()
	return tlsClientFrom(t, "", certs...)
}

// tlsClientFrom is tlsClient with its connections from the loopback
// address ip ("" for any).
func tlsClientFrom(t testing.TB, ip string, certs ...*testCert) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c.cert)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if ip != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true, DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// getVia sends GET url with tok through client and returns the response,
// its body read.
func getVia(t testing.TB, client *http.Client, url, tok string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// servedCert returns the leaf certificate a response came with.
func servedCert(t testing.TB, resp *http.Response) string {
	t.Helper()
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		t.Fatal("not a TLS response")
	}
	sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// waitLog waits until the log holds want.
func waitLog(t *testing.T, log *logBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", want, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProcess_TLS serves HTTPS from a process with a self-signed pair, and
// checks with real Go clients: a token and an API call over HTTP/2, TLS 1.1
// refused, a new pair installed and SIGHUP sent (new connections see it,
// an open keep-alive connection and an in-flight request with a slow body
// keep working on the old one), a pair replaced without a signal (picked
// up by polling), and a bad pair (logged, the previous one kept).
func TestProcess_TLS(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	a, b, c, d := newTestCert(t, "a"), newTestCert(t, "b"), newTestCert(t, "c"), newTestCert(t, "d")
	install(t, a.certPEM, a.keyPEM, certFile, keyFile)
	metricsToken := strings.Repeat("m", 40)
	tokenFile := filepath.Join(dir, "metrics-token")
	if err := os.WriteFile(tokenFile, []byte(metricsToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, base, log := startProcess(t, bin, filepath.Join(dir, "idbolt.db"), "--tls-cert", certFile, "--tls-key", keyFile,
		"--metrics-token-file", tokenFile)
	base = strings.Replace(base, "http://", "https://", 1)
	if !strings.Contains(log.String(), "tls=true") || !strings.Contains(log.String(), a.fingerprint) {
		t.Errorf("start not logged with tls=true and the certificate:\n%s", log)
	}
	if !strings.Contains(log.String(), "--base-url is http:// but the listener serves HTTPS") {
		t.Errorf("no warning about the http base URL (startProcess gives http://idbolt.test):\n%s", log)
	}

	old := tlsClient(t, a, b, c, d)
	tok := tokenVia(t, old, base, testClientID, testSecret)
	resp, body := getVia(t, old, base+"/api/users", tok)
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || servedCert(t, resp) != a.fingerprint {
		t.Fatalf("GET /api/users: %d over %s: %s", resp.StatusCode, resp.Proto, body)
	}

	t.Run("HTTP/2 streams bounded", func(t *testing.T) {
		if got := h2MaxConcurrentStreams(t, strings.TrimPrefix(base, "https://"), a); got != maxStreamsPerConnection {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", got, maxStreamsPerConnection)
		}
	})
	t.Run("TLS 1.1 refused", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AddCert(a.cert)
		conn, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		conn12, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS 1.2: %v", err)
		}
		conn12.Close()
	})
	t.Run("plain HTTP not served", func(t *testing.T) {
		resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/api/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("plain HTTP on the TLS port: %d", resp.StatusCode)
			}
		}
	})

	// A request in flight across the reload: its body arrives slowly.
	bodyReader, bodyWriter := io.Pipe()
	inFlight := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/users", bodyReader)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := old.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			resp = nil
		}
		inFlight <- resp
	}()
	io.WriteString(bodyWriter, `{"username":`)

	t.Run("SIGHUP", func(t *testing.T) {
		install(t, b.certPEM, b.keyPEM, certFile, keyFile)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLog(t, log, b.fingerprint)
		resp, _ := getVia(t, tlsClient(t, a, b), base+"/api/status", "")
		if got := servedCert(t, resp); got != b.fingerprint {
			t.Errorf("a new connection after SIGHUP got certificate %s, want b", got)
		}
		// The keep-alive connection opened before is still served, on
		// the certificate it was opened with.
		resp, body := getVia(t, old, base+"/api/users", tok)
		if resp.StatusCode != http.StatusOK || servedCert(t, resp) != a.fingerprint {
			t.Errorf("old connection after SIGHUP: %d, certificate a: %v: %s", resp.StatusCode, servedCert(t, resp) == a.fingerprint, body)
		}
	})
	io.WriteString(bodyWriter, `"across_reload"}`)
	bodyWriter.Close()
	if resp := <-inFlight; resp == nil || resp.StatusCode != http.StatusOK || servedCert(t, resp) != a.fingerprint {
		t.Errorf("in-flight request across the reload: %+v", resp)
	} else {
		resp.Body.Close()
	}

	t.Run("file change without a signal", func(t *testing.T) {
		install(t, c.certPEM, c.keyPEM, certFile, keyFile)
		waitLog(t, log, c.fingerprint)
		resp, _ := getVia(t, tlsClient(t, c), base+"/api/status", "")
		if got := servedCert(t, resp); got != c.fingerprint {
			t.Errorf("a new connection after the files changed got certificate %s, want c", got)
		}
	})

	t.Run("bad pair keeps the old one", func(t *testing.T) {
		install(t, d.certPEM, c.keyPEM, certFile, keyFile) // d's certificate, c's key
		waitLog(t, log, "TLS certificate not reloaded")    // found by polling
		before := strings.Count(log.String(), "TLS certificate not reloaded")
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(log.String(), "TLS certificate not reloaded") == before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(log.String(), "private key does not match public key") {
			t.Errorf("the log does not say why:\n%s", log)
		}
		resp, _ := getVia(t, tlsClient(t, c), base+"/api/status", "")
		if got := servedCert(t, resp); got != c.fingerprint {
			t.Errorf("after a bad pair a new connection got %s, want c", got)
		}
		// Polling logged the bad pair once, not at every look.
		time.Sleep(2*certPollInterval + 500*time.Millisecond)
		if n := strings.Count(log.String(), "TLS certificate not reloaded"); n != 2 {
			t.Errorf("%d failed reloads logged, want 2 (one found by polling, one on SIGHUP)", n)
		}
		resp, metrics := getVia(t, tlsClient(t, c), base+"/metrics", metricsToken)
		for _, want := range []string{"idbolt_tls_reload_failures_total 2\n",
			"idbolt_tls_certificate_not_after_seconds " + strconv.FormatFloat(float64(c.cert.NotAfter.Unix()), 'g', -1, 64) + "\n"} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(metrics, want) {
				t.Errorf("metrics %d: no %q in\n%s", resp.StatusCode, want, metrics)
			}
		}
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGHUPs and SIGTERM: %v\n%s", err, log)
	}
	// The TLS 1.1 client and the plain HTTP request failed handshakes:
	// logged at debug level only, so that anyone reaching the port cannot
	// flood the log.
	if strings.Contains(log.String(), "handshake error") {
		t.Errorf("failed handshakes logged at info level or above:\n%s", log)
	}
}

// TestProcess_TLSConnectionLimits checks that the connection limits hold
// under TLS: a connection over the per-address bound is answered 429 over
// TLS, a trusted proxy is exempt from that bound, at the total bound an
// idle HTTP/2 connection gives way to a new one, and a connection that
// never completes its handshake is closed (by the server's header
// timeout), so it cannot hold a slot for ever.
func TestProcess_TLSConnectionLimits(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cert := newTestCert(t, "limits")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install(t, cert.certPEM, cert.keyPEM, certFile, keyFile)
	_, base, log := startProcess(t, bin, filepath.Join(dir, "idbolt.db"), "--tls-cert", certFile, "--tls-key", keyFile,
		"--max-connections", "6", "--max-connections-per-ip", "2", "--trusted-proxies", "127.0.0.3")
	base = strings.Replace(base, "http://", "https://", 1)
	status := func(client *http.Client, want int) {
		t.Helper()
		resp, body := getVia(t, client, base+"/api/status", "")
		if resp.StatusCode != want {
			t.Fatalf("GET /api/status: %d over %s, want %d: %s\n%s", resp.StatusCode, resp.Proto, want, body, log)
		}
		if want == http.StatusNoContent && resp.ProtoMajor != 2 {
			t.Errorf("served over %s", resp.Proto)
		}
	}

	stalled, err := net.Dial("tcp", strings.TrimPrefix(base, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	start := time.Now()

	// Each client keeps its connection open, idle, after its request.
	status(tlsClientFrom(t, "127.0.0.2", cert), http.StatusNoContent)
	status(tlsClientFrom(t, "127.0.0.2", cert), http.StatusNoContent)
	status(tlsClientFrom(t, "127.0.0.2", cert), http.StatusTooManyRequests)
	for range 3 {
		status(tlsClientFrom(t, "127.0.0.3", cert), http.StatusNoContent) // a trusted proxy
	}
	// Six open with the stalled one: an idle connection gives way.
	status(tlsClientFrom(t, "127.0.0.4", cert), http.StatusNoContent)

	stalled.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = stalled.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a connection that never started its handshake was kept for 30 s")
	}
	t.Logf("stalled handshake closed after %v (%v)", time.Since(start).Round(time.Second), err)
}

func TestParseServeFlags_TLS(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantErr     string
		wantBaseURL string
	}{
		{"neither", nil, nil, "", "http://localhost:3001"},
		{"both", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, "", "https://localhost:3001"},
		{"both from the environment", nil, map[string]string{"IDBOLT_TLS_CERT": "c.pem", "IDBOLT_TLS_KEY": "k.pem"}, "", "https://localhost:3001"},
		{"base URL given", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--base-url", "https://id.example.com/"}, nil, "", "https://id.example.com"},
		{"base URL from the environment", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"},
			map[string]string{"IDBOLT_BASE_URL": "https://id.example.com"}, "", "https://id.example.com"},
		{"cert only", []string{"--tls-cert", "c.pem"}, nil, "--tls-cert and --tls-key", ""},
		{"key only", nil, map[string]string{"IDBOLT_TLS_KEY": "k.pem"}, "--tls-cert and --tls-key", ""},
		{"trusted proxies", []string{"--trusted-proxies", "10.0.0.0/8,192.0.2.1"}, nil, "", "http://localhost:3001"},
		{"bad trusted proxy", nil, map[string]string{"IDBOLT_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "--trusted-proxies", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseServeFlags(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.baseURL != tt.wantBaseURL {
				t.Fatalf("base URL %q, %v; want %q", c.baseURL, err, tt.wantBaseURL)
			}
		})
	}

	// In cluster mode the default advertised URL follows the scheme.
	for scheme, args := range map[string][]string{
		"http":  nil,
		"https": {"--tls-cert", "c.pem", "--tls-key", "k.pem"},
	} {
		args = append(args, "--addr", "10.0.0.1:3001", "--node-id", "n1", "--raft-addr", "10.0.0.1:4001",
			"--peers", "n1=10.0.0.1:4001", "--cluster-tls-dir", dir)
		c, err := parseServeFlags(args, func(string) string { return "" }, io.Discard)
		if want := scheme + "://10.0.0.1:3001"; err != nil || c.cluster.advertiseURL != want {
			t.Errorf("advertise URL %q, %v; want %q", c.cluster.advertiseURL, err, want)
		}
	}
}

// TestRun_BadTLSPair checks that a pair that cannot serve fails the start
// with a message naming the problem, before the data file is touched.
func TestRun_BadTLSPair(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestCert(t, "a"), newTestCert(t, "b")
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	aCert, aKey, bKey := write("a.pem", a.certPEM), write("a-key.pem", a.keyPEM), write("b-key.pem", b.keyPEM)
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing certificate", filepath.Join(dir, "none.pem"), aKey, "--tls-cert: open"},
		{"missing key", aCert, filepath.Join(dir, "none.pem"), "--tls-key: open"},
		{"mismatched pair", aCert, bKey, "private key does not match public key"},
		{"key as certificate", aKey, aKey, "failed to find certificate PEM data"},
		{"not PEM", write("junk.pem", []byte("junk")), aKey, "failed to find any PEM data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(dir, "idbolt.db")
			err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", data,
				"--tls-cert", tt.cert, "--tls-key", tt.key}, func(string) string { return "" }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the data file was created: %v", err)
			}
		})
	}
}

// BenchmarkProcess_TLS measures GET /api/status against two processes, one
// plain and one with TLS, over kept-alive connections and over a new
// connection per request (a full TLS 1.3 handshake with an ECDSA P-256
// certificate each time). Compare the sub-benchmarks as ratios of one run.
func BenchmarkProcess_TLS(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	cert := newTestCert(b, "bench")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install(b, cert.certPEM, cert.keyPEM, certFile, keyFile)
	_, plain, _ := startProcess(b, bin, filepath.Join(dir, "plain.db"))
	_, secure, _ := startProcess(b, bin, filepath.Join(dir, "tls.db"), "--tls-cert", certFile, "--tls-key", keyFile)
	secure = strings.Replace(secure, "http://", "https://", 1)
	fresh := func(c *http.Client) *http.Client {
		c.Transport.(*http.Transport).DisableKeepAlives = true
		return c
	}
	http1 := tlsClient(b, cert)
	http1.Transport.(*http.Transport).ForceAttemptHTTP2 = false
	http1.Transport.(*http.Transport).TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	for _, bb := range []struct {
		name   string
		client *http.Client
		base   string
		proto  int
	}{
		{"plain HTTP/1.1 keep-alive", &http.Client{Transport: &http.Transport{}}, plain, 1},
		{"TLS HTTP/2 keep-alive", tlsClient(b, cert), secure, 2},
		{"TLS HTTP/1.1 keep-alive", http1, secure, 1},
		{"plain new connection", &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, plain, 1},
		{"TLS new connection", fresh(tlsClient(b, cert)), secure, 2},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				resp, _ := getVia(b, bb.client, bb.base+"/api/status", "")
				if resp.StatusCode != http.StatusNoContent || resp.ProtoMajor != bb.proto {
					b.Fatalf("%d over %s", resp.StatusCode, resp.Proto)
				}
			}
		})
	}
}

// h2MaxConcurrentStreams opens an HTTP/2 connection to addr and returns
// the SETTINGS_MAX_CONCURRENT_STREAMS of the server's first SETTINGS frame
// (RFC 9113 sections 3.4 and 6.5), or -1 if it sets none.
func h2MaxConcurrentStreams(t *testing.T, addr string, cert *testCert) int {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(cert.cert)
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The client preface and an empty SETTINGS frame.
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		t.Fatal(err)
	}
	var header [9]byte
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		t.Fatal(err)
	}
	length := int(header[0])<<16 | int(header[1])<<8 | int(header[2])
	if header[3] != 0x4 || length%6 != 0 || length > 1<<14 {
		t.Fatalf("first frame: type %d, length %d; want SETTINGS", header[3], length)
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(conn, payload); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < length; i += 6 {
		if id := int(payload[i])<<8 | int(payload[i+1]); id == 0x3 {
			return int(payload[i+2])<<24 | int(payload[i+3])<<16 | int(payload[i+4])<<8 | int(payload[i+5])
		}
	}
	return -1
}

// TestProcess_SIGHUPWithoutTLSKeepsServing: a reload (the systemd unit's
// ExecReload sends SIGHUP) of a server without TLS has nothing to reload,
// says so, and the server goes on.
func TestProcess_SIGHUPWithoutTLSKeepsServing(t *testing.T) {
	bin := buildBinary(t)
	cmd, base, log := startProcess(t, bin, filepath.Join(t.TempDir(), "idbolt.db"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(log.String(), "nothing to reload"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP not answered:\n%s", log)
		}
	}
	tok := token(t, base, testClientID, testSecret)
	if status, _ := do(t, "GET", base+"/api/users", tok, ""); status != http.StatusOK {
		t.Fatalf("after SIGHUP: %d", status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, log)
	}
}
