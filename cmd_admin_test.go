package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/cluster"
)

// readCredentialsFile checks the credentials file beside data file path
// (mode 0600, shell syntax) and returns its client id and secret.
func readCredentialsFile(t *testing.T, path string) (id, secret string) {
	t.Helper()
	file := credentialsFile(path)
	st, err := os.Lstat(file)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a regular file with 0600", file, st.Mode())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "IDBOLT_CLIENT_ID="); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "IDBOLT_CLIENT_SECRET="); ok {
			secret = v
		}
	}
	if id == "" || len(secret) < 32 {
		t.Fatalf("credentials file without IDBOLT_CLIENT_ID and IDBOLT_CLIENT_SECRET:\n%s", data)
	}
	return id, secret
}

// tenantToken asks for a Management API token of tenant and returns the
// status and the token.
func tenantToken(t *testing.T, base, tenant, id, secret string) (int, string) {
	t.Helper()
	prefix := ""
	if tenant != "default" {
		prefix = "/t/" + tenant
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://" + tenant + ".logto.app/api"}, "scope": {"all"}}
	req, _ := http.NewRequest("POST", base+prefix+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	return resp.StatusCode, tr.AccessToken
}

func runCmd(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), args, func(string) string { return "" }, &out, &out)
	return out.String(), err
}

func TestBootstrap_StaleCredentialsFileRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, file string)
	}{
		{"File", func(t *testing.T, file string) {
			if err := os.WriteFile(file, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"DanglingSymlink", func(t *testing.T, file string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(file), "elsewhere"), file); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "idbolt.db")
			tc.plant(t, credentialsFile(path))
			out, err := runCmd("serve", "--addr", "127.0.0.1:0", "--data", path)
			if err == nil || !strings.Contains(err.Error(), "exists") {
				t.Fatalf("start with %s planted: %v\n%s", credentialsFile(path), err, out)
			}
			if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
				t.Error("the symlink was followed")
			}
			// Nothing was bootstrapped: once the name is free, the first
			// start makes the credentials.
			if err := os.Remove(credentialsFile(path)); err != nil {
				t.Fatal(err)
			}
			s := startRun(t, path, nil)
			id, secret := readCredentialsFile(t, path)
			if got, _ := tenantToken(t, s.url, "default", id, secret); got != 200 {
				t.Errorf("token with the new credentials: %d", got)
			}
		})
	}
}

func TestBootstrap_IgnoredVariablesReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)
	if strings.Contains(s.log.String(), "ignored") {
		t.Errorf("first start reports the variables as ignored:\n%s", s.log)
	}
	s.stop(t)
	other := strings.Repeat("z", 40)
	s2 := startRun(t, path, map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": "other-admin", "IDBOLT_BOOTSTRAP_CLIENT_SECRET": other})
	log := s2.log.String()
	if !strings.Contains(log, "IDBOLT_BOOTSTRAP_CLIENT_ID and IDBOLT_BOOTSTRAP_CLIENT_SECRET are ignored") {
		t.Errorf("no warning about the ignored variables:\n%s", log)
	}
	if strings.Contains(log, other) || strings.Contains(log, "other-admin") {
		t.Errorf("the warning shows a value:\n%s", log)
	}
}

func TestAdminResetCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)

	start := time.Now()
	out, err := runCmd("admin", "reset-credentials", "--data", path)
	if err == nil || !strings.Contains(err.Error(), "locked by a running server: stop it first") {
		t.Fatalf("reset while the server runs: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusal took %v", d)
	}
	s.stop(t)

	out, err = runCmd("admin", "reset-credentials", "--data", path)
	if err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	id, secret := readCredentialsFile(t, path)
	if id != testClientID || strings.Contains(out, secret) {
		t.Errorf("reset the wrong application (%s, want %s), or printed the secret:\n%s", id, testClientID, out)
	}

	// A second reset refuses to overwrite the file and changes nothing.
	if out, err := runCmd("admin", "reset-credentials", "--data", path); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second reset with the file present: %v\n%s", err, out)
	}

	s2 := startRun(t, path, nil)
	if got, _ := tenantToken(t, s2.url, "default", testClientID, testSecret); got != 401 {
		t.Errorf("old secret after the reset: %d, want 401", got)
	}
	tok := token(t, s2.url, id, secret)
	if _, err := systemToken(context.Background(), s2.url, id, secret); err != nil {
		t.Errorf("the reset application lost instance administration: %v", err)
	}
	status, body := do(t, "GET", s2.url+"/api/logs?logKey=System.Admin.ResetCredentials", tok, "")
	var logs []struct {
		Key     string
		Payload struct {
			UserAgent string `json:"userAgent"`
			Target    struct{ ID string }
		}
	}
	if err := json.Unmarshal([]byte(body), &logs); status != 200 || err != nil || len(logs) != 1 ||
		logs[0].Payload.Target.ID != id || logs[0].Payload.UserAgent != "idbolt admin reset-credentials" {
		t.Errorf("audit of the reset: %d %s", status, body)
	}
}

// TestAdminResetCredentials_DeletedAdminApp: a tenant whose admin
// application was deleted gets a new one with the same rights.
func TestAdminResetCredentials_DeletedAdminApp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)
	sys, err := systemToken(context.Background(), s.url, testClientID, testSecret)
	if err != nil {
		t.Fatal(err)
	}
	status, body := do(t, "POST", s.url+"/system/tenants", sys, `{"id":"acme"}`)
	var created struct {
		Credentials struct{ ClientID, ClientSecret string }
	}
	if err := json.Unmarshal([]byte(body), &created); status != 201 || err != nil {
		t.Fatalf("create tenant: %d %s", status, body)
	}
	acme := created.Credentials
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://acme.logto.app/api"}, "scope": {"all"}}
	req, _ := http.NewRequest("POST", s.url+"/t/acme/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(acme.ClientID, acme.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if status, body := do(t, "DELETE", s.url+"/t/acme/api/applications/"+acme.ClientID, tr.AccessToken, ""); status != 204 {
		t.Fatalf("delete acme's admin application: %d %s", status, body)
	}
	s.stop(t)

	if out, err := runCmd("admin", "reset-credentials", "--data", path, "--tenant", "nope"); err == nil {
		t.Errorf("reset of an unknown tenant: %s", out)
	}
	if _, err := os.Stat(credentialsFile(path)); err == nil {
		t.Error("a failed reset left a credentials file")
	}
	if out, err := runCmd("admin", "reset-credentials", "--data", path, "--tenant", "acme"); err != nil || !strings.Contains(out, credentialsFile(path)) {
		t.Fatalf("reset of acme: %v\n%s", err, out)
	}
	id, secret := readCredentialsFile(t, path)
	if id == acme.ClientID {
		t.Errorf("the deleted application came back")
	}
	s2 := startRun(t, path, nil)
	if got, _ := tenantToken(t, s2.url, "acme", id, secret); got != 200 {
		t.Errorf("Management API token of acme with the new application: %d", got)
	}
	if _, err := systemToken(context.Background(), s2.url, id, secret); err == nil {
		t.Error("a tenant's new admin application is an instance administrator")
	}
}

func TestAdminResetCredentials_Refusals(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if out, err := runCmd("admin", "reset-credentials", "--data", missing); err == nil {
		t.Errorf("reset of a missing file: %s", out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("reset created a data file")
	}

	path := filepath.Join(dir, "node.db")
	startRun(t, path, bootstrapEnv).stop(t)
	if err := os.Mkdir(path+".raft", 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd("admin", "reset-credentials", "--data", path); err == nil || !strings.Contains(err.Error(), "cluster") {
		t.Errorf("reset of a cluster node's file: %v %s", err, out)
	}
	if out, err := runCmd("admin", "frobnicate"); err == nil {
		t.Errorf("admin frobnicate: %s", out)
	}
}

// TestBootstrap_ClusterLeaderWritesCredentialsFile: in cluster mode the
// leader bootstraps, and its generated credentials go to the credentials
// file beside its data file as a single server's do, never into the log.
func TestBootstrap_ClusterLeaderWritesCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := cluster.InitCerts(filepath.Join(dir, "tls"), []string{"n1"}, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "n1.db")
	raftAddr := freeAddr(t)
	s := startRun(t, path, nil, "--node-id", "n1", "--raft-addr", raftAddr, "--peers", "n1="+raftAddr,
		"--cluster-tls-dir", filepath.Join(dir, "tls"), "--advertise-url", "http://127.0.0.1:1")
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The file is made empty before the tenant, and filled after.
		if b, err := os.ReadFile(credentialsFile(path)); err == nil && strings.Contains(string(b), "IDBOLT_CLIENT_SECRET=") && strings.HasSuffix(string(b), "\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no credentials file after 20 s:\n%s", s.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	id, secret := readCredentialsFile(t, path)
	if strings.Contains(s.log.String(), secret) {
		t.Fatalf("secret in the log:\n%s", s.log)
	}
	if got, _ := tenantToken(t, s.url, "default", id, secret); got != 200 {
		t.Errorf("token with the leader's credentials: %d", got)
	}
}
