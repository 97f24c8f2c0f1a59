package cluster

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// BenchmarkTransport_AppendEntries sends one raft RPC (one 4 KiB entry)
// per iteration, over raft's plain TCP transport and over NewTransport on
// a Mux, to show what TLS costs raft. Compare the two in one run.
func BenchmarkTransport_AppendEntries(b *testing.B) {
	run := func(b *testing.B, t1, t2 *raft.NetworkTransport) {
		defer t1.Close()
		defer t2.Close()
		go func() {
			for rpc := range t2.Consumer() {
				rpc.Respond(&raft.AppendEntriesResponse{Success: true}, nil)
			}
		}()
		req := &raft.AppendEntriesRequest{
			RPCHeader: raft.RPCHeader{ID: []byte("n1"), Addr: []byte(t1.LocalAddr())},
			Term:      1,
			Entries:   []*raft.Log{{Index: 1, Term: 1, Type: raft.LogCommand, Data: bytes.Repeat([]byte("w"), 4096)}},
		}
		b.SetBytes(4096)
		b.ResetTimer()
		for b.Loop() {
			var resp raft.AppendEntriesResponse
			if err := t1.AppendEntries("n2", t2.LocalAddr(), req, &resp); err != nil || !resp.Success {
				b.Fatal(err)
			}
		}
	}
	b.Run("tcp", func(b *testing.B) {
		t1, err := raft.NewTCPTransport("127.0.0.1:0", nil, TransportMaxPool, TransportTimeout, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		t2, err := raft.NewTCPTransport("127.0.0.1:0", nil, TransportMaxPool, TransportTimeout, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		run(b, t1, t2)
	})
	b.Run("tls-mux", func(b *testing.B) {
		dir := mustInitCerts(b, "n1", "n2")
		run(b, NewTransport(startMux(b, dir, "n1", MuxOptions{}), nil), NewTransport(startMux(b, dir, "n2", MuxOptions{}), nil))
	})
}

// BenchmarkMux_Handshake opens and closes one raft stream per iteration:
// a TCP connect plus a TLS 1.3 handshake with client certificates, the
// cost raft pays for each new pooled connection.
func BenchmarkMux_Handshake(b *testing.B) {
	dir := mustInitCerts(b, "n1", "n2")
	m1 := startMux(b, dir, "n1", MuxOptions{})
	m2 := startMux(b, dir, "n2", MuxOptions{})
	go func() {
		for {
			c, err := m2.RaftLayer().Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for b.Loop() {
		c, err := m1.RaftLayer().Dial(rAddr(m2), 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// BenchmarkHTTP_Request sends one small POST per iteration on kept-alive
// connections, plain HTTP on loopback against HTTP over the Mux: the
// transport's share of a forwarded write.
func BenchmarkHTTP_Request(b *testing.B) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	})
	body := bytes.Repeat([]byte("x"), 512)
	run := func(b *testing.B, client *http.Client, url string) {
		for b.Loop() {
			resp, err := client.Post(url, "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if n != int64(len(body)) {
				b.Fatalf("echoed %d bytes", n)
			}
		}
	}
	b.Run("plain", func(b *testing.B) {
		srv := httptest.NewServer(echo)
		defer srv.Close()
		run(b, srv.Client(), srv.URL+"/echo")
	})
	b.Run("tls-mux", func(b *testing.B) {
		dir := mustInitCerts(b, "n1", "n2")
		m1 := startMux(b, dir, "n1", MuxOptions{})
		m2 := startMux(b, dir, "n2", MuxOptions{})
		srv := &http.Server{Handler: echo}
		go srv.Serve(m2.HTTPListener())
		defer srv.Close()
		run(b, m1.HTTPClient(), fmt.Sprintf("https://%s/echo", m2.Addr()))
	})
}
