package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
)

// defaultGCPercent is the garbage collector's target heap growth unless
// GOGC is set: a heap of 5x the live one, tens of MB (README, Benchmarks).
const defaultGCPercent = 400

// checkPprofAddr accepts only a loopback address for --pprof-addr:
// profiles show the program's memory, which holds keys and secrets, so they
// are for an operator on the box (or through an SSH tunnel), never a network.
func checkPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof-addr %q: want HOST:PORT: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof-addr %q: want a loopback address such as 127.0.0.1:6060", addr)
	}
	return nil
}

// newPprofServer serves Go's profiles (CPU, heap, allocations, goroutines,
// mutex and block, execution trace) under /debug/pprof/ on its own mux.
func newPprofServer(logger *slog.Logger) *http.Server {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return newHTTPServer(m, logger)
}
