package cluster

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// serveHTTP serves h on m's HTTP side until the test ends.
func serveHTTP(t *testing.T, m *Mux, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(m.HTTPListener()) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
}

// whoAmI answers each request with the node ID of the peer that sent it.
var whoAmI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	id, err := PeerNodeID(r.TLS)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	fmt.Fprintf(w, "%s %s", id, r.URL.Path)
})

func TestMux_RaftAndHTTPBetweenNodes(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m1 := startMux(t, dir, "n1", MuxOptions{})
	m2 := startMux(t, dir, "n2", MuxOptions{})
	serveHTTP(t, m2, whoAmI)

	// Raft side: a stream each way, with the peer's identity on both ends.
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := m2.RaftLayer().Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	out, err := m1.RaftLayer().Dial(rAddr(m2), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.WriteString(out, "ping\n"); err != nil {
		t.Fatal(err)
	}
	in := <-accepted
	if in == nil {
		t.FailNow()
	}
	defer in.Close()
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil || line != "ping\n" {
		t.Fatalf("read %q %v", line, err)
	}
	io.WriteString(in, "pong\n")
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "pong\n" {
		t.Fatalf("read %q %v", line, err)
	}
	for _, end := range []struct {
		conn net.Conn
		want string
	}{{in, "n1"}, {out, "n2"}} {
		cs := end.conn.(*tls.Conn).ConnectionState()
		if id, err := PeerNodeID(&cs); err != nil || id != end.want {
			t.Errorf("peer %q %v, want %s", id, err, end.want)
		}
		if cs.Version != tls.VersionTLS13 || cs.NegotiatedProtocol != ProtoRaft {
			t.Errorf("version %x, protocol %q", cs.Version, cs.NegotiatedProtocol)
		}
	}
	if got, want := m2.RaftLayer().Addr().String(), m2.Addr().String(); got != want {
		t.Errorf("raft side address %s, want %s", got, want)
	}

	// HTTP side: requests to https://RAFTADDR/ on one kept-alive connection.
	client := m1.HTTPClient()
	reused := 0
	for i := range 3 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				reused++
			}
		}}
		ctx := httptrace.WithClientTrace(context.Background(), trace)
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://%s/status/%d", m2.Addr(), i), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("n1 /status/%d", i); resp.StatusCode != 200 || string(body) != want || resp.ProtoMajor != 1 {
			t.Errorf("%d %q %s, want 200 %q over HTTP/1.1", resp.StatusCode, body, resp.Proto, want)
		}
	}
	if reused != 2 {
		t.Errorf("%d of 2 later requests reused the connection", reused)
	}
}

// TestTransport_AppendEntries runs one raft RPC through NewTransport on
// both ends.
func TestTransport_AppendEntries(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m1 := startMux(t, dir, "n1", MuxOptions{})
	m2 := startMux(t, dir, "n2", MuxOptions{})
	t1, t2 := NewTransport(m1, nil), NewTransport(m2, nil)
	defer t1.Close()
	defer t2.Close()
	if got, want := t2.LocalAddr(), rAddr(m2); got != want {
		t.Errorf("LocalAddr %s, want %s", got, want)
	}
	go func() {
		for rpc := range t2.Consumer() {
			req, ok := rpc.Command.(*raft.AppendEntriesRequest)
			if !ok {
				rpc.Respond(nil, fmt.Errorf("unexpected %T", rpc.Command))
				continue
			}
			rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: req.Entries[len(req.Entries)-1].Index, Success: true}, nil)
		}
	}()
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ID: []byte("n1"), Addr: []byte(rAddr(m1))},
		Term:      7,
		Entries:   []*raft.Log{{Index: 41, Term: 7, Type: raft.LogCommand, Data: []byte("write-set")}},
	}
	var resp raft.AppendEntriesResponse
	if err := t1.AppendEntries("n2", rAddr(m2), req, &resp); err != nil {
		t.Fatal(err)
	}
	if !resp.Success || resp.Term != 7 || resp.LastLog != 41 {
		t.Errorf("response %+v", resp)
	}
}

// clientConfig is a TLS client for m's port that is not a Mux: the
// attacker's view.
// It sends its certificate, if any, even when the server asks for another
// CA's.
func clientConfig(t *testing.T, caDir string, certs []tls.Certificate, protos ...string) *tls.Config {
	return &tls.Config{
		RootCAs: rootsOf(t, caDir), ServerName: ServerName, NextProtos: protos, MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if len(certs) == 0 {
				return &tls.Certificate{}, nil
			}
			return &certs[0], nil
		},
	}
}

// TestMux_RefusesStrangers: what a client that is not a member of the
// cluster gets from the cluster port, and that nothing reaches either side.
func TestMux_RefusesStrangers(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	foreign := mustInitCerts(t, "n1")
	m := startMux(t, dir, "n1", MuxOptions{})
	serveHTTP(t, m, whoAmI)
	go func() {
		if c, err := m.RaftLayer().Accept(); err == nil {
			t.Errorf("raft side accepted a stranger from %s", c.RemoteAddr())
			c.Close()
		}
	}()
	member := keyPairOf(t, dir, "n2")
	notANode := clientCertOfCA(t, dir, "backup-tool")
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		want string
	}{
		{"NoClientCert", clientConfig(t, dir, nil, ProtoRaft), "certificate required"},
		{"OtherCAsCert", clientConfig(t, dir, []tls.Certificate{keyPairOf(t, foreign, "n1")}, ProtoRaft), "unknown certificate authority"},
		{"OtherCAsCertHTTP", clientConfig(t, dir, []tls.Certificate{keyPairOf(t, foreign, "n1")}, ProtoHTTP), "unknown certificate authority"},
		{"SameCANotANode", clientConfig(t, dir, []tls.Certificate{notANode}, ProtoHTTP), "bad certificate"},
		{"UnknownProtocol", clientConfig(t, dir, []tls.Certificate{member}, "h2"), "no application protocol"},
		{"NoProtocol", clientConfig(t, dir, []tls.Certificate{member}), "EOF"},
		{"TLS12", func() *tls.Config {
			c := clientConfig(t, dir, []tls.Certificate{member}, ProtoRaft)
			c.MaxVersion = tls.VersionTLS12
			return c
		}(), "protocol version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := tls.Dial("tcp", m.Addr().String(), tt.cfg)
			if err == nil {
				// In TLS 1.3 the client finishes first; the server's
				// verdict on its certificate arrives as the first read.
				defer conn.Close()
				io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				err = readOrClosed(conn, 10*time.Second)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	// A member that trusts another CA refuses this node's certificate.
	stranger := startMux(t, foreign, "n1", MuxOptions{})
	if c, err := stranger.RaftLayer().Dial(rAddr(m), 10*time.Second); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("dial from another cluster: %v", err)
		if c != nil {
			c.Close()
		}
	}
	if _, err := stranger.HTTPClient().Get("https://" + m.Addr().String() + "/"); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("HTTP from another cluster: %v", err)
	}
}

// A client that connects and sends nothing is dropped after the handshake
// timeout, and one that trickles a partial ClientHello too.
func TestMux_SilentClientDropped(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m := startMux(t, dir, "n1", MuxOptions{HandshakeTimeout: 200 * time.Millisecond})
	for _, first := range []string{"", "\x16\x03\x01\x02\x00"} {
		conn, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(conn, first)
		// The bound is far above the timeout: it only keeps a broken Mux
		// from hanging the test.
		err = readOrClosed(conn, 30*time.Second)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("sent %q: still open after 30 s", first)
		}
		conn.Close()
	}
	// A member's connection that no side takes (m serves no HTTP) is
	// closed after the same timeout.
	peer := startMux(t, dir, "n2", MuxOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+m.Addr().String()+"/", nil)
	if resp, err := peer.HTTPClient().Do(req); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a request to a node that serves no HTTP: %v %v", resp, err)
	}
}

// Close makes both sides' Accept return, also while a handshake is under
// way, and dials through a closed Mux fail.
func TestMux_CloseUnblocksAccept(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m := startMux(t, dir, "n1", MuxOptions{HandshakeTimeout: time.Hour})
	errs := make(chan error, 2)
	for _, l := range []net.Listener{m.RaftLayer(), m.HTTPListener()} {
		go func() {
			c, err := l.Accept()
			if c != nil {
				c.Close()
			}
			errs <- err
		}()
	}
	silent, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for the silent client's hour-long handshake")
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v", err)
		}
	}
	if err := readOrClosed(silent, 30*time.Second); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the silent client's connection is still open: %v", err)
	}
	if _, err := net.Dial("tcp", m.Addr().String()); err == nil {
		t.Error("the port still accepts")
	}
	peer := startMux(t, dir, "n2", MuxOptions{})
	if _, err := m.RaftLayer().Dial(rAddr(peer), 10*time.Second); err == nil {
		t.Error("a closed Mux dialed")
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Closing one side, as raft's transport and http.Server do, leaves the
// other serving; connections for the closed side are closed on arrival.
func TestMux_CloseOneSide(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m1 := startMux(t, dir, "n1", MuxOptions{})
	m2 := startMux(t, dir, "n2", MuxOptions{})
	serveHTTP(t, m2, whoAmI)
	if err := m2.RaftLayer().Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.RaftLayer().Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept of a closed side: %v", err)
	}
	conn, err := m1.RaftLayer().Dial(rAddr(m2), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := readOrClosed(conn, 30*time.Second); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("a stream to a closed raft side stays open: %v", err)
	}
	resp, err := m1.HTTPClient().Get("https://" + m2.Addr().String() + "/still")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "n1 /still" {
		t.Errorf("HTTP side after the raft side closed: %d %q", resp.StatusCode, body)
	}
}

func TestMux_AdvertiseAddr(t *testing.T) {
	dir := mustInitCerts(t, "n1")
	m := startMux(t, dir, "n1", MuxOptions{AdvertiseAddr: "node1.internal:7001"})
	if got := m.RaftLayer().Addr().String(); got != "node1.internal:7001" {
		t.Errorf("raft side address %s", got)
	}
	if tr := NewTransport(m, nil); tr.LocalAddr() != "node1.internal:7001" {
		t.Errorf("transport address %s", tr.LocalAddr())
	} else {
		tr.Close()
	}
}

// clientCertOfCA makes a client certificate signed by dir's CA that is
// not a node certificate: it lacks the name ServerName.
func clientCertOfCA(t *testing.T, dir, cn string) tls.Certificate {
	t.Helper()
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Beyond MaxHandshakes connections in their handshake, a new one is
// closed at once; when one ends, members get in again.
func TestMux_MaxHandshakes(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	m := startMux(t, dir, "n1", MuxOptions{HandshakeTimeout: time.Hour, MaxHandshakes: 1})
	peer := startMux(t, dir, "n2", MuxOptions{})
	go func() {
		for {
			c, err := m.RaftLayer().Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	silent, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", m.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := readOrClosed(second, 30*time.Second); err == nil || strings.Contains(err.Error(), "timeout") {
		t.Errorf("the connection beyond the limit is still open: %v", err)
	}
	silent.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := peer.RaftLayer().Dial(rAddr(m), 10*time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no member gets in after the silent client left: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
