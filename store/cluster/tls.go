package cluster

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"
)

// maxPEMFileSize bounds what the loader reads of a certificate or key
// file; real ones are a few kilobytes.
const maxPEMFileSize = 1 << 20

// TLSConfig is one node's identity in the cluster: its certificate and key,
// and the CA every peer's certificate must chain to. It is immutable and
// safe for concurrent use; the tls.Config values it returns are new each
// time.
type TLSConfig struct {
	// NodeID is the node the certificate was loaded for.
	NodeID string
	// NotAfter is when the node certificate expires.
	NotAfter time.Time

	cert  tls.Certificate
	roots *x509.CertPool
}

// LoadTLS reads node nodeID's identity from dir: ca.pem (one or more CA
// certificates, for example the old and the new one during a CA change),
// ID.pem (the node certificate, optionally followed by intermediates) and
// ID-key.pem. Each error names the file at fault. It refuses a key file that
// group or others may access, a key that is not the certificate's, and a
// certificate that does not verify against ca.pem, now, for both server
// and client authentication and the name ServerName, or whose common name
// (CN) is not nodeID.
func LoadTLS(dir, nodeID string) (*TLSConfig, error) {
	if err := ValidNodeID(nodeID); err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, CAFile)
	certPath := filepath.Join(dir, NodeCertFile(nodeID))
	keyPath := filepath.Join(dir, NodeKeyFile(nodeID))

	cas, _, err := readCertFile(caPath)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	for _, c := range cas {
		if !c.IsCA {
			return nil, fmt.Errorf("%s: certificate %q is not a CA", caPath, c.Subject.CommonName)
		}
		roots.AddCert(c)
	}
	chain, _, err := readCertFile(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:       ServerName,
			Roots:         roots,
			Intermediates: intermediates,
			KeyUsages:     []x509.ExtKeyUsage{usage},
		})
		if err != nil {
			return nil, fmt.Errorf("%s does not verify against %s as a node certificate: %w", certPath, caPath, err)
		}
	}
	if leaf.Subject.CommonName != nodeID { // PeerNodeID reads the CN
		return nil, fmt.Errorf("%s is a certificate of %q, not of node %q", certPath, leaf.Subject.CommonName, nodeID)
	}
	der := make([][]byte, len(chain))
	for i, c := range chain {
		der[i] = c.Raw
	}
	return &TLSConfig{
		NodeID:   nodeID,
		NotAfter: leaf.NotAfter,
		cert:     tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf},
		roots:    roots,
	}, nil
}

// ServerConfig returns the configuration of a listener that accepts the
// ALPN protocols protos: TLS 1.3, and a client certificate of the cluster
// CA (no system roots) with the name ServerName is required.
func (c *TLSConfig) ServerConfig(protos ...string) *tls.Config {
	return &tls.Config{
		MinVersion:       tls.VersionTLS13,
		Certificates:     []tls.Certificate{c.cert},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        c.roots,
		NextProtos:       slices.Clone(protos),
		VerifyConnection: verifyNodeName,
	}
}

// ClientConfig returns the configuration of a dialer that speaks the ALPN
// protocol proto: TLS 1.3, the node certificate as client certificate, and
// a server certificate of the cluster CA (no system roots) for ServerName.
func (c *TLSConfig) ClientConfig(proto string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{c.cert},
		RootCAs:      c.roots,
		ServerName:   ServerName,
		NextProtos:   []string{proto},
	}
}

// verifyNodeName refuses a verified client certificate of the CA that is
// not a node certificate, in case the CA signs other certificates too.
func verifyNodeName(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no client certificate") // RequireAndVerifyClientCert has refused it already
	}
	return cs.PeerCertificates[0].VerifyHostname(ServerName)
}

// PeerNodeID returns the node ID (the certificate's CN) of the peer of a
// connection that Mux accepted or dialed, from its verified certificate
// chain; an HTTP handler passes r.TLS. It returns an error for a connection
// without a verified chain.
func PeerNodeID(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", errors.New("cluster: connection has no verified peer certificate")
	}
	return cs.VerifiedChains[0][0].Subject.CommonName, nil
}

// readCertFile reads a file of one or more PEM "CERTIFICATE" blocks and
// nothing else, and returns the certificates and the file's content.
func readCertFile(path string) ([]*x509.Certificate, []byte, error) {
	data, err := readSmallFile(path)
	if err != nil {
		return nil, nil, err
	}
	var certs []*x509.Certificate
	for rest := data; len(bytes.TrimSpace(rest)) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, nil, fmt.Errorf("%s: not PEM after certificate %d", path, len(certs))
		}
		if block.Type != "CERTIFICATE" {
			return nil, nil, fmt.Errorf("%s: a PEM block of type %q, want CERTIFICATE", path, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: certificate %d: %w", path, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%s: no certificate in it", path)
	}
	return certs, data, nil
}

// readKeyFile reads a file of one PEM private key: PKCS #8 ("PRIVATE
// KEY", as init-certs writes), SEC 1 ("EC PRIVATE KEY") or PKCS #1 ("RSA
// PRIVATE KEY", as openssl may write). It refuses a file that group or
// others may access, as the master key file is refused.
func readKeyFile(path string) (crypto.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows" { // Windows has no such mode bits
		return nil, fmt.Errorf("%s: mode %v lets others read the key; chmod 600 it", path, fi.Mode().Perm())
	}
	data, err := readSmallFile(path)
	if err != nil {
		return nil, err
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM private key in it", path)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("%s: more than one PEM block", path)
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%s: a PEM block of type %q, want PRIVATE KEY", path, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: bad %s: %w", path, block.Type, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T cannot sign", path, key)
	}
	return signer, nil
}

// readSmallFile reads a regular file of at most maxPEMFileSize bytes; a
// missing file gives an error naming it for which errors.Is(err,
// fs.ErrNotExist) holds.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the file
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxPEMFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxPEMFileSize)
	}
	return data, nil
}
