package cluster

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	certs, _, err := readCertFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 {
		t.Fatalf("%s: %d certificates", path, len(certs))
	}
	return certs[0]
}

func TestInitCerts_WritesCAAndNodes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "certs")
	written, err := InitCerts(dir, []string{"n1", "n2", "node_3.eu-west"}, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ca.pem", "ca-key.pem", "n1.pem", "n1-key.pem", "n2.pem", "n2-key.pem", "node_3.eu-west.pem", "node_3.eu-west-key.pem"}
	if got, want := len(written), len(want); got != want {
		t.Fatalf("wrote %v, want %v", written, want)
	}
	for i, name := range want {
		if got, want := written[i], filepath.Join(dir, name); got != want {
			t.Errorf("written[%d] = %s, want %s", i, got, want)
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		wantMode := os.FileMode(0o644)
		if strings.HasSuffix(name, "-key.pem") {
			wantMode = 0o600
		}
		if got := fi.Mode().Perm(); got != wantMode {
			t.Errorf("%s: mode %v, want %v", name, got, wantMode)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v %v, want mode 0700", fi.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(want) {
		t.Errorf("directory holds %d entries, want %d (a temporary file left?)", len(entries), len(want))
	}

	start := time.Now()
	ca := readCert(t, filepath.Join(dir, CAFile))
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA: IsCA %v, key usage %v", ca.IsCA, ca.KeyUsage)
	}
	if d := ca.NotAfter.Sub(start) - CAValidity; d > time.Minute || d < -time.Minute {
		t.Errorf("CA valid until %v, want %v from now", ca.NotAfter, CAValidity)
	}
	if _, err := x509.ParseCertificate(ca.Raw); err != nil {
		t.Fatal(err)
	}
	caKey, err := readKeyFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !publicKeysEqual(ca.PublicKey, caKey.Public()) {
		t.Error("ca-key.pem is not the CA's key")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, id := range []string{"n1", "n2", "node_3.eu-west"} {
		c := readCert(t, filepath.Join(dir, NodeCertFile(id)))
		pub, ok := c.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Errorf("%s: key %T, want ECDSA P-256", id, c.PublicKey)
		}
		if c.Subject.CommonName != id || c.IsCA {
			t.Errorf("%s: CN %q, IsCA %v", id, c.Subject.CommonName, c.IsCA)
		}
		if got, want := c.DNSNames, []string{id, ServerName, "localhost"}; !slices.Equal(got, want) {
			t.Errorf("%s: DNS names %v, want %v", id, got, want)
		}
		if len(c.IPAddresses) != 2 || !c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
			t.Errorf("%s: IP addresses %v", id, c.IPAddresses)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
			t.Errorf("%s: extended key usage %v", id, c.ExtKeyUsage)
		}
		if d := c.NotAfter.Sub(start) - NodeCertValidity; d > time.Minute || d < -time.Minute {
			t.Errorf("%s: valid until %v, want %v from now", id, c.NotAfter, NodeCertValidity)
		}
		for _, name := range []string{ServerName, id, "localhost", "127.0.0.1", "::1"} {
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("%s as %s for %v: %v", id, name, usage, err)
				}
			}
		}
		if _, err := LoadTLS(dir, id); err != nil {
			t.Errorf("LoadTLS %s: %v", id, err)
		}
	}
	// Serial numbers and keys are random: two runs share none.
	other := mustInitCerts(t, "n1")
	if bytes.Equal(readCert(t, filepath.Join(other, "n1.pem")).SerialNumber.Bytes(), readCert(t, filepath.Join(dir, "n1.pem")).SerialNumber.Bytes()) {
		t.Error("two runs made the same serial number")
	}
	if readCert(t, filepath.Join(other, CAFile)).Subject.CommonName == ca.Subject.CommonName {
		t.Error("two CAs have the same name")
	}
}

func TestValidNodeID(t *testing.T) {
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{"n1", true},
		{"N1", true},
		{"a", true},
		{"node-1.eu_west", true},
		{"1", true},
		{strings.Repeat("x", 64), true},
		{"cax", true},
		{"keyring", true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"-n1", false},
		{".n1", false},
		{"_n1", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"n1,n2", false},
		{"n1=127.0.0.1:7001", false},
		{"nö", false},
		{"ca", false},
		{"CA", false},
		{"n1-key", false},
		{"n1-KEY", false},
	} {
		if err := ValidNodeID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidNodeID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

func TestInitCerts_Refuses(t *testing.T) {
	existing := mustInitCerts(t, "n1")
	before, err := os.ReadFile(filepath.Join(existing, "n1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		out   string // "" for a fresh directory
		nodes []string
		caDir string
		want  string
	}{
		{"NoNodes", "", nil, "", "no node ids"},
		{"InvalidID", "", []string{"n1", "../n2"}, "", `"../n2"`},
		{"ReservedID", "", []string{"ca"}, "", "reserved"},
		{"Duplicate", "", []string{"n1", "n2", "n1"}, "", `"n1" given twice`},
		{"DuplicateFoldingCase", "", []string{"n1", "N1"}, "", "given twice"},
		{"ExistingCA", existing, []string{"n9"}, "", "ca.pem exists"},
		{"ExistingNode", existing, []string{"n1"}, existing, "n1.pem exists"},
		{"MissingCADir", "", []string{"n2"}, filepath.Join(existing, "nope"), "ca.pem"},
		{"OtherCAInOut", existing, []string{"n2"}, mustInitCerts(t, "x"), "holds another CA"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := tt.out
			if out == "" {
				out = filepath.Join(t.TempDir(), "certs")
			}
			entriesBefore, _ := os.ReadDir(out)
			written, err := InitCerts(out, tt.nodes, tt.caDir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("InitCerts = %v, %v; want an error with %q", written, err, tt.want)
			}
			if entries, _ := os.ReadDir(out); len(entries) != len(entriesBefore) {
				t.Errorf("a refused run changed %s: %d entries, before %d", out, len(entries), len(entriesBefore))
			}
		})
	}
	if after, _ := os.ReadFile(filepath.Join(existing, "n1-key.pem")); !bytes.Equal(before, after) {
		t.Error("a refused run changed n1-key.pem")
	}
}

// A new node's certificate is made with the existing CA: its directory
// gets ca.pem, not the CA key, and old and new nodes trust each other.
func TestInitCerts_WithExistingCA(t *testing.T) {
	caDir := mustInitCerts(t, "n1", "n2")
	out := filepath.Join(t.TempDir(), "n4")
	written, err := InitCerts(out, []string{"n4"}, caDir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(written), 3; got != want {
		t.Errorf("wrote %v", written)
	}
	if _, err := os.Stat(filepath.Join(out, CAKeyFile)); !os.IsNotExist(err) {
		t.Errorf("the new node's directory has the CA key: %v", err)
	}
	caPEM, _ := os.ReadFile(filepath.Join(caDir, CAFile))
	if got, _ := os.ReadFile(filepath.Join(out, CAFile)); !bytes.Equal(got, caPEM) {
		t.Error("ca.pem differs from the CA's")
	}
	// Into the CA's own directory: ca.pem is there already and stays.
	if written, err := InitCerts(caDir, []string{"n5"}, caDir); err != nil || len(written) != 2 {
		t.Errorf("InitCerts into the CA directory: %v %v", written, err)
	}
	m1 := startMux(t, caDir, "n1", MuxOptions{})
	m4 := startMux(t, out, "n4", MuxOptions{})
	m5 := startMux(t, caDir, "n5", MuxOptions{})
	for _, pair := range [][2]*Mux{{m4, m1}, {m1, m4}, {m5, m4}} {
		conn, err := pair[0].RaftLayer().Dial(rAddr(pair[1]), 10*time.Second)
		if err != nil {
			t.Fatalf("%s to %s: %v", pair[0].tls.NodeID, pair[1].tls.NodeID, err)
		}
		conn.Close()
	}

	// A CA key that others may read is refused, as a node key is.
	if err := os.Chmod(filepath.Join(caDir, CAKeyFile), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := InitCerts(filepath.Join(t.TempDir(), "n6"), []string{"n6"}, caDir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable CA key: %v", err)
	}
	os.Chmod(filepath.Join(caDir, CAKeyFile), 0o600)
	// A CA directory whose ca.pem is a node certificate is refused.
	bad := t.TempDir()
	copyFile(t, filepath.Join(caDir, "n1.pem"), filepath.Join(bad, CAFile), 0o644)
	copyFile(t, filepath.Join(caDir, "n1-key.pem"), filepath.Join(bad, CAKeyFile), 0o600)
	if _, err := InitCerts(filepath.Join(t.TempDir(), "n7"), []string{"n7"}, bad); err == nil || !strings.Contains(err.Error(), "want one CA certificate") {
		t.Errorf("a node certificate as CA: %v", err)
	}
	// A CA key that is not the CA certificate's is refused.
	copyFile(t, filepath.Join(caDir, CAFile), filepath.Join(bad, "ca2", CAFile), 0o644)
	copyFile(t, filepath.Join(caDir, "n1-key.pem"), filepath.Join(bad, "ca2", CAKeyFile), 0o600)
	if _, err := InitCerts(filepath.Join(t.TempDir(), "n7"), []string{"n7"}, filepath.Join(bad, "ca2")); err == nil || !strings.Contains(err.Error(), "is not the key") {
		t.Errorf("a CA key of another certificate: %v", err)
	}
}

// rAddr is m's raft address.
func rAddr(m *Mux) raft.ServerAddress { return raft.ServerAddress(m.Addr().String()) }

// copyFile copies src to dst with mode, making dst's directory.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, data, mode)
}

// writeFile writes data to path with mode, replacing it, making its
// directory.
func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// pemBlock encodes one PEM block.
func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
