package cluster

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// ServerName is the DNS name every node certificate holds and every
	// dialer verifies: raft dials addresses and does not know which node
	// answers, so any certificate of the cluster CA is accepted as a peer.
	ServerName = "idbolt-cluster-node"

	// CAFile and CAKeyFile are the names of the CA certificate and key in a
	// certificate directory.
	CAFile    = "ca.pem"
	CAKeyFile = "ca-key.pem"

	// CAValidity and NodeCertValidity are how long InitCerts makes the CA
	// and the node certificates valid. A node certificate outlives no CA
	// made at the same time.
	CAValidity       = 10 * 365 * 24 * time.Hour
	NodeCertValidity = 5 * 365 * 24 * time.Hour

	// maxNodeIDLen bounds a node ID: it names files and a DNS label.
	maxNodeIDLen = 64

	// clockSkew backdates NotBefore so that a node whose clock is a little
	// behind the one that made the certificate accepts it at once.
	clockSkew = time.Hour
)

// NodeCertFile and NodeKeyFile are the names of node id's certificate and
// key in a certificate directory.
func NodeCertFile(id string) string { return id + ".pem" }

// NodeKeyFile is the name of node id's key file; see NodeCertFile.
func NodeKeyFile(id string) string { return id + "-key.pem" }

// ValidNodeID returns an error unless id may name a node: 1 to 64 of
// A-Z a-z 0-9 . _ -, starting with a letter or digit (so that it is no
// flag and no hidden file), not "ca" and not ending in "-key" (so that its
// files cannot be taken for the CA's or another node's key).
func ValidNodeID(id string) error {
	if id == "" || len(id) > maxNodeIDLen {
		return fmt.Errorf("node id %q: want 1 to %d characters", id, maxNodeIDLen)
	}
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '.' && c != '_' && c != '-') {
			return fmt.Errorf("node id %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", id)
		}
	}
	if strings.EqualFold(id, "ca") || strings.HasSuffix(strings.ToLower(id), "-key") {
		return fmt.Errorf("node id %q: reserved, its files would be taken for a key or the CA's", id)
	}
	return nil
}

// InitCerts writes node certificates for nodeIDs into the directory out,
// made if missing (0700), and returns the paths it wrote. With caDir empty
// it makes a new CA too (ca.pem, ca-key.pem); otherwise it signs with
// caDir's ca.pem and ca-key.pem and copies only ca.pem into out, so a new
// node's directory never holds the CA key.
//
// It refuses invalid and duplicate IDs (case-insensitively, for file
// systems that fold case), and any file that exists already: nothing is
// overwritten, and a failed run removes what it wrote. A ca.pem in out
// equal to the CA's is left as it is.
func InitCerts(out string, nodeIDs []string, caDir string) ([]string, error) {
	if len(nodeIDs) == 0 {
		return nil, errors.New("init-certs: no node ids")
	}
	seen := make(map[string]bool)
	for _, id := range nodeIDs {
		if err := ValidNodeID(id); err != nil {
			return nil, fmt.Errorf("init-certs: %w", err)
		}
		if seen[strings.ToLower(id)] {
			return nil, fmt.Errorf("init-certs: node id %q given twice", id)
		}
		seen[strings.ToLower(id)] = true
	}
	now := time.Now()
	var files []pendingFile
	var ca *certAuthority
	if caDir == "" {
		var err error
		if ca, err = newCA(now); err != nil {
			return nil, fmt.Errorf("init-certs: %w", err)
		}
		keyPEM, err := encodeKey(ca.key)
		if err != nil {
			return nil, fmt.Errorf("init-certs: %w", err)
		}
		files = append(files, pendingFile{CAFile, ca.certPEM, 0o644}, pendingFile{CAKeyFile, keyPEM, 0o600})
	} else {
		var err error
		if ca, err = loadCA(caDir); err != nil {
			return nil, fmt.Errorf("init-certs: %w", err)
		}
		existing, err := os.ReadFile(filepath.Join(out, CAFile))
		switch {
		case err == nil && !bytes.Equal(existing, ca.certPEM):
			return nil, fmt.Errorf("init-certs: %s holds another CA than %s", filepath.Join(out, CAFile), filepath.Join(caDir, CAFile))
		case errors.Is(err, fs.ErrNotExist):
			files = append(files, pendingFile{CAFile, ca.certPEM, 0o644})
		case err != nil:
			return nil, fmt.Errorf("init-certs: %w", err)
		}
	}
	for _, id := range nodeIDs {
		certPEM, keyPEM, err := ca.issueNode(id, now)
		if err != nil {
			return nil, fmt.Errorf("init-certs: node %s: %w", id, err)
		}
		files = append(files, pendingFile{NodeCertFile(id), certPEM, 0o644}, pendingFile{NodeKeyFile(id), keyPEM, 0o600})
	}
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(out, f.name)); err == nil {
			return nil, fmt.Errorf("init-certs: %s exists; refusing to overwrite it (choose another --out)", filepath.Join(out, f.name))
		}
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return nil, fmt.Errorf("init-certs: %w", err)
	}
	var written []string
	for _, f := range files {
		path := filepath.Join(out, f.name)
		if err := writeNewFile(path, f.data, f.mode); err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			return nil, fmt.Errorf("init-certs: %w", err)
		}
		written = append(written, path)
	}
	if err := syncDir(out); err != nil {
		return nil, fmt.Errorf("init-certs: %w", err)
	}
	return written, nil
}

// pendingFile is a file InitCerts is about to write.
type pendingFile struct {
	name string
	data []byte
	mode os.FileMode
}

// certAuthority is a CA certificate with its key.
type certAuthority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// newCA makes a self-signed ECDSA P-256 CA valid for CAValidity. Its name
// carries a random suffix so that an error about a foreign CA tells two
// clusters' CAs apart.
func newCA(now time.Time) (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "idbolt cluster CA " + hex.EncodeToString(serial.Bytes()[:4])},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	return &certAuthority{cert: cert, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key: key}, nil
}

// loadCA reads dir's ca.pem and ca-key.pem and checks that they belong
// together and that the key file is private.
func loadCA(dir string) (*certAuthority, error) {
	certPath, keyPath := filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile)
	certs, certPEM, err := readCertFile(certPath)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 || !certs[0].IsCA {
		return nil, fmt.Errorf("%s: want one CA certificate", certPath)
	}
	key, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(certs[0].PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	return &certAuthority{cert: certs[0], certPEM: certPEM, key: key}, nil
}

// issueNode makes node id's certificate and key, PEM-encoded.
func (ca *certAuthority) issueNode(id string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(NodeCertValidity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter // a certificate must not outlive its issuer
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: id},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{id, ServerName, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	if keyPEM, err = encodeKey(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

// randomSerial draws a 128-bit serial number, as RFC 5280 asks of CAs
// (positive, at most 20 octets, unpredictable).
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	b[0] |= 0x40 // never zero or short: the CA name shows its first bytes
	b[0] &= 0x7f
	return new(big.Int).SetBytes(b), nil
}

// encodeKey encodes a private key as a PKCS #8 "PRIVATE KEY" PEM block.
func encodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// publicKeysEqual reports whether two public keys are the same key.
func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// writeNewFile writes data to a new file at path with mode: complete or
// not at all (a temporary file, synced, then linked into place), and never
// over an existing file.
func writeNewFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".idbolt-cert-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = tmp.Chmod(mode)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path) // fails if path exists
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// syncDir makes new directory entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
