package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
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

// apiFirst returns mux, whose "/" pattern serves api, with a shortcut: a
// request that mux would hand to api as it is (a clean path without
// escapes, none of mux's other paths, not CONNECT) goes to api directly.
// ServeMux matched every request twice ("/" matches but not exactly, so it
// tried the path with a slash added, which it first allocated), a
// twentieth of a GET's server CPU. Any other request, one mux would
// redirect or route elsewhere, still goes through mux.
func apiFirst(mux *http.ServeMux, api http.Handler, muxPaths ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.Method != http.MethodConnect && r.URL.RawPath == "" && cleanPath(p) && !slices.Contains(muxPaths, p) {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath reports whether ServeMux would leave p as it is: rooted, with
// no empty, "." or ".." segment (a trailing slash is kept).
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' || strings.Contains(p, "//") {
		return false
	}
	if !strings.Contains(p, "/.") {
		return true
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
