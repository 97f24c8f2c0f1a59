package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHooks_UserCreates compares POST /api/users from 64 clients on a
// node whose tenant has three enabled hooks subscribed to User.Created
// (receivers on loopback) with the same load on a node without hooks, both
// the production binary with fsync, rounds alternated in one run. The goal
// is at least 90 %.
//
// Delivering: the receivers answer 204, so the deliveries (three HTTP
// requests, three audit entries per create) share the 2 cores with the
// creates. After each round with hooks the benchmark waits, untimed, until
// every receiver has every event of the round, so that no round carries
// the deliveries of another; it logs that wait.
//
// Waiting: the receivers answer 503, so each hook's worker waits to retry
// its first event and the round measures the write path alone: the outbox
// append in the create's transaction.
//
//	go test . -run '^$' -bench Hooks_UserCreates -benchtime 1x -v
func BenchmarkHooks_UserCreates(b *testing.B) {
	b.Run("Delivering", func(b *testing.B) { benchHookedCreates(b, http.StatusNoContent) })
	b.Run("Waiting", func(b *testing.B) { benchHookedCreates(b, http.StatusServiceUnavailable) })
}

// benchHookedCreates runs BenchmarkHooks_UserCreates with receivers that
// answer status.
func benchHookedCreates(b *testing.B, status int) {
	bin := buildBinary(b)
	plain, hooked := benchSingle(b, bin), benchSingle(b, bin)
	tokens := map[string]string{plain: token(b, plain, testClientID, testSecret), hooked: token(b, hooked, testClientID, testSecret)}
	var delivered atomic.Int64
	for i := range 3 {
		rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			delivered.Add(1)
			w.WriteHeader(status)
		}))
		b.Cleanup(rc.Close)
		got, body := do(b, "POST", hooked+"/api/hooks", tokens[hooked],
			fmt.Sprintf(`{"name":"bench%d","events":["User.Created"],"config":{"url":%q}}`, i, rc.URL))
		if got != http.StatusCreated {
			b.Fatalf("create hook: %d %s", got, body)
		}
	}
	var created atomic.Int64 // on the node with hooks
	var run atomic.Int64
	send := func(client *http.Client, base string, w, i int) (bool, string) {
		name := fmt.Sprintf("b%d_%d_%d", run.Load(), w, i)
		req, _ := http.NewRequest("POST", base+"/api/users", strings.NewReader(`{"username":"`+name+`"}`))
		req.Header.Set("Authorization", "Bearer "+tokens[base])
		req.Header.Set("Content-Type", "application/json")
		ok, detail := benchSend(client, req)
		if ok && base == hooked {
			created.Add(1)
		}
		return ok, detail
	}
	var totals [2]float64 // plain, hooked
	var ratios []float64
	b.ResetTimer()
	for range b.N {
		for round := range benchRounds {
			run.Add(1)
			order := []int{0, 1}
			if round%2 == 1 {
				order = []int{1, 0}
			}
			var rates [2]float64
			for _, k := range order {
				base := []string{plain, hooked}[k]
				rate, failed := benchLoad(b, []string{base}, 64, benchDuration, send)
				if failed > 0 {
					b.Errorf("round %d, %s: %d requests failed", round, []string{"plain", "hooked"}[k], failed)
				}
				if rate == 0 {
					b.Fatalf("round %d: nothing served", round)
				}
				rates[k] = rate
				totals[k] += rate
				if k == 1 && status/100 == 2 {
					b.StopTimer()
					start, deadline := time.Now(), time.Now().Add(2*time.Minute)
					for delivered.Load() < 3*created.Load() {
						if time.Now().After(deadline) {
							b.Fatalf("round %d: %d of %d deliveries after 2 min", round, delivered.Load(), 3*created.Load())
						}
						time.Sleep(10 * time.Millisecond)
					}
					b.Logf("round %d: the receivers had every event %s after the round", round, time.Since(start).Round(time.Millisecond))
					b.StartTimer()
				}
			}
			b.Logf("round %d: %8.1f creates/s without hooks, %8.1f with three", round, rates[0], rates[1])
			ratios = append(ratios, 100*rates[1]/rates[0])
		}
	}
	n := float64(b.N * benchRounds)
	b.ReportMetric(totals[0]/n, "plain-creates/s")
	b.ReportMetric(totals[1]/n, "hooked-creates/s")
	b.ReportMetric(median(ratios), "hooked-%")
}
