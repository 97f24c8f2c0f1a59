package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/idbolt/idbolt/store"
)

const (
	testClientID = "e2e-admin"
	testSecret   = "e2e-secret-0123456789abcdef0123456789"
)

// logBuffer collects stderr and reports the listening address once seen.
type logBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
}

var addrRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

func newLogBuffer() *logBuffer { return &logBuffer{addr: make(chan string, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if m := addrRE.FindSubmatch(p); m != nil {
		select {
		case l.addr <- string(m[1]):
		default:
		}
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// runServer runs the server in-process until the test stops it.
type runServer struct {
	url    string
	log    *logBuffer
	cancel context.CancelFunc
	done   chan error
}

func startRun(t *testing.T, path string, env map[string]string, extraArgs ...string) *runServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &runServer{log: newLogBuffer(), cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string { return env[k] }
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", path, "--base-url", "http://idbolt.test"}, extraArgs...)
	go func() {
		s.done <- run(ctx, args, getenv, io.Discard, s.log)
	}()
	select {
	case addr := <-s.log.addr:
		s.url = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("server exited: %v\n%s", err, s.log)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("server did not start:\n%s", s.log)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the context, as SIGTERM does, and checks a clean exit.
func (s *runServer) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("server did not stop")
	}
}

func token(t testing.TB, base, id, secret string) string {
	t.Helper()
	return tokenVia(t, http.DefaultClient, base, id, secret)
}

// tokenVia is token through client (e.g. one that trusts a test CA).
func tokenVia(t testing.TB, client *http.Client, base, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}
	req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(body, &tr) != nil {
		t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return tr.AccessToken
}

func do(t testing.TB, method, url, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

var bootstrapEnv = map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret}

func TestRun_RestartKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)
	tok := token(t, s.url, testClientID, testSecret)
	status, body := do(t, "POST", s.url+"/api/users", tok, `{"username":"persisted"}`)
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	var u struct{ ID string }
	json.Unmarshal([]byte(body), &u)
	s.stop(t)
	if !strings.Contains(s.log.String(), "msg=stopped") {
		t.Errorf("no clean stop in log:\n%s", s.log)
	}

	// Later starts ignore the bootstrap variables.
	s2 := startRun(t, path, map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": "other", "IDBOLT_BOOTSTRAP_CLIENT_SECRET": strings.Repeat("z", 40)})
	tok2 := token(t, s2.url, testClientID, testSecret) // keys survived, old credentials work
	if status, body := do(t, "GET", s2.url+"/api/users/"+u.ID, tok2, ""); status != 200 || !strings.Contains(body, "persisted") {
		t.Fatalf("after restart: %d %s", status, body)
	}
	if status, _ := do(t, "GET", s2.url+"/api/users/"+u.ID, tok, ""); status != 200 {
		t.Errorf("token from before the restart: %d", status)
	}
}

// TestRun_GeneratedCredentialsWrittenOnce: stderr is no terminal here, so
// the generated credentials go to DATA.credentials (0600), never into the
// log, which names only the file; a later start writes nothing.
func TestRun_GeneratedCredentialsWrittenOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, nil)
	id, secret := readCredentialsFile(t, path)
	if strings.Contains(s.log.String(), secret) || strings.Contains(s.log.String(), "client secret") {
		t.Fatalf("secret in the log:\n%s", s.log)
	}
	if !strings.Contains(s.log.String(), "credentials_file="+credentialsFile(path)) {
		t.Errorf("log does not name the credentials file:\n%s", s.log)
	}
	token(t, s.url, id, secret)
	s.stop(t)
	if err := os.Remove(credentialsFile(path)); err != nil {
		t.Fatal(err)
	}
	s2 := startRun(t, path, nil)
	if strings.Contains(s2.log.String(), secret) || strings.Contains(s2.log.String(), "credentials") {
		t.Fatalf("credentials written again:\n%s", s2.log)
	}
	if _, err := os.Stat(credentialsFile(path)); err == nil {
		t.Error("a second start wrote a credentials file")
	}
}

func TestRun_DataFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	startRun(t, path, bootstrapEnv)
	start := time.Now()
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", path}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "data file is in use by another process") {
		t.Fatalf("second server on the same file: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to fail", d)
	}
}

func TestRun_BadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--signing-alg", "HS256"},
		{"serve", "--nope"},
		{"serve", "extra"},
		{"frobnicate"},
	} {
		if err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "idbolt ") {
		t.Errorf("version: %q %v", out.String(), err)
	}
}

// buildBinary compiles idbolt once for the process tests.
func buildBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "idbolt")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startProcess starts the binary and returns its base URL.
func startProcess(t testing.TB, bin, path string, extraArgs ...string) (*exec.Cmd, string, *logBuffer) {
	t.Helper()
	log := newLogBuffer()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", path, "--base-url", "http://idbolt.test"}, extraArgs...)...)
	cmd.Env = append(os.Environ(), "IDBOLT_BOOTSTRAP_CLIENT_ID="+testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET="+testSecret,
		"IDBOLT_RATE_LIMIT=off")
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	select {
	case addr := <-log.addr:
		return cmd, "http://" + addr, log
	case <-time.After(15 * time.Second):
		t.Fatalf("process did not start:\n%s", log)
	}
	return nil, "", nil
}

// createUsersThenKill creates users (usernames prefix<worker>_<n>) from
// workers goroutines, kills the process with SIGKILL after run, and returns
// the ids of the creates it acknowledged (200 with an id) before it died.
func createUsersThenKill(t *testing.T, cmd *exec.Cmd, base, tok, prefix string, workers int, run time.Duration) []string {
	t.Helper()
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", base+"/api/users", strings.NewReader(fmt.Sprintf(`{"username":"%s%d_%d"}`, prefix, w, i)))
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := client.Do(req)
				if err != nil {
					return // the server died mid-request: not acknowledged
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var u struct{ ID string }
				if resp.StatusCode == 200 && json.Unmarshal(body, &u) == nil && u.ID != "" {
					mu.Lock()
					acked = append(acked, u.ID)
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(run)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) < 10 {
		t.Fatalf("only %d creates acknowledged before the kill", len(acked))
	}
	return acked
}

func TestProcess_Kill9KeepsAcknowledgedWrites(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "idbolt.db")
	cmd, base, _ := startProcess(t, bin, path)
	tok := token(t, base, testClientID, testSecret)
	acked := createUsersThenKill(t, cmd, base, tok, "k", 16, 700*time.Millisecond)

	_, base2, _ := startProcess(t, bin, path)
	tok2 := token(t, base2, testClientID, testSecret)
	missing := 0
	for _, id := range acked {
		switch status, body := do(t, "GET", base2+"/api/users/"+id, tok2, ""); status {
		case 200:
		case 404:
			missing++
		default:
			t.Fatalf("GET %s after restart: %d %s", id, status, body)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged users lost after kill -9", missing, len(acked))
	}
	t.Logf("%d acknowledged users all present after kill -9", len(acked))
}

func TestProcess_SIGTERMExitsCleanly(t *testing.T) {
	bin := buildBinary(t)
	path := filepath.Join(t.TempDir(), "idbolt.db")
	cmd, base, log := startProcess(t, bin, path)
	tok := token(t, base, testClientID, testSecret)
	if status, _ := do(t, "GET", base+"/api/users", tok, ""); status != 200 {
		t.Fatalf("list: %d", status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, log)
	}
	sc := bufio.NewScanner(strings.NewReader(log.String()))
	stopped := false
	for sc.Scan() {
		stopped = stopped || strings.Contains(sc.Text(), "msg=stopped")
	}
	if !stopped {
		t.Errorf("no clean stop logged:\n%s", log)
	}
}

func TestRun_BackupRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idbolt.db")
	s := startRun(t, path, map[string]string{"IDBOLT_BOOTSTRAP_CLIENT_ID": testClientID,
		"IDBOLT_BOOTSTRAP_CLIENT_SECRET": testSecret})
	tok := token(t, s.url, testClientID, testSecret)
	var ids []string
	for i := range 40 {
		status, body := do(t, "POST", s.url+"/api/users", tok, fmt.Sprintf(`{"username":"b%d"}`, i))
		if status != 200 {
			t.Fatalf("create: %d %s", status, body)
		}
		var u struct{ ID string }
		json.Unmarshal([]byte(body), &u)
		ids = append(ids, u.ID)
	}
	if status, _ := do(t, "GET", s.url+"/api/status/ready", "", ""); status != 204 {
		t.Fatalf("ready: %d", status)
	}

	// Writes continue while the backup runs.
	stopWrites := make(chan struct{})
	writesDone := make(chan struct{})
	go func() {
		defer close(writesDone)
		for i := 0; ; i++ {
			select {
			case <-stopWrites:
				return
			default:
				do(t, "POST", s.url+"/api/users", tok, fmt.Sprintf(`{"username":"during%d"}`, i))
			}
		}
	}()
	out := filepath.Join(dir, "backup.db")
	env := map[string]string{"IDBOLT_CLIENT_ID": testClientID, "IDBOLT_CLIENT_SECRET": testSecret}
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"backup", "--url", s.url, "--out", out}, func(k string) string { return env[k] }, &stdout, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	close(stopWrites)
	<-writesDone
	if !strings.Contains(stdout.String(), "backup of") {
		t.Errorf("backup output %q", stdout.String())
	}

	// Restoring over a running server's file is refused.
	if err := run(context.Background(), []string{"restore", "--in", out, "--data", path}, func(string) string { return "" }, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "in use") {
		t.Errorf("restore over a running server: %v", err)
	}
	// A file that is not a backup is refused and changes nothing.
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte("not a database"), 0o600)
	restored := filepath.Join(dir, "restored.db")
	if err := run(context.Background(), []string{"restore", "--in", junk, "--data", restored}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("restored a junk file")
	}
	if _, err := os.Stat(restored); err == nil {
		t.Error("a failed restore left a data file")
	}
	// Backups need the system role: a tenant admin's credentials do not work.
	bad := map[string]string{"IDBOLT_CLIENT_ID": testClientID, "IDBOLT_CLIENT_SECRET": "wrong-secret"}
	if err := run(context.Background(), []string{"backup", "--url", s.url, "--out", filepath.Join(dir, "x.db")}, func(k string) string { return bad[k] }, io.Discard, io.Discard); err == nil {
		t.Error("backup with a wrong secret succeeded")
	}

	if err := run(context.Background(), []string{"restore", "--in", out, "--data", restored}, func(string) string { return "" }, io.Discard, io.Discard); err != nil {
		t.Fatalf("restore: %v", err)
	}
	// The backup holds no master key: without the server's key file it does
	// not start, with it it does.
	if err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", restored}, func(string) string { return "" }, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "master key") || !strings.Contains(err.Error(), "restored.db.key does not exist") {
		t.Errorf("start on a backup without its master key: %v", err)
	}
	s2 := startRun(t, restored, map[string]string{"IDBOLT_MASTER_KEY_FILE": store.DefaultMasterKeyFile(path)})
	tok2 := token(t, s2.url, testClientID, testSecret)
	for _, id := range ids {
		if status, body := do(t, "GET", s2.url+"/api/users/"+id, tok2, ""); status != 200 {
			t.Fatalf("user %s missing from the restored file: %d %s", id, status, body)
		}
	}
}

func TestRun_MetricsAddrAndJSONLogs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	log := newLogBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-format", "json", "--data", path},
			func(k string) string { return bootstrapEnv[k] }, io.Discard, log)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	re := regexp.MustCompile(`"msg":"metrics listening","addr":"([^"]+)"`)
	mainRE := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	var metricsAddr, mainAddr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && (metricsAddr == "" || mainAddr == ""); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(log.String()); m != nil {
			metricsAddr = m[1]
		}
		if m := mainRE.FindStringSubmatch(log.String()); m != nil {
			mainAddr = m[1]
		}
	}
	if metricsAddr == "" || mainAddr == "" {
		t.Fatalf("listeners not logged as JSON:\n%s", log)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "idbolt_tenants 1") || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("metrics listener: %d\n%.500s", resp.StatusCode, body)
	}
	if resp, err := http.Get("http://" + mainAddr + "/metrics"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/metrics still on the main listener: %v %v", resp.StatusCode, err)
	}
}

// TestRun_MasterKeyGeneratedOnce: with nothing configured, the first start
// makes a master key beside the data file, mode 0600, and says so once.
func TestRun_MasterKeyGeneratedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	s := startRun(t, path, bootstrapEnv)
	s.stop(t)
	keyFile := path + ".key"
	if n := strings.Count(s.log.String(), "generated a new master key"); n != 1 || !strings.Contains(s.log.String(), keyFile) {
		t.Errorf("first start said %d times that it made %s:\n%s", n, keyFile, s.log)
	}
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	s2 := startRun(t, path, nil)
	token(t, s2.url, testClientID, testSecret)
	s2.stop(t)
	if strings.Contains(s2.log.String(), "master key") {
		t.Errorf("second start talked about the master key:\n%s", s2.log)
	}
}

// sealedValues returns the meta value holding the sealed secret-hash key
// and the stored signing key records of tenant default, as bytes that can
// be looked for in the raw file.
func sealedValues(t *testing.T, path string) [][]byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o400, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out [][]byte
	db.View(func(tx *bbolt.Tx) error {
		out = append(out, bytes.Clone(tx.Bucket([]byte("meta")).Get([]byte("sealed_secret_hash_key"))))
		keys := tx.Bucket([]byte("tenants")).Bucket([]byte("default")).Bucket([]byte("signing_keys"))
		return keys.ForEach(func(_, v []byte) error { out = append(out, bytes.Clone(v)); return nil })
	})
	if len(out) < 2 || len(out[0]) == 0 {
		t.Fatalf("no sealed values in %s", path)
	}
	return out
}

// TestRun_RotateMasterKey re-encrypts a stopped server's file under a new
// key: the old key no longer opens it, the new one does, tokens and secrets
// from before still work, and no value sealed under the old key is left in
// the file.
func TestRun_RotateMasterKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "idbolt.db")
	newKey := filepath.Join(dir, "new.key")
	noEnv := func(string) string { return "" }
	rotate := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"rotate-master-key", "--data", path}, args...), noEnv, &out, io.Discard)
		return out.String(), err
	}
	s := startRun(t, path, bootstrapEnv)
	tok := token(t, s.url, testClientID, testSecret)
	status, body := do(t, "POST", s.url+"/api/users", tok, `{"username":"before_rotation"}`)
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	var u struct{ ID string }
	json.Unmarshal([]byte(body), &u)
	if _, err := rotate("--new-master-key-file", newKey); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("rotation while the server runs: %v", err)
	}
	s.stop(t)
	if _, err := os.Stat(newKey); err != nil {
		t.Fatalf("the refused rotation should have left its new key for a retry: %v", err)
	}
	old := sealedValues(t, path)

	for _, bad := range [][]string{{}, {"--new-master-key-file", path + ".key"}, {"--new-master-key-file", newKey, "--master-key-file", newKey}} {
		if _, err := rotate(bad...); err == nil {
			t.Errorf("rotate-master-key %v succeeded", bad)
		}
	}
	out, err := rotate("--new-master-key-file", newKey)
	if err != nil || !strings.Contains(out, newKey) {
		t.Fatalf("rotate: %v %q", err, out)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range old {
		if bytes.Contains(raw, v) {
			t.Errorf("sealed value %d under the old key is still in the file", i)
		}
	}
	// The old key is now the wrong one, for the server and for another rotation.
	if err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", path}, noEnv, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "is not the key") {
		t.Errorf("start with the old key: %v", err)
	}
	if _, err := rotate("--new-master-key-file", filepath.Join(dir, "third.key")); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Errorf("rotate from the old key again: %v", err)
	}

	s2 := startRun(t, path, map[string]string{"IDBOLT_MASTER_KEY_FILE": newKey})
	if status, _ := do(t, "GET", s2.url+"/api/users/"+u.ID, tok, ""); status != 200 {
		t.Errorf("token from before the rotation: %d", status)
	}
	tok2 := token(t, s2.url, testClientID, testSecret)
	if status, _ := do(t, "GET", s2.url+"/api/users/"+u.ID, tok2, ""); status != 200 {
		t.Errorf("token after the rotation: %d", status)
	}
}

// A truncated data file or backup makes serve and restore exit with an
// error naming the file, where bbolt used to crash the process with SIGSEGV
// or SIGBUS; restore leaves its target as it was.
func TestProcess_TruncatedFilesFailCleanly(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	ctx := context.Background()

	// A data file of about 5 MB, backed up so that it is exactly as long as
	// its pages: every shorter file is truncated.
	fixture, err := os.ReadFile(filepath.Join("testdata", "upgrade", "main-0959aa9.db"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src.db")
	os.WriteFile(src, fixture, 0o600)
	db, err := store.Open(ctx, src, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	blob := strings.Repeat("x", 8<<10)
	for i := range 600 {
		name := fmt.Sprintf("big%d", i)
		if _, err := db.CreateUser(ctx, store.DefaultTenant, store.UserCreate{Username: &name, CustomData: map[string]any{"blob": blob}}); err != nil {
			t.Fatal(err)
		}
	}
	var full bytes.Buffer
	if _, err := db.Backup(ctx, &full); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if full.Len() <= 4_000_000 {
		t.Fatalf("the data file has only %d bytes", full.Len())
	}
	target := filepath.Join(dir, "target.db")
	os.WriteFile(target, full.Bytes(), 0o600)

	runBinary := func(args ...string) (string, int) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(cctx, bin, args...).CombinedOutput()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("idbolt %v: %v", args, err)
		}
		return string(out), code
	}
	for _, size := range []int{8192, 12288, 16384, 4_000_000} {
		truncated := filepath.Join(dir, fmt.Sprintf("truncated-%d.db", size))
		os.WriteFile(truncated, full.Bytes()[:size], 0o600)
		for _, args := range [][]string{
			{"serve", "--addr", "127.0.0.1:0", "--data", truncated},
			{"restore", "--in", truncated, "--data", target},
		} {
			out, code := runBinary(args...)
			if code != 1 || !strings.Contains(out, truncated+" is truncated") ||
				strings.Contains(out, "SIG") || strings.Contains(out, "panic") || strings.Contains(out, "fatal error") {
				t.Errorf("idbolt %s on %d bytes: exit %d, want 1 and an error naming the file:\n%.2000s", args[0], size, code, out)
			}
		}
		if got, _ := os.ReadFile(target); !bytes.Equal(got, full.Bytes()) {
			t.Errorf("a failed restore of %d bytes changed its target", size)
		}
	}
}
