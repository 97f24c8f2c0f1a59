package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/cluster"
)

// TestProcess_ClusterInitCerts runs "idbolt cluster init-certs" as a
// process: the files and modes the README promises, certificates the
// cluster loads, a second CA-signed run for a new node, and refusals that
// exit 1 with a message and leave the directory as it was.
func TestProcess_ClusterInitCerts(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	runBinary := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"cluster"}, args...)...).CombinedOutput()
		if exit, ok := err.(*exec.ExitError); ok {
			return string(out), exit.ExitCode()
		} else if err != nil {
			t.Fatalf("idbolt cluster %v: %v", args, err)
		}
		return string(out), 0
	}

	out, code := runBinary("init-certs", "--out", certs, "--nodes", "n1,n2,n3")
	if code != 0 || !strings.Contains(out, "ca-key.pem offline") {
		t.Fatalf("init-certs: exit %d\n%s", code, out)
	}
	for name, mode := range map[string]os.FileMode{
		"ca.pem": 0o644, "ca-key.pem": 0o600,
		"n1.pem": 0o644, "n1-key.pem": 0o600, "n2.pem": 0o644, "n2-key.pem": 0o600, "n3.pem": 0o644, "n3-key.pem": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(certs, name))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %v", name, err, mode)
		}
		if !strings.Contains(out, "wrote "+filepath.Join(certs, name)+"\n") {
			t.Errorf("output does not list %s:\n%s", name, out)
		}
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if _, err := cluster.LoadTLS(certs, id); err != nil {
			t.Errorf("LoadTLS %s: %v", id, err)
		}
	}
	snapshot := func(dir string) map[string]string {
		files := map[string]string{}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			files[e.Name()] = string(data)
		}
		return files
	}
	before := snapshot(certs)

	n4 := filepath.Join(dir, "n4")
	if out, code := runBinary("init-certs", "--out", n4, "--nodes", "n4", "--ca-dir", certs); code != 0 || strings.Contains(out, "offline") {
		t.Fatalf("init-certs --ca-dir: exit %d\n%s", code, out)
	}
	if got := snapshot(n4); len(got) != 3 || got["ca.pem"] != before["ca.pem"] || got["n4.pem"] == "" || got["n4-key.pem"] == "" {
		t.Errorf("the new node's directory holds %d files, want ca.pem (the CA's), n4.pem and n4-key.pem", len(got))
	}
	if _, err := cluster.LoadTLS(n4, "n4"); err != nil {
		t.Errorf("LoadTLS n4: %v", err)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"init-certs", "--out", certs, "--nodes", "n5"}, "ca.pem exists; refusing to overwrite"},
		{[]string{"init-certs", "--out", certs, "--nodes", "n1", "--ca-dir", certs}, "n1.pem exists; refusing to overwrite"},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "n1,n2,n1"}, `node id "n1" given twice`},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "n1,n 2"}, `node id "n 2"`},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "n1,"}, `node id ""`},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "../etc"}, `node id "../etc"`},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", strings.Repeat("n", 65)}, "1 to 64 characters"},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "n9", "--ca-dir", dir}, "ca.pem"},
		{[]string{"init-certs", "--nodes", "n1"}, "needs --out and --nodes"},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x")}, "needs --out and --nodes"},
		{[]string{"init-certs", "--out", filepath.Join(dir, "x"), "--nodes", "n1", "extra"}, "no other arguments"},
		{[]string{"frobnicate"}, "usage: idbolt cluster init-certs"},
		{nil, "usage: idbolt cluster init-certs"},
	} {
		out, code := runBinary(tt.args...)
		if code != 1 || !strings.Contains(out, tt.want) || !strings.HasPrefix(out, "idbolt: ") {
			t.Errorf("idbolt cluster %v: exit %d, want 1 and %q:\n%s", tt.args, code, tt.want, out)
		}
	}
	if after := snapshot(certs); len(after) != len(before) {
		t.Errorf("refused runs changed %s: %d files, before %d", certs, len(after), len(before))
	} else {
		for name, data := range before {
			if after[name] != data {
				t.Errorf("refused runs changed %s", name)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !os.IsNotExist(err) {
		t.Errorf("a refused run made its --out directory: %v", err)
	}
}
