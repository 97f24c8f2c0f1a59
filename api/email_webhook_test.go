package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store"
)

// testSender is the production sender with short waits.
func testSender() *webhookSender {
	ws := newWebhookSender(slog.New(slog.DiscardHandler))
	ws.backoff = []time.Duration{time.Millisecond, time.Millisecond}
	ws.timeout = 200 * time.Millisecond
	return ws
}

// scripted answers with statuses in turn (204 afterwards) and counts calls.
func scripted(t *testing.T, statuses ...int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.WriteHeader(statuses[i])
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestWebhookSender_Deliver(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		wantErr   bool
		wantCalls int32
	}{
		{"OK", nil, false, 1},
		{"200", []int{200}, false, 1},
		{"RetryAfter500", []int{500}, false, 2},
		{"Retry429And503", []int{429, 503}, false, 3},
		{"AllFail", []int{500, 500, 500, 500}, true, 3},
		{"400NotRetried", []int{400}, true, 1},
		{"404NotRetried", []int{404}, true, 1},
		{"RedirectNotFollowed", []int{302}, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := scripted(t, tt.statuses...)
			err := testSender().deliver(context.Background(), store.EmailWebhook{URL: srv.URL, SigningKey: "k"}, []byte(`{}`))
			if (err != nil) != tt.wantErr {
				t.Errorf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil && store.ErrorCode(err) != store.EBADGATEWAY {
				t.Errorf("code %q, want %q", store.ErrorCode(err), store.EBADGATEWAY)
			}
			if got := n.Load(); got != tt.wantCalls {
				t.Errorf("%d attempts, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestWebhookSender_AttemptTimeout(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang past the attempt's timeout
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	defer close(release)
	ws := testSender()
	ws.timeout = 50 * time.Millisecond
	if err := ws.deliver(context.Background(), store.EmailWebhook{URL: srv.URL}, []byte(`{}`)); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d attempts, want 2 (a timed-out attempt is retried)", got)
	}
}

func TestWebhookSender_ContextEnds(t *testing.T) {
	srv, n := scripted(t, 500, 500, 500)
	ws := testSender()
	ws.backoff = []time.Duration{time.Hour, time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ws.deliver(ctx, store.EmailWebhook{URL: srv.URL}, []byte(`{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: the backoff ignored the context", d)
	}
	if got := n.Load(); got != 1 {
		t.Errorf("%d attempts, want 1", got)
	}
}

func TestSign(t *testing.T) {
	// RFC 4231 test case 2.
	got := sign("Jefe", []byte("what do ya want for nothing?"))
	if want := "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"; got != want {
		t.Errorf("sign = %s, want %s", got, want)
	}
}
