package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

const (
	// ProtoRaft is the ALPN protocol of raft's NetworkTransport streams.
	ProtoRaft = "idbolt-raft"
	// ProtoHTTP is the ALPN protocol of HTTP/1.1 between nodes.
	ProtoHTTP = "idbolt-http"

	// DefaultHandshakeTimeout is how long Mux waits for a TLS handshake,
	// in and out, unless MuxOptions says otherwise.
	DefaultHandshakeTimeout = 10 * time.Second

	// DefaultMaxHandshakes is how many connections may be in their
	// handshake at once unless MuxOptions says otherwise.
	DefaultMaxHandshakes = 256

	// acceptRetryMax bounds the pause after a failing Accept (out of file
	// descriptors, say), which doubles from 5 ms, as net/http's does.
	acceptRetryMax = time.Second
)

// MuxOptions are the settings of NewMux; the zero value is usable.
type MuxOptions struct {
	// HandshakeTimeout bounds a TLS handshake, so that a client that is
	// slow or sends nothing holds a goroutine and a descriptor no longer;
	// 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds the connections in their handshake (or waiting
	// for their side) at once; more are closed at once. It keeps a flood
	// of unauthenticated connections from taking every file descriptor of
	// the process; peers' established connections are not counted. 0 means
	// DefaultMaxHandshakes.
	MaxHandshakes int
	// AdvertiseAddr is the raft address this node has in the cluster
	// (what RaftLayer().Addr() reports to raft), when the listener's own
	// address is not it, e.g. 0.0.0.0:7001.
	AdvertiseAddr string
	// Logger receives failed handshakes at Info and accept errors at
	// Warn; nil discards them.
	Logger *slog.Logger
}

// Mux serves one node's cluster port: it accepts TLS connections of
// cluster members on one listener and hands each to the side its ALPN
// protocol names, ProtoRaft to RaftLayer and ProtoHTTP to HTTPListener. A
// connection without a verified node certificate of the cluster CA, or
// with no or another protocol, or whose handshake takes longer than
// HandshakeTimeout, is closed; so is one that its side does not Accept
// within HandshakeTimeout, and one beyond MaxHandshakes. It dials peers
// for both protocols too.
//
// Close stops it. Closing a side (as raft.NetworkTransport.Close and
// http.Server.Shutdown do) stops only that side's Accept; connections of
// that protocol are then closed on arrival.
type Mux struct {
	ln        net.Listener
	tls       *TLSConfig
	server    *tls.Config
	handshake time.Duration
	slots     chan struct{} // one per handshake under way, up to MaxHandshakes
	advertise net.Addr
	logger    *slog.Logger

	ctx    context.Context // done when Close is called
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and the handshakes under way
	raft   *sideListener
	http   *sideListener
}

// NewMux starts serving the cluster port on ln with the node identity
// tlsConfig. The Mux owns ln from now on: Close closes it.
func NewMux(ln net.Listener, tlsConfig *TLSConfig, opts MuxOptions) *Mux {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mux{
		ln:        ln,
		tls:       tlsConfig,
		server:    tlsConfig.ServerConfig(ProtoRaft, ProtoHTTP),
		handshake: opts.HandshakeTimeout,
		advertise: ln.Addr(),
		logger:    opts.Logger,
		ctx:       ctx,
		cancel:    cancel,
	}
	if m.handshake <= 0 {
		m.handshake = DefaultHandshakeTimeout
	}
	if opts.MaxHandshakes <= 0 {
		opts.MaxHandshakes = DefaultMaxHandshakes
	}
	m.slots = make(chan struct{}, opts.MaxHandshakes)
	if opts.AdvertiseAddr != "" {
		m.advertise = advertisedAddr(opts.AdvertiseAddr)
	}
	if m.logger == nil {
		m.logger = slog.New(slog.DiscardHandler)
	}
	m.raft = newSideListener(m, ProtoRaft)
	m.http = newSideListener(m, ProtoHTTP)
	m.wg.Add(1)
	go m.acceptLoop()
	return m
}

// Addr returns the listener's address.
func (m *Mux) Addr() net.Addr { return m.ln.Addr() }

// Close stops accepting, aborts the handshakes under way, makes both
// sides' Accept return net.ErrClosed, and waits for its goroutines.
// Connections already handed out are their owners' to close.
func (m *Mux) Close() error {
	m.cancel()
	err := m.ln.Close()
	m.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil // closed twice
	}
	return err
}

// acceptLoop accepts connections until the listener is closed and
// handshakes each in its own goroutine.
func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	var delay time.Duration
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if m.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), acceptRetryMax)
			m.logger.Warn("cluster port: accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-m.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		select {
		case m.slots <- struct{}{}:
		default:
			m.logger.Info("cluster port: too many handshakes under way, connection closed", "remote", conn.RemoteAddr().String())
			conn.Close()
			continue
		}
		m.wg.Add(1)
		go m.handle(conn)
	}
}

// handle completes conn's handshake within the deadline and hands it to
// the side of its protocol, or closes it.
func (m *Mux) handle(raw net.Conn) {
	defer m.wg.Done()
	defer func() { <-m.slots }()
	conn := tls.Server(raw, m.server)
	ctx, cancel := context.WithTimeout(m.ctx, m.handshake)
	err := conn.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if m.ctx.Err() == nil { // else Close aborted it
			m.logger.Info("cluster port: handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		}
		conn.Close()
		return
	}
	var side *sideListener
	switch proto := conn.ConnectionState().NegotiatedProtocol; proto {
	case ProtoRaft:
		side = m.raft
	case ProtoHTTP:
		side = m.http
	default:
		// Go's server refuses protocols it does not offer; a client that
		// offers none gets here.
		m.logger.Info("cluster port: no ALPN protocol", "remote", raw.RemoteAddr().String())
		conn.Close()
		return
	}
	var handed net.Conn = conn
	if side == m.http {
		// net/http serves a *tls.Conn only for ALPN protocols it knows,
		// and closes others; any other net.Conn with ConnectionState gets
		// HTTP/1.1 and r.TLS.
		handed = httpConn{conn}
	}
	// A side that takes no connection for as long as a handshake may take
	// (nobody serves it yet, or it is stuck) gets none: the peer sees the
	// connection close and retries, rather than wait without end.
	wait := time.NewTimer(m.handshake)
	defer wait.Stop()
	select {
	case side.conns <- handed:
	case <-side.closed:
		conn.Close()
	case <-m.ctx.Done():
		conn.Close()
	case <-wait.C:
		m.logger.Info("cluster port: no taker for the connection", "remote", raw.RemoteAddr().String(), "protocol", side.proto)
		conn.Close()
	}
}

// RaftLayer returns the raft side, a raft.StreamLayer for
// raft.NewNetworkTransportWithConfig (see NewTransport): Accept returns
// the connections of ProtoRaft, Dial opens one to a peer, Addr is the
// advertised address, Close stops only this side, for good: a transport
// made after that gets no connections.
func (m *Mux) RaftLayer() raft.StreamLayer { return raftLayer{m.raft} }

// HTTPListener returns the HTTP side, for http.Server.Serve: Accept
// returns the connections of ProtoHTTP, handshake done, with a
// ConnectionState method, so a handler finds the peer's certificate in
// r.TLS (see PeerNodeID). Close stops only this side. Every connection
// is a verified member, but give the http.Server read and idle timeouts
// all the same, so a stuck peer holds nothing forever.
func (m *Mux) HTTPListener() net.Listener { return m.http }

// HTTPClient returns a client that reaches a peer's HTTP side at
// https://RAFTADDR/...: it dials the raft address with ProtoHTTP and the
// node certificate, verifies the peer as a cluster node, and speaks
// HTTP/1.1 with keep-alive. It has no overall timeout: give each request a
// context with a deadline. Each call makes a new connection pool: keep
// the client.
func (m *Mux) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return m.dial(ctx, network, addr, ProtoHTTP)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false, // ProtoHTTP is HTTP/1.1
	}}
}

// dial opens a TLS connection with protocol proto to addr, handshake
// included, within ctx and the handshake timeout.
func (m *Mux) dial(ctx context.Context, network, addr, proto string) (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, m.handshake)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	conn := tls.Client(raw, m.tls.ClientConfig(proto))
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("cluster: handshake with %s: %w", addr, err)
	}
	if got := conn.ConnectionState().NegotiatedProtocol; got != proto {
		conn.Close()
		return nil, fmt.Errorf("cluster: %s speaks %q, not %q", addr, got, proto)
	}
	return conn, nil
}

// sideListener is the net.Listener of one protocol: Accept takes the
// connections the Mux hands over.
type sideListener struct {
	mux       *Mux
	proto     string
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

var _ net.Listener = (*sideListener)(nil)

func newSideListener(m *Mux, proto string) *sideListener {
	return &sideListener{mux: m, proto: proto, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept returns the next connection of this side's protocol, or
// net.ErrClosed once the side or the Mux is closed.
func (l *sideListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-l.mux.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops this side; the Mux and the other side go on.
func (l *sideListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

// Addr returns the node's advertised cluster address.
func (l *sideListener) Addr() net.Addr { return l.mux.advertise }

// raftLayer is the raft side with the dialer raft needs.
type raftLayer struct{ *sideListener }

var _ raft.StreamLayer = raftLayer{}

// Dial opens a ProtoRaft connection to a peer's raft address within
// timeout (if positive) and the handshake timeout, handshake included.
func (r raftLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx := r.mux.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return r.mux.dial(ctx, "tcp", string(address), ProtoRaft)
}

// httpConn is a TLS connection of ProtoHTTP that net/http does not take
// for a *tls.Conn.
type httpConn struct{ *tls.Conn }

// advertisedAddr is an address given as text: raft uses only its String.
type advertisedAddr string

// Network returns "tcp".
func (a advertisedAddr) Network() string { return "tcp" }

// String returns the address as given.
func (a advertisedAddr) String() string { return string(a) }
