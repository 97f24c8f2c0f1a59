package api_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// TestBodyTimeout_RoutesOutsideObserveCut checks that the body deadline
// covers every request of the listener, not only the routes that reach a
// handler: a body trickled one byte every half second to a path with a
// trailing slash or in the wrong case (once redirected by the router), or
// with OPTIONS (once answered by the router), is cut soon after the 1 s
// body timeout.
func TestBodyTimeout_RoutesOutsideObserveCut(t *testing.T) {
	skipIfShort(t)
	e := newEnv(t, apitest.Options{BodyTimeout: time.Second})
	addr := strings.TrimPrefix(e.URL, "http://")
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/users/"},
		{"POST", "/oidc/token/"},
		{"POST", "/API/users"},
		{"OPTIONS", "/api/users"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			// The issue states the bound: cut within seconds, where it
			// stayed open for more than 16 s; 10 s is generous.
			if open := trickleBody(t, addr, tc.method, tc.path, 10*time.Second); open >= 10*time.Second {
				t.Fatalf("%s %s: connection still open after %v of trickled body", tc.method, tc.path, open)
			}
		})
	}
}

// trickleBody sends a request whose 100-byte body arrives one byte every
// half second, and returns how long the server kept the connection open,
// up to limit.
func trickleBody(t *testing.T, addr, method, path string, limit time.Duration) time.Duration {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n", method, path, addr); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for range 100 {
			select {
			case <-done:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte("{")); err != nil {
					return
				}
			}
		}
	}()
	// The connection is open while reads end in neither EOF nor a reset.
	conn.SetReadDeadline(start.Add(limit))
	io.Copy(io.Discard, conn)
	return time.Since(start)
}
