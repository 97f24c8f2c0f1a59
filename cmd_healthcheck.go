package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// healthcheck asks a server whether it is ready (GET /api/status/ready, 204)
// and returns an error, so exit status 1, when it is not or does not answer
// in time. It is the Docker HEALTHCHECK: it runs inside the container, so
// its default URL is the loopback address of the server's own --addr.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	target := fs.String("url", getenv("IDBOLT_HEALTHCHECK_URL"),
		"base URL of the server to check; default http://127.0.0.1:PORT from IDBOLT_ADDR, https when IDBOLT_TLS_CERT is set (IDBOLT_HEALTHCHECK_URL)")
	caFile := fs.String("ca-file", getenv("IDBOLT_HEALTHCHECK_CA_FILE"),
		"PEM file of the CA that signed the server's certificate, for https with a private CA; default the system roots (IDBOLT_HEALTHCHECK_CA_FILE)")
	timeoutFlag := fs.String("timeout", cmp.Or(getenv("IDBOLT_HEALTHCHECK_TIMEOUT"), "3s"), "how long to wait for the answer (IDBOLT_HEALTHCHECK_TIMEOUT)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("healthcheck: unexpected arguments: %v", fs.Args())
	}
	timeout, err := time.ParseDuration(*timeoutFlag)
	if err != nil || timeout <= 0 {
		return fmt.Errorf("--timeout %q: want a positive duration", *timeoutFlag)
	}
	base := *target
	if base == "" {
		if base, err = localURL(cmp.Or(getenv("IDBOLT_ADDR"), ":3001"), getenv("IDBOLT_TLS_CERT") != ""); err != nil {
			return err
		}
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil // the check is of this server, never of a proxy's answer
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return fmt.Errorf("--ca-file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--ca-file %s: no PEM certificate in it", *caFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/status/ready", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("healthcheck: %s answered %s", req.URL, resp.Status)
	}
	fmt.Fprintln(stdout, "idbolt: ready")
	return nil
}

// localURL returns the URL on which a server listening on addr is reached
// from the same host: an unspecified or empty host becomes loopback.
func localURL(addr string, https bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: IDBOLT_ADDR %q: want [HOST]:PORT", addr)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	if port == "0" {
		return "", errors.New("healthcheck: IDBOLT_ADDR has port 0; give --url")
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}
