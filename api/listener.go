package api

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/limits"
)

// ConnLimits bound the connections a listener keeps open. Zero means no
// bound.
type ConnLimits struct {
	// Total bounds all open connections; at it the connection idle the
	// longest is closed to make room (ConnStateHook), and only when none
	// is idle is a new connection answered 503 and closed.
	Total int
	// PerSource bounds the open connections of one source address
	// (limits.SourceKey); over it a new connection is answered 429 and
	// closed.
	PerSource int
}

// Default connection limits: a server with 1,024 open connections still has
// file descriptors left for its data file and logs, and one address needs
// far fewer than 64 to use the API at full speed.
const (
	DefaultMaxConnections          = 1024
	DefaultMaxConnectionsPerSource = 64
)

// maxRefusing bounds the refusals being written at once (each takes at most
// 250 ms); beyond it a refused connection is closed without an answer.
const maxRefusing = 64

// LimitListener returns ln bounded by lim: a connection over a bound is
// answered with a minimal HTTP error and closed before the HTTP server sees
// it, and counted in idbolt_connections_refused_total. reg (nil means not
// exported) also receives idbolt_connections_open. Set the http.Server's
// ConnState to ConnStateHook of the returned listener, so that idle
// keep-alive connections give way to new ones at the total bound.
func LimitListener(ln net.Listener, lim ConnLimits, reg prometheus.Registerer) net.Listener {
	return newLimitListener(ln, lim, reg)
}

// ListenerOptions configure PublicListener.
type ListenerOptions struct {
	// Limits bound the open connections, as in LimitListener.
	Limits ConnLimits
	// Registry receives the listener's metrics; nil means not exported.
	Registry prometheus.Registerer
	// TLS, when not nil, makes the listener serve TLS over the limits:
	// a connection holds its place from accept, through its handshake
	// (bounded by the http.Server's ReadHeaderTimeout), and a refused one
	// is answered over TLS too, so that an HTTPS client reads the 429 or
	// 503 rather than a protocol error.
	TLS *tls.Config
	// TrustedProxies are exempt from Limits.PerSource (their connections
	// carry many clients) but count towards Limits.Total. The bound is
	// per connection, taken at accept, before any header names a client.
	TrustedProxies TrustedProxies
}

// PublicListener returns the API listener over ln, bounded and, with
// o.TLS, serving TLS, with the http.Server.ConnState function that lets
// idle keep-alive connections give way at the total bound.
func PublicListener(ln net.Listener, o ListenerOptions) (net.Listener, func(net.Conn, http.ConnState)) {
	l := newLimitListener(ln, o.Limits, o.Registry)
	l.exempt = o.TrustedProxies
	if o.TLS == nil {
		return l, l.connState
	}
	// A refusal is one HTTP/1.1 answer: no HTTP/2 on its connection.
	l.refuseTLS = o.TLS.Clone()
	l.refuseTLS.NextProtos = []string{"http/1.1"}
	return tls.NewListener(l, o.TLS), l.connState
}

func newLimitListener(ln net.Listener, lim ConnLimits, reg prometheus.Registerer) *limitListener {
	l := &limitListener{Listener: ln, lim: lim, perSource: map[string]int{}, idle: map[*limitConn]time.Time{},
		refusing: make(chan struct{}, maxRefusing),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "idbolt_connections_refused_total",
			Help: "Connections refused at accept, by reason: total (503) or per_source (429).",
		}, []string{"reason"}),
	}
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "idbolt_connections_open",
		Help: "Connections open on the API listener.",
	}, func() float64 {
		l.mu.Lock()
		defer l.mu.Unlock()
		return float64(l.total)
	})
	if reg != nil {
		reg.MustRegister(l.refused, open)
	}
	return l
}

type limitListener struct {
	net.Listener
	lim      ConnLimits
	refused  *prometheus.CounterVec
	refusing chan struct{} // a slot per refusal being written
	// refuseTLS, when not nil, is the TLS configuration refusals are
	// written with (PublicListener).
	refuseTLS *tls.Config
	// exempt are the peers that PerSource does not bound.
	exempt TrustedProxies

	mu        sync.Mutex
	total     int
	perSource map[string]int
	// idle holds the open connections waiting for a keep-alive request,
	// with when they became idle, as ConnStateHook reports them.
	idle map[*limitConn]time.Time
}

// ConnStateHook returns the http.Server.ConnState function that tells ln,
// a listener of LimitListener, which connections are idle; nil for any
// other listener. Under TLS, pass the listener of LimitListener, not the
// tls.NewListener over it.
func ConnStateHook(ln net.Listener) func(net.Conn, http.ConnState) {
	l, ok := ln.(*limitListener)
	if !ok {
		return nil
	}
	return l.connState
}

func (l *limitListener) connState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn() // a *tls.Conn over one of ours (tls.NewListener)
	}
	lc, ok := c.(*limitConn)
	if !ok {
		return
	}
	l.mu.Lock()
	if state == http.StateIdle {
		l.idle[lc] = time.Now()
	} else {
		delete(l.idle, lc)
	}
	l.mu.Unlock()
}

// oldestIdle returns the connection idle the longest, or nil. l.mu is held.
func (l *limitListener) oldestIdle() *limitConn {
	var oldest *limitConn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	return oldest
}

// Accept returns the next connection within the limits, answering and
// closing the ones over them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		source, counted := "", true
		if host, _, err := net.SplitHostPort(c.RemoteAddr().String()); err == nil {
			source = limits.SourceKey(host)
			if a, err := netip.ParseAddr(host); err == nil && l.exempt.Contains(a) {
				counted = false
			}
		}
		l.mu.Lock()
		reason := ""
		for l.lim.Total > 0 && l.total >= l.lim.Total {
			victim := l.oldestIdle()
			if victim == nil {
				break
			}
			// An idle keep-alive connection gives way: holding one open
			// with a request a minute must not keep newcomers out.
			delete(l.idle, victim)
			l.mu.Unlock()
			victim.Close()
			l.mu.Lock()
		}
		switch {
		case l.lim.Total > 0 && l.total >= l.lim.Total:
			reason = "total"
		case counted && l.lim.PerSource > 0 && l.perSource[source] >= l.lim.PerSource:
			reason = "per_source"
		default:
			l.total++
			if counted {
				l.perSource[source]++
			}
		}
		l.mu.Unlock()
		if reason == "" {
			lc := &limitConn{Conn: c}
			lc.release = func() { l.release(lc, source, counted) }
			return lc, nil
		}
		l.refused.WithLabelValues(reason).Inc()
		select {
		case l.refusing <- struct{}{}:
			go func() { defer func() { <-l.refusing }(); refuse(c, reason, l.refuseTLS) }()
		default:
			c.Close()
		}
	}
}

func (l *limitListener) release(c *limitConn, source string, counted bool) {
	l.mu.Lock()
	delete(l.idle, c)
	l.total--
	if counted {
		if l.perSource[source]--; l.perSource[source] <= 0 {
			delete(l.perSource, source)
		}
	}
	l.mu.Unlock()
}

// refusalBodies are the answers to a refused connection, in the API's error
// shape.
var refusalBodies = map[string]struct {
	status, body string
}{
	"total":      {"503 Service Unavailable", `{"code":"request.too_many_connections","message":"The server has too many open connections. Please try again later."}`},
	"per_source": {"429 Too Many Requests", `{"code":"request.too_many_connections","message":"Too many open connections from this address. Please try again later."}`},
}

// refuse answers c with a minimal HTTP error, over TLS when tlsConfig is
// not nil, and closes it. It reads what the client sent meanwhile, for a
// moment, so that closing does not reset the connection before the client
// has read the answer.
func refuse(c net.Conn, reason string, tlsConfig *tls.Config) {
	defer c.Close()
	b := refusalBodies[reason]
	wait := 250 * time.Millisecond
	if tlsConfig != nil {
		// The handshake takes two round trips more; the refusing slots
		// bound how many are under way.
		wait = time.Second
		c = tls.Server(c, tlsConfig)
	}
	c.SetDeadline(time.Now().Add(wait))
	_, err := io.WriteString(c, "HTTP/1.1 "+b.status+"\r\nContent-Type: application/json; charset=utf-8\r\n"+
		"Retry-After: 1\r\nConnection: close\r\nContent-Length: "+strconv.Itoa(len(b.body))+"\r\n\r\n"+b.body)
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// limitConn gives its place back when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

var _ net.Listener = (*limitListener)(nil)
