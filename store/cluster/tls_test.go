package cluster

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadTLS_OK(t *testing.T) {
	dir := mustInitCerts(t, "n1", "n2")
	c := mustLoadTLS(t, dir, "n1")
	if c.NodeID != "n1" || time.Until(c.NotAfter) < NodeCertValidity-time.Hour {
		t.Errorf("NodeID %q, NotAfter %v", c.NodeID, c.NotAfter)
	}
	s := c.ServerConfig(ProtoRaft, ProtoHTTP)
	if s.MinVersion != tls.VersionTLS13 || s.ClientAuth != tls.RequireAndVerifyClientCert || s.ClientCAs == nil || s.RootCAs != nil || len(s.Certificates) != 1 {
		t.Errorf("server config: %+v", s)
	}
	cl := c.ClientConfig(ProtoRaft)
	if cl.MinVersion != tls.VersionTLS13 || cl.RootCAs == nil || cl.ServerName != ServerName || len(cl.Certificates) != 1 || cl.InsecureSkipVerify ||
		len(cl.NextProtos) != 1 || cl.NextProtos[0] != ProtoRaft {
		t.Errorf("client config: %+v", cl)
	}
}

// TestLoadTLS_Errors spoils one file of a good directory at a time; each
// error names the file at fault.
func TestLoadTLS_Errors(t *testing.T) {
	good := mustInitCerts(t, "n1", "n2")
	foreign := mustInitCerts(t, "n1")
	read := func(dir, name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	caPEM, nodePEM, nodeKey := read(good, CAFile), read(good, "n1.pem"), read(good, "n1-key.pem")
	half := func(b []byte) []byte { return b[:len(b)/2] }

	type spoil struct {
		file string
		data []byte // nil removes the file
		mode os.FileMode
	}
	for _, tt := range []struct {
		name   string
		spoil  []spoil
		node   string // "" for n1
		inFile string // the file the error must name
		want   string
	}{
		{"MissingCA", []spoil{{CAFile, nil, 0}}, "", CAFile, "no such file"},
		{"MissingCert", []spoil{{"n1.pem", nil, 0}}, "", "n1.pem", "no such file"},
		{"MissingKey", []spoil{{"n1-key.pem", nil, 0}}, "", "n1-key.pem", "no such file"},
		{"NodeNotInDir", nil, "n3", "n3.pem", "no such file"},
		{"EmptyCA", []spoil{{CAFile, []byte{}, 0o644}}, "", CAFile, "no certificate"},
		{"BlankCA", []spoil{{CAFile, []byte("\n \n"), 0o644}}, "", CAFile, "no certificate"},
		{"TextCA", []spoil{{CAFile, []byte("not a certificate\n"), 0o644}}, "", CAFile, "not PEM"},
		{"TruncatedCA", []spoil{{CAFile, half(caPEM), 0o644}}, "", CAFile, "not PEM"},
		{"GarbageAfterCA", []spoil{{CAFile, append(append([]byte{}, caPEM...), "garbage"...), 0o644}}, "", CAFile, "not PEM after certificate 1"},
		{"KeyAsCA", []spoil{{CAFile, read(good, CAKeyFile), 0o644}}, "", CAFile, `type "PRIVATE KEY"`},
		{"BadDERInCA", []spoil{{CAFile, pemBlock("CERTIFICATE", []byte("junk")), 0o644}}, "", CAFile, "certificate 1"},
		{"NodeCertAsCA", []spoil{{CAFile, nodePEM, 0o644}}, "", CAFile, "is not a CA"},
		{"DirectoryAsCA", []spoil{{CAFile, nil, 0}, {CAFile + "/x", []byte("x"), 0o644}}, "", CAFile, "not a regular file"},
		{"HugeCA", []spoil{{CAFile, make([]byte, maxPEMFileSize+1), 0o644}}, "", CAFile, "larger than"},
		{"TruncatedCert", []spoil{{"n1.pem", half(nodePEM), 0o644}}, "", "n1.pem", "not PEM"},
		{"EmptyCert", []spoil{{"n1.pem", []byte{}, 0o644}}, "", "n1.pem", "no certificate"},
		{"OtherNodesCert", []spoil{{"n1.pem", read(good, "n2.pem"), 0o644}}, "", "n1-key.pem", "is not the key of"},
		{"OtherNodesPair", []spoil{{"n1.pem", read(good, "n2.pem"), 0o644}, {"n1-key.pem", read(good, "n2-key.pem"), 0o600}}, "", "n1.pem", `of "n2", not of node "n1"`},
		{"OtherCA", []spoil{{CAFile, read(foreign, CAFile), 0o644}}, "", "n1.pem", "does not verify against"},
		{"OtherCAsNode", []spoil{{"n1.pem", read(foreign, "n1.pem"), 0o644}, {"n1-key.pem", read(foreign, "n1-key.pem"), 0o600}}, "", "n1.pem", "unknown authority"},
		{"CAAsNodeCert", []spoil{{"n1.pem", caPEM, 0o644}, {"n1-key.pem", read(good, CAKeyFile), 0o600}}, "", "n1.pem", "does not verify against"},
		{"KeyReadableByGroup", []spoil{{"n1-key.pem", nodeKey, 0o640}}, "", "n1-key.pem", "chmod 600"},
		{"KeyReadableByAll", []spoil{{"n1-key.pem", nodeKey, 0o604}}, "", "n1-key.pem", "chmod 600"},
		{"TextKey", []spoil{{"n1-key.pem", []byte("secret"), 0o600}}, "", "n1-key.pem", "no PEM private key"},
		{"TruncatedKey", []spoil{{"n1-key.pem", half(nodeKey), 0o600}}, "", "n1-key.pem", "no PEM private key"},
		{"TwoKeys", []spoil{{"n1-key.pem", append(append([]byte{}, nodeKey...), nodeKey...), 0o600}}, "", "n1-key.pem", "more than one"},
		{"CertAsKey", []spoil{{"n1-key.pem", nodePEM, 0o600}}, "", "n1-key.pem", `type "CERTIFICATE"`},
		{"BadDERInKey", []spoil{{"n1-key.pem", pemBlock("PRIVATE KEY", []byte("junk")), 0o600}}, "", "n1-key.pem", "bad PRIVATE KEY"},
		{"BadDERInECKey", []spoil{{"n1-key.pem", pemBlock("EC PRIVATE KEY", []byte("junk")), 0o600}}, "", "n1-key.pem", "bad EC PRIVATE KEY"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range []string{CAFile, "n1.pem", "n1-key.pem", "n2.pem", "n2-key.pem"} {
				copyFile(t, filepath.Join(good, name), filepath.Join(dir, name), 0o600)
			}
			for _, s := range tt.spoil {
				path := filepath.Join(dir, s.file)
				if s.data == nil {
					os.Remove(path)
					continue
				}
				writeFile(t, path, s.data, s.mode)
			}
			node := tt.node
			if node == "" {
				node = "n1"
			}
			c, err := LoadTLS(dir, node)
			if err == nil {
				t.Fatalf("LoadTLS = %+v, want an error", c)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tt.inFile)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadTLS: %v\nwant an error naming %s with %q", err, tt.inFile, tt.want)
			}
		})
	}
	if _, err := LoadTLS(good, "../n1"); err == nil || !strings.Contains(err.Error(), "node id") {
		t.Errorf("LoadTLS of an invalid id: %v", err)
	}
}

// A key written by openssl ("EC PRIVATE KEY", SEC 1) is accepted.
func TestLoadTLS_SEC1Key(t *testing.T) {
	dir := mustInitCerts(t, "n1")
	key, err := readKeyFile(filepath.Join(dir, "n1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "n1-key.pem"), pemBlock("EC PRIVATE KEY", der), 0o600)
	mustLoadTLS(t, dir, "n1")
}
