package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// smallSendBuffers gives every accepted connection a small kernel send
// buffer, so a backup download stalls the server's writes after a few
// hundred KiB instead of the several MiB loopback buffers hold, and the test
// needs only a small data file.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// serveWithSmallSendBuffers serves h on a loopback listener of its own whose
// connections have small send buffers, and returns its base URL.
func serveWithSmallSendBuffers(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

// timedRequest sends one request with its own timeout and returns the status
// and how long the answer took.
func timedRequest(client *http.Client, method, url, token, contentType string, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, time.Since(start), err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, time.Since(start), err
}

// A client that reads the start of a backup and then stops reading must not
// hold anything the other requests need: while it stalls and 16 writers grow
// the file, every other request of the server answers within 1 s, and the
// stalled download is cut once it made no progress for the stall timeout.
func TestBackup_StalledDownloadBlocksNoOne(t *testing.T) {
	skipIfShort(t)
	const stallTimeout = 2 * time.Second
	dir := t.TempDir()
	e := newEnv(t, apitest.Options{Path: filepath.Join(dir, "idbolt.db"), BackupStallTimeout: stallTimeout})
	srv := e.Server
	sysToken := srv.SystemToken(t)

	// A data file of a few MiB, so the download cannot fit in socket buffers.
	blob := strings.Repeat("x", 16<<10)
	var someUser user
	for i := range 100 {
		someUser = e.createUser(t, map[string]any{"username": fmt.Sprintf("pre%d", i), "customData": map[string]any{"blob": blob}})
	}

	backupURL := serveWithSmallSendBuffers(t, srv.Handler)

	// The request is cancelled 30 s after the stall ends, so a download
	// that is never cut fails the test instead of hanging it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", backupURL+"/system/backup", nil)
	req.Header.Set("Authorization", "Bearer "+sysToken)
	stalling := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := stalling.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // on failure, this ends the stall
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("backup: %d", resp.StatusCode)
	}
	head := make([]byte, 64<<10)
	if _, err := io.ReadFull(resp.Body, head); err != nil {
		t.Fatalf("read the first 64 KiB: %v", err)
	}
	stalledAt := time.Now() // from here on the body is not read

	// A snapshot takes as much disk as the data file, so a second backup
	// waits for the first to end.
	if r := call(t, "GET", srv.URL+"/system/backup", sysToken, nil); r.Status != http.StatusTooManyRequests ||
		r.Code() != "request.too_many_requests" || r.Header.Get("Retry-After") == "" {
		t.Errorf("a second backup during the first: %d (Retry-After %q) %.200s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}

	// 16 writers grow the file by about 4 MiB, past at least one doubling
	// of its memory map.
	client := &http.Client{Timeout: 5 * time.Second}
	var created, writeFailures atomic.Int64
	var firstWriteErr atomic.Value
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for w := range 16 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := 0; created.Load() < 256; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body, _ := json.Marshal(map[string]any{"username": fmt.Sprintf("w%dx%d", w, i), "customData": map[string]any{"blob": blob}})
				status, _, err := timedRequest(client, "POST", srv.URL+"/api/users", e.token, "application/json", body)
				if err != nil || status != http.StatusOK {
					writeFailures.Add(1)
					firstWriteErr.CompareAndSwap(nil, fmt.Sprintf("status %d, err %v", status, err))
					return
				}
				created.Add(1)
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { writers.Wait(); close(writersDone) }()
	defer func() { close(stop); <-writersDone }()

	// Meanwhile a status check, a token and a read each answer within 1 s,
	// until the writers are done and the stall timeout has long passed.
	tokenForm := []byte(url.Values{"grant_type": {"client_credentials"}, "client_id": {srv.ClientID},
		"client_secret": {srv.ClientSecret}, "resource": {store.ManagementIndicator("default")}, "scope": {"all"}}.Encode())
	probes := []struct {
		name, method, path, token, contentType string
		body                                   []byte
	}{
		{"status", "GET", "/api/status", "", "", nil},
		{"token", "POST", "/oidc/token", "", "application/x-www-form-urlencoded", tokenForm},
		{"read", "GET", "/api/users/" + someUser.ID, e.token, "", nil},
	}
	rounds, slowest := 0, make([]time.Duration, len(probes))
	writing := true
probing:
	for writing || time.Since(stalledAt) < 3*stallTimeout {
		select {
		case <-writersDone:
			writing = false
		default:
		}
		for i, p := range probes {
			status, took, err := timedRequest(client, p.method, srv.URL+p.path, p.token, p.contentType, p.body)
			slowest[i] = max(slowest[i], took)
			if err != nil || status >= 300 || took > time.Second {
				t.Errorf("%s during a stalled backup (round %d, %d users written): status %d after %v, err %v",
					p.name, rounds, created.Load(), status, took, err)
				break probing
			}
		}
		rounds++
		time.Sleep(50 * time.Millisecond)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d probe rounds while %d users were written; slowest status, token, read: %v", rounds, created.Load(), slowest)
	if n := writeFailures.Load(); n > 0 {
		t.Errorf("%d writes failed during the stalled backup, first: %v", n, firstWriteErr.Load())
	}

	// The download, stalled for three times the timeout, has been cut: the
	// rest arrives short of its Content-Length.
	giveUp := time.AfterFunc(30*time.Second, cancel)
	rest, err := io.Copy(io.Discard, resp.Body)
	if !giveUp.Stop() {
		t.Errorf("the stalled download was not cut: reading its rest took 30 s")
	} else if err == nil {
		t.Errorf("the stalled download was not cut: it delivered all %d bytes", int64(len(head))+rest)
	} else if total := int64(len(head)) + rest; resp.ContentLength <= 0 || total >= resp.ContentLength {
		t.Errorf("cut download: %d of %d bytes, err %v", total, resp.ContentLength, err)
	}
	// Its temporary snapshot is gone, and the next backup is whole and sound.
	if left, _ := filepath.Glob(filepath.Join(dir, ".idbolt-backup-*")); len(left) > 0 {
		t.Errorf("temporary backup files left behind: %v", left)
	}
	var next response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// The cut handler may still be closing its snapshot.
		if next = call(t, "GET", srv.URL+"/system/backup", sysToken, nil); next.Status != http.StatusTooManyRequests || time.Now().After(deadline) {
			break
		}
	}
	if next.Status != http.StatusOK || next.Header.Get("Content-Length") != fmt.Sprint(len(next.Body)) {
		t.Fatalf("backup after the cut: %d, %d bytes, Content-Length %s", next.Status, len(next.Body), next.Header.Get("Content-Length"))
	}
	copyPath := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(copyPath, next.Body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckFile(copyPath); err != nil {
		t.Errorf("backup after the cut: %v", err)
	}
}

// A download that keeps taking data is not cut, however long it takes in
// all: the stall timeout counts from the last progress, not from the start.
func TestBackup_SlowDownloadIsNotCut(t *testing.T) {
	skipIfShort(t)
	const stallTimeout = 1500 * time.Millisecond
	e := newEnv(t, apitest.Options{BackupStallTimeout: stallTimeout})
	blob := strings.Repeat("x", 16<<10)
	for i := range 20 {
		e.createUser(t, map[string]any{"username": fmt.Sprintf("slow%d", i), "customData": map[string]any{"blob": blob}})
	}
	backupURL := serveWithSmallSendBuffers(t, e.Handler)

	// A small receive buffer, so the server cannot hand the whole file to
	// the kernel at once and must keep writing while the client reads.
	dialer := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(64 << 10)
			}
			return c, err
		}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", backupURL+"/system/backup", nil)
	req.Header.Set("Authorization", "Bearer "+e.SystemToken(t))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	var got bytes.Buffer
	// 16 KiB every 100 ms: about 30 pieces, so the download takes over
	// 3 s, and the server keeps writing for longer than the stall timeout.
	piece := make([]byte, 16<<10)
	for {
		n, err := io.ReadFull(resp.Body, piece)
		got.Write(piece[:n])
		if err == io.EOF || err == io.ErrUnexpectedEOF && int64(got.Len()) == resp.ContentLength {
			break
		} else if err != nil {
			t.Fatalf("slow download cut after %v and %d of %d bytes: %v", time.Since(start), got.Len(), resp.ContentLength, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(start)
	if int64(got.Len()) != resp.ContentLength {
		t.Fatalf("downloaded %d of %d bytes", got.Len(), resp.ContentLength)
	}
	if took < 3*stallTimeout/2 {
		t.Fatalf("the download took only %v, not long enough to show it is not cut", took)
	}
	t.Logf("%d bytes in %v", got.Len(), took)
	path := filepath.Join(t.TempDir(), "backup.db")
	os.WriteFile(path, got.Bytes(), 0o600)
	if err := store.CheckFile(path); err != nil {
		t.Error(err)
	}
}
