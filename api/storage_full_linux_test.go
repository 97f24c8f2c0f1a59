package api_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// mountSmallFS mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends. It skips the test where mounting is not permitted
// (tests not run as root, or in a container without CAP_SYS_ADMIN).
func mountSmallFS(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill up (needs root or CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillFS writes path until the file system has no space left.
func fillFS(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xa5}, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	// Whatever is left is smaller than a chunk: take it byte-sized.
	for {
		if _, err := f.Write(chunk[:512]); err != nil {
			break
		}
	}
}

// gauge returns the value of the unlabelled gauge or counter name.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestStorage_DiskFull fills the file system of the data file for real and
// checks that writes then fail with 507 storage.insufficient, that reads and
// tokens go on, that readiness says not ready, with a metric and one log line
// for the episode, and that once space is freed writes and readiness come
// back, with every acknowledged write still there after a restart.
func TestStorage_DiskFull(t *testing.T) {
	dir := mountSmallFS(t, "16m")
	path := filepath.Join(dir, "idbolt.db")
	logs := &syncBuffer{}
	srv := apitest.Start(t, apitest.Options{Path: path, Sync: true, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	e := &env{Server: srv, token: srv.ManagementToken(t, "default")}
	clientID, clientSecret := srv.ClientID, srv.ClientSecret

	var acked []string
	create := func(customData map[string]any) response {
		r := call(t, "POST", e.URL+"/api/users", e.token, map[string]any{"customData": customData})
		if r.Status == http.StatusOK {
			var u user
			r.JSON(t, &u)
			acked = append(acked, u.ID)
		}
		return r
	}
	for range 5 {
		if r := create(map[string]any{"n": "before"}); r.Status != http.StatusOK {
			t.Fatalf("create before the disk is full: %d %s", r.Status, r.Body)
		}
	}
	filler := filepath.Join(dir, "filler")
	fillFS(t, filler)

	// Writes that fit in pages bbolt freed earlier may still succeed; one
	// that needs new pages cannot.
	big := map[string]any{"blob": strings.Repeat("x", 256<<10)}
	var refused response
	for range 20 {
		if refused = create(big); refused.Status != http.StatusOK {
			break
		}
	}
	wantError(t, refused, http.StatusInsufficientStorage, "storage.insufficient")
	wantError(t, create(big), http.StatusInsufficientStorage, "storage.insufficient")

	// Reads and tokens go on.
	e.do(t, "GET", "/api/users/"+acked[0], nil, http.StatusOK, nil)
	e.do(t, "GET", "/api/users", nil, http.StatusOK, nil)
	if r := e.clientCredentials(t, clientID, clientSecret, mgmtResource, "all"); r.Status != http.StatusOK {
		t.Errorf("token while the disk is full: %d %s", r.Status, r.Body)
	}
	for range 3 {
		if r := call(t, "GET", e.URL+"/api/status/ready", "", nil); r.Status != http.StatusServiceUnavailable {
			t.Errorf("ready while the disk is full: %d %s", r.Status, r.Body)
		}
	}
	if got := gauge(t, srv.Registry, "idbolt_storage_insufficient"); got != 1 {
		t.Errorf("idbolt_storage_insufficient %v while the disk is full, want 1", got)
	}
	if got := gauge(t, srv.Registry, "idbolt_storage_write_failures_total"); got < 2 {
		t.Errorf("idbolt_storage_write_failures_total %v, want >= 2", got)
	}
	const full, writable = "data file cannot grow", "data file writable again"
	if got := strings.Count(logs.String(), full); got != 1 {
		t.Errorf("%d log lines %q for one episode, want 1:\n%s", got, full, logs.String())
	}

	// Space comes back: the next write succeeds, and readiness with it.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := create(big); r.Status != http.StatusOK {
		t.Fatalf("create after space was freed: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", e.URL+"/api/status/ready", "", nil); r.Status != http.StatusNoContent {
		t.Errorf("ready after space was freed: %d %s", r.Status, r.Body)
	}
	if got := gauge(t, srv.Registry, "idbolt_storage_insufficient"); got != 0 {
		t.Errorf("idbolt_storage_insufficient %v after recovery, want 0", got)
	}
	if got := strings.Count(logs.String(), writable); got != 1 {
		t.Errorf("%d log lines %q, want 1", got, writable)
	}

	// Readiness alone also ends an episode, once the disk takes its probe.
	fillFS(t, filler)
	for range 20 {
		if r := create(big); r.Status != http.StatusOK {
			break
		}
	}
	if r := call(t, "GET", e.URL+"/api/status/ready", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("ready while the disk is full again: %d %s", r.Status, r.Body)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", e.URL+"/api/status/ready", "", nil); r.Status != http.StatusNoContent {
		t.Errorf("ready after space was freed again: %d %s", r.Status, r.Body)
	}
	if got, want := strings.Count(logs.String(), full), 2; got != want {
		t.Errorf("%d log lines %q after two episodes, want %d", got, full, want)
	}

	// bbolt rolled the failed commits back: the file's pages are whole,
	// every acknowledged write survives a restart, and no reference dangles
	// (apitest checks that when the test ends).
	srv.Close()
	if err := store.CheckFile(path); err != nil {
		t.Fatalf("after the disk was full: %v", err)
	}
	srv = apitest.Start(t, apitest.Options{Path: path})
	token := apitest.Token(t, srv.URL, "default", clientID, clientSecret, store.ManagementIndicator("default"), "all")
	for _, id := range acked {
		if r := call(t, "GET", srv.URL+"/api/users/"+id, token, nil); r.Status != http.StatusOK {
			t.Errorf("acknowledged user %s after restart: %d %s", id, r.Status, r.Body)
		}
	}
	t.Logf("%d acknowledged users survived", len(acked))
}

// TestBackup_RefusedWithoutFreeSpace leaves less free space beside the
// data file than a snapshot needs (the file's size and a margin) and checks
// that GET /system/backup answers 507 storage.insufficient without writing
// the copy, so a backup never puts every tenant into 507, and that the
// server's writes go on.
func TestBackup_RefusedWithoutFreeSpace(t *testing.T) {
	dir := mountSmallFS(t, "16m")
	srv := apitest.Start(t, apitest.Options{Path: filepath.Join(dir, "idbolt.db")})
	e := &env{Server: srv, token: srv.ManagementToken(t, "default")}
	sysToken := srv.SystemToken(t)
	filler := filepath.Join(dir, "filler")
	fillFS(t, filler)
	// Free 4 MiB: far more than the data file, far less than its margin.
	info, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filler, info.Size()-4<<20); err != nil {
		t.Fatal(err)
	}
	var before syscall.Statfs_t
	syscall.Statfs(dir, &before)
	for range 2 { // the refusal leaves no backup running
		r := call(t, "GET", e.URL+"/system/backup", sysToken, nil)
		wantError(t, r, http.StatusInsufficientStorage, "storage.insufficient")
	}
	var after syscall.Statfs_t
	syscall.Statfs(dir, &after)
	if after.Bavail < before.Bavail {
		t.Errorf("free blocks %d after the refused backups, %d before", after.Bavail, before.Bavail)
	}
	e.do(t, "POST", "/api/users", map[string]any{"username": "after_backup"}, http.StatusOK, nil)
}

// TestJWTBearer_JTIRefusedWhileDiskFull: while writes fail for lack of
// space, a used jti could not be kept across a restart, so an assertion
// accepted meanwhile could be replayed after one. An assertion that carries
// a jti is refused with 503 temporarily_unavailable (RFC 6749) until the
// disk takes writes again; one without a jti still gets its token.
func TestJWTBearer_JTIRefusedWhileDiskFull(t *testing.T) {
	dir := mountSmallFS(t, "16m")
	b := newBearerEnv(t, apitest.Options{Path: filepath.Join(dir, "idbolt.db"), Sync: true})
	fillFS(t, filepath.Join(dir, "filler"))
	big := map[string]any{"customData": map[string]any{"blob": strings.Repeat("x", 256<<10)}}
	for i := 0; !b.DB.StorageInsufficient(); i++ {
		if i == 20 {
			t.Fatal("writes never failed on a full disk")
		}
		call(t, "POST", b.URL+"/api/users", b.token, big)
	}
	withJTI := b.claims(b.client.ClientID)
	withJTI["jti"] = "while-full"
	r := b.bearer(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, withJTI), url.Values{"resource": {mgmtResource}})
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "temporarily_unavailable") {
		t.Errorf("assertion with a jti while the disk is full: %d %s, want 503 temporarily_unavailable", r.Status, r.Body)
	}
	b.bearerIssued(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, b.claims(b.client.ClientID)),
		url.Values{"resource": {mgmtResource}})
}
