package api_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api"
	"github.com/idbolt/idbolt/api/apitest"
)

// dialFrom opens a TCP connection to the server at base from the loopback
// address ip.
func dialFrom(t *testing.T, base, ip string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readStatus reads the status line of a response on c, or "" if c is
// closed first; it fails the test if nothing comes within wait.
func readStatus(t *testing.T, c net.Conn, wait time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(c).ReadString('\n')
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("no answer and no close within %v", wait)
	}
	return strings.TrimSpace(line)
}

// TestServer_SlowBodyCut trickles a token request body one byte at a time,
// slower than the body deadline allows, and checks that the server cuts it
// within the deadline (generously measured) rather than holding the
// connection for as long as the client keeps trickling.
func TestServer_SlowBodyCut(t *testing.T) {
	skipIfShort(t)
	srv := apitest.Start(t, apitest.Options{BodyTimeout: time.Second})
	for _, target := range []string{"/oidc/token", "/api/users"} {
		t.Run(strings.TrimPrefix(target, "/"), func(t *testing.T) {
			c := dialFrom(t, srv.URL, "127.0.0.1")
			_, err := io.WriteString(c, "POST "+target+" HTTP/1.1\r\nHost: idbolt.test\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ng")
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(200 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if _, err := c.Write([]byte("r")); err != nil {
							return
						}
					}
				}
			}()
			start := time.Now()
			status := readStatus(t, c, 15*time.Second)
			if status != "" && !strings.HasPrefix(status, "HTTP/1.1 4") {
				t.Errorf("trickled body answered %q", status)
			}
			t.Logf("cut after %v with %q", time.Since(start).Round(time.Millisecond), status)
		})
	}
	// A body that arrives in time is read as always.
	tok := srv.ManagementToken(t, "default")
	if r := call(t, "POST", srv.URL+"/api/users", tok, map[string]any{"username": "in_time"}); r.Status != http.StatusOK {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
}

// TestServer_ConnectionLimits holds connections open from one address up to
// its bound and checks that the next one is refused with a clear 429, that a
// fresh connection from another address still gets /api/status, that the
// total bound answers 503, and that closing a connection frees its place.
func TestServer_ConnectionLimits(t *testing.T) {
	srv := apitest.Start(t, apitest.Options{Connections: api.ConnLimits{Total: 5, PerSource: 3}})
	var held []net.Conn
	for range 3 {
		held = append(held, dialFrom(t, srv.URL, "127.0.0.2"))
	}
	extra := dialFrom(t, srv.URL, "127.0.0.2")
	if status := readStatus(t, extra, 10*time.Second); !strings.HasPrefix(status, "HTTP/1.1 429") {
		t.Fatalf("connection over the per-address bound: %q, want a 429", status)
	}
	if r := callVia(t, clientFrom(t, "127.0.0.3"), "GET", srv.URL+"/api/status", "", nil); r.Status != http.StatusNoContent {
		t.Fatalf("status from another address: %d", r.Status)
	}
	// 3 held and one kept alive, idle, by the client above: one place is
	// left, and then the idle one gives way to a newcomer; none is idle
	// after that, so the next one is refused.
	held = append(held, dialFrom(t, srv.URL, "127.0.0.4"), dialFrom(t, srv.URL, "127.0.0.6"))
	over := dialFrom(t, srv.URL, "127.0.0.5")
	if status := readStatus(t, over, 10*time.Second); !strings.HasPrefix(status, "HTTP/1.1 503") {
		t.Fatalf("connection over the total bound: %q, want a 503", status)
	}
	if got := counter(t, srv.Registry, "idbolt_connections_refused_total", map[string]string{"reason": "per_source"}); got != 1 {
		t.Errorf("refused per source: %v", got)
	}
	// Closing a held connection frees its place (once the server sees it).
	held[0].Close()
	held[3].Close()
	held[4].Close()
	again := clientFrom(t, "127.0.0.2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest("GET", srv.URL+"/api/status", nil)
		resp, err := again.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("place not freed after a close: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServer_IdleConnectionsGiveWay fills the total connection bound with
// idle keep-alive connections (one request each, as a client holding its
// places with a request a minute would) and checks that a newcomer is
// served, not refused: the connection idle the longest is closed for it.
func TestServer_IdleConnectionsGiveWay(t *testing.T) {
	srv := apitest.Start(t, apitest.Options{Connections: api.ConnLimits{Total: 3, PerSource: 64}})
	for i := range 6 {
		c := clientFrom(t, "127.0.2."+strconv.Itoa(i+1))
		if r := callVia(t, c, "GET", srv.URL+"/api/status", "", nil); r.Status != http.StatusNoContent {
			t.Fatalf("client %d over %d idle connections: %d %s", i, min(i, 3), r.Status, r.Body)
		}
	}
	if got := counter(t, srv.Registry, "idbolt_connections_refused_total", map[string]string{"reason": "total"}); got != 0 {
		t.Errorf("refused at the total bound: %v, want 0 while connections were idle", got)
	}
}
