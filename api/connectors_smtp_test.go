package api_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// connReceiver is a local HTTP endpoint for the HTTP connectors: it records
// each request and answers the next scripted status (200 once the script
// is spent).
type connReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	got    []connReceived
}

// connReceived is one request a connReceiver took.
type connReceived struct {
	Path, Authorization, ContentType string
	Signature                        string // Logto-Signature-Sha-256
	Body                             []byte
}

func startConnReceiver(t *testing.T, statuses ...int) *connReceiver {
	t.Helper()
	rc := &connReceiver{script: statuses}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, connReceived{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"),
			ContentType: r.Header.Get("Content-Type"),
			Signature:   r.Header.Get("Logto-Signature-Sha-256"), Body: body})
		status := http.StatusOK
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		if status == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", status)
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *connReceiver) received() []connReceived {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]connReceived(nil), rc.got...)
}

// smtpSink is a minimal SMTP server on loopback for the SMTP connector's
// tests: it offers STARTTLS with a test certificate for 127.0.0.1 (unless
// plain), takes AUTH PLAIN only over TLS and only with its credentials,
// and records each message it accepts.
type smtpSink struct {
	ln         net.Listener
	tls        *tls.Config
	offerTLS   bool
	user, pass string
	// CertPEM is the certificate the sink presents, for the connector's
	// rootCertificate.
	CertPEM string

	mu   sync.Mutex
	mail []smtpMail
	wg   sync.WaitGroup
}

// smtpMail is one message an smtpSink accepted.
type smtpMail struct {
	From, To string
	TLS      bool
	AuthUser string
	Data     string // the message as sent, headers and encoded body
}

// Text returns the message's body, decoded from quoted-printable.
func (m smtpMail) Text() string {
	_, body, _ := strings.Cut(m.Data, "\r\n\r\n")
	out, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	return string(out)
}

func startSMTPSink(t *testing.T, offerTLS bool, user, pass string) *smtpSink {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp sink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, offerTLS: offerTLS, user: user, pass: pass,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		tls:     &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// Host and Port are where the sink listens.
func (s *smtpSink) Host() string { return "127.0.0.1" }
func (s *smtpSink) Port() int    { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpSink) received() []smtpMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMail(nil), s.mail...)
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	var m smtpMail
	tp.PrintfLine("220 sink ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"250-sink"}
			if s.offerTLS && !m.TLS {
				ext = append(ext, "250-STARTTLS")
			}
			if m.TLS {
				ext = append(ext, "250-AUTH PLAIN")
			}
			ext = append(ext, "250 8BITMIME")
			for _, l := range ext {
				tp.PrintfLine("%s", l)
			}
		case "STARTTLS":
			if !s.offerTLS || m.TLS {
				tp.PrintfLine("502 no")
				continue
			}
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			tp = textproto.NewConn(tc)
			m.TLS = true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if !m.TLS || mech != "PLAIN" || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				tp.PrintfLine("535 authentication failed")
				continue
			}
			m.AuthUser = parts[1]
			tp.PrintfLine("235 ok")
		case "MAIL":
			if s.user != "" && m.AuthUser == "" {
				tp.PrintfLine("530 authentication required")
				continue
			}
			m.From, _, _ = strings.Cut(strings.TrimPrefix(arg, "FROM:<"), ">")
			tp.PrintfLine("250 ok")
		case "RCPT":
			m.To, _, _ = strings.Cut(strings.TrimPrefix(arg, "TO:<"), ">")
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := io.ReadAll(bufio.NewReader(tp.DotReader()))
			if err != nil {
				return
			}
			m.Data = strings.ReplaceAll(string(data), "\n", "\r\n")
			s.mu.Lock()
			s.mail = append(s.mail, m)
			s.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("500 unknown")
		}
	}
}
