package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestBodyTimeout_LongHandlerNotCut checks that the body deadline ends with
// the body: a handler that reads its body in time and then works longer
// than the deadline keeps its context and answers, and so does a second
// request on the same connection.
func TestBodyTimeout_LongHandlerNotCut(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: waits out real timeouts")
	}
	s := &Server{now: time.Now, logger: slog.New(slog.DiscardHandler), reqLog: slog.New(slog.DiscardHandler), metrics: newMetrics(prometheus.NewRegistry())}
	ts := httptest.NewServer(LimitBodies(s.observe("/slow", func(w http.ResponseWriter, r *http.Request, _ *requestInfo) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case <-r.Context().Done():
			http.Error(w, "context cancelled", http.StatusInternalServerError)
		case <-time.After(time.Second):
			io.WriteString(w, string(body))
		}
	}), 300*time.Millisecond))
	defer ts.Close()
	client := ts.Client()
	for i := range 2 {
		resp, err := client.Post(ts.URL, "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != "hello" {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, got)
		}
	}
}
