package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api"
)

// TestRun_ConnectionAndBodyLimits starts the server with small connection
// and body limits from flags and environment, and checks over real TCP that
// they are in force: a trickled body is cut (on a path the router never
// sees too), a connection over the
// per-address bound is answered 429, and another address is still served.
func TestRun_ConnectionAndBodyLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	env := map[string]string{"IDBOLT_MAX_CONNECTIONS_PER_IP": "2", "IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID,
		"IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret}
	s := startRun(t, path, env, "--body-timeout", "1s", "--max-connections", "100")
	if !strings.Contains(s.log.String(), "max_connections=100 max_connections_per_ip=2") {
		t.Errorf("limits not logged at start:\n%s", s.log)
	}
	addr := strings.TrimPrefix(s.url, "http://")
	dial := func(ip string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	status := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("no answer and no close within 15 s")
		}
		return strings.TrimSpace(line)
	}

	slow := dial("127.0.0.2")
	io.WriteString(slow, "POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ng")
	if got := status(slow); got != "" && !strings.HasPrefix(got, "HTTP/1.1 400") {
		t.Errorf("trickled body: %q, want a 400 or a close", got)
	}

	// A path the mux itself answers (a redirect to the cleaned path) is
	// cut too: the deadline is on the listener's outermost handler.
	redirected := dial("127.0.0.4")
	io.WriteString(redirected, "POST /x/../oidc/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ng")
	status(redirected)

	dial("127.0.0.3")
	dial("127.0.0.3")
	if got := status(dial("127.0.0.3")); !strings.HasPrefix(got, "HTTP/1.1 429") {
		t.Errorf("third connection from one address: %q, want 429", got)
	}
	resp, err := http.Get(s.url + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status from another address: %d", resp.StatusCode)
	}
}

func TestParseServeFlags_Limits(t *testing.T) {
	c, err := parseServeFlags(nil, func(string) string { return "" }, io.Discard)
	if err != nil || c.bodyTimeout != 30*time.Second || c.customClaimsTimeout != 100*time.Millisecond || c.connections.Total != 1024 || c.connections.PerSource != 64 ||
		c.failureRate != api.DefaultSourceRate() {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = parseServeFlags(nil, func(k string) string { return map[string]string{"IDBOLT_FAILURE_RATE_LIMIT": "off"}[k] }, io.Discard)
	if err != nil || !c.failureRate.Unlimited() {
		t.Fatalf("IDBOLT_FAILURE_RATE_LIMIT=off: %+v %v", c.failureRate, err)
	}
	for _, args := range [][]string{
		{"--body-timeout", "0s"}, {"--body-timeout", "10m"}, {"--body-timeout", "x"},
		{"--custom-claims-timeout", "1ms"}, {"--custom-claims-timeout", "1m"}, {"--custom-claims-timeout", "soon"},
		{"--failure-rate-limit", "0/1m"},
		{"--max-connections", "0"}, {"--max-connections", "many"}, {"--max-connections-per-ip", "-1"},
	} {
		if _, err := parseServeFlags(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestFitConnections(t *testing.T) {
	tests := []struct {
		total     int
		fileLimit uint64
		want      int
		fits      bool
	}{
		{1024, 0, 1024, true},       // limit unknown
		{1024, 1 << 20, 1024, true}, // plenty
		{1024, 1088, 1024, true},    // exactly the reserve left
		{1024, 1024, 960, false},    // the usual soft limit
		{1024, 256, 192, false},     // the adversarial review's box
		{1024, 100, 50, false},      // tiny: half
		{1024, 1, 1, false},         // absurd, but at least one
	}
	for _, tt := range tests {
		got, fits := fitConnections(api.ConnLimits{Total: tt.total, PerSource: 64}, tt.fileLimit)
		if got.Total != tt.want || fits != tt.fits || got.PerSource != 64 {
			t.Errorf("fitConnections(%d, %d) = %+v, %v; want %d, %v", tt.total, tt.fileLimit, got, fits, tt.want, tt.fits)
		}
	}
}

// TestProcess_TricklingConnectionsWithFewFiles replays the adversarial
// review: a server allowed 256 open files, and 300 connections from one
// address trickling token request bodies. The server must keep answering
// /api/status from another address throughout, answer the connections over
// its bounds at once, and cut the trickles within the body timeout.
func TestProcess_TricklingConnectionsWithFewFiles(t *testing.T) {
	bin := buildBinary(t)
	script := filepath.Join(t.TempDir(), "idbolt-256-files")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nulimit -n 256 || exit 1\nexec "+bin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, base, log := startProcess(t, script, filepath.Join(t.TempDir(), "idbolt.db"), "--body-timeout", "2s")
	if !strings.Contains(log.String(), "max_connections=192") {
		t.Errorf("--max-connections not fitted to 256 open files:\n%s", log)
	}
	addr := strings.TrimPrefix(base, "http://")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
	var conns []net.Conn
	for range 300 {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /oidc/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ng")
		conns = append(conns, c)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 3 {
		resp, err := client.Get(base + "/api/status")
		if err != nil {
			t.Fatalf("status during the flood (%d): %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("status during the flood (%d): %d", i, resp.StatusCode)
		}
		for _, c := range conns {
			c.Write([]byte("r")) // keep trickling
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Every trickling connection is answered, well within 30 s: 400 when
	// its body timed out, 429 (or, past the refusals the server writes at
	// once, a close) over the per-address bound.
	refused, answered, cut := 0, 0, 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("a trickling connection was still open after 30 s")
		}
		switch {
		case strings.HasPrefix(line, "HTTP/1.1 429"):
			refused++
			answered++
		case line == "":
			refused++
		case strings.HasPrefix(line, "HTTP/1.1 400"):
			cut++
		default:
			t.Errorf("trickling connection answered %q", line)
		}
	}
	if refused != 300-64 || cut != 64 || answered == 0 {
		t.Errorf("%d refused (%d with a 429) and %d cut, want %d and 64", refused, answered, cut, 300-64)
	}
}
