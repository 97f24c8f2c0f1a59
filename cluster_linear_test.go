package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// registerInput is one operation on the register: a write of value, or a
// read.
type registerInput struct {
	write bool
	value string
}

// registerModel is a register: a read returns the last value written.
var registerModel = porcupine.Model{
	Init: func() any { return "init" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(registerInput)
		if in.write {
			return true, in.value
		}
		return output.(string) == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in := input.(registerInput)
		if in.write {
			return fmt.Sprintf("write(%s)", in.value)
		}
		return fmt.Sprintf("read() -> %v", output)
	},
	DescribeState: func(state any) string { return state.(string) },
}

// TestCluster_RegisterIsLinearizable has clients on every node read and
// write one user's customData while the leader is paused (SIGSTOP), twice,
// and checks with porcupine that the history is linearizable: no read
// returns a value older than a write acknowledged before it began, on any
// node, across leader changes.
func TestCluster_RegisterIsLinearizable(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	first := c.leader(ids, 10*time.Second)
	tok := token(t, c.nodes[first].url, testClientID, testSecret)
	status, body := do(t, "POST", c.nodes[first].url+"/api/users", tok, `{"username":"register","customData":{"v":"init"}}`)
	if status != 200 {
		t.Fatalf("create user: %d %s", status, body)
	}
	var user struct{ ID string }
	if err := json.Unmarshal([]byte(body), &user); err != nil {
		t.Fatal(err)
	}

	var (
		mu      sync.Mutex
		history []porcupine.Operation
		// ambiguous are writes that failed or timed out: they may have
		// happened, at any time after their call.
		ambiguous []porcupine.Operation
		failed    int
	)
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const clients = 6
	for client := range clients {
		node := c.nodes[ids[client%len(ids)]]
		wg.Go(func() {
			// Its own connections and timeouts: a client stuck on the paused
			// leader does not hold up the others.
			hc := &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Second}
			defer hc.CloseIdleConnections()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				in := registerInput{write: i%2 == 0, value: fmt.Sprintf("c%d-%d", client, i)}
				var req *http.Request
				url := node.url + "/api/users/" + user.ID + "/custom-data"
				if in.write {
					req, _ = http.NewRequest("PATCH", url, strings.NewReader(`{"customData":{"v":"`+in.value+`"}}`))
					req.Header.Set("Content-Type", "application/json")
				} else {
					in.value = ""
					req, _ = http.NewRequest("GET", url, nil)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				call := now()
				resp, err := hc.Do(req)
				var data []byte
				if err == nil {
					data, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("%d %s", resp.StatusCode, data)
					}
				}
				ret := now()
				var got struct{ V string }
				if err == nil {
					err = json.Unmarshal(data, &got)
				}
				mu.Lock()
				switch {
				case err == nil && in.write:
					history = append(history, porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret, Output: ""})
				case err == nil:
					history = append(history, porcupine.Operation{ClientId: client, Input: in, Call: call, Return: ret, Output: got.V})
				case in.write:
					failed++
					ambiguous = append(ambiguous, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: ""})
				default:
					failed++ // a failed read returned nothing: it constrains nothing
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}

	// Pause the leader for 3 s, twice: a new one is elected meanwhile, and
	// the old one comes back believing it still leads.
	for round := range 2 {
		time.Sleep(1500 * time.Millisecond)
		leader := c.leader(ids, 10*time.Second)
		p := c.nodes[leader].cmd.Process
		p.Signal(syscall.SIGSTOP)
		t.Logf("round %d: paused leader %s at %s", round, leader, time.Since(start).Round(time.Millisecond))
		time.Sleep(3 * time.Second)
		p.Signal(syscall.SIGCONT)
	}
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	end := now()
	for _, op := range ambiguous {
		op.Return = end // unknown: it may have taken effect up to the end
		history = append(history, op)
	}

	reads, writes := 0, 0
	for _, op := range history {
		if op.Input.(registerInput).write {
			writes++
		} else {
			reads++
		}
	}
	t.Logf("%d operations checked (%d reads, %d writes of which %d ambiguous); %d failed or timed out",
		len(history), reads, writes, len(ambiguous), failed)
	if reads < 50 || writes-len(ambiguous) < 50 {
		t.Fatalf("too few operations completed: %d reads, %d acknowledged writes", reads, writes-len(ambiguous))
	}
	checkStart := time.Now()
	result, info := porcupine.CheckOperationsVerbose(registerModel, history, 20*time.Second)
	t.Logf("porcupine: %s in %s", result, time.Since(checkStart).Round(time.Millisecond))
	switch result {
	case porcupine.Ok:
	case porcupine.Unknown:
		t.Fatalf("porcupine could not decide within its time budget")
	default:
		// Outside t.TempDir, which the failed test would remove.
		path := filepath.Join(os.TempDir(), fmt.Sprintf("idbolt-linearizability-%d.html", time.Now().UnixNano()))
		if err := porcupine.VisualizePath(registerModel, info, path); err != nil {
			t.Log(err)
		}
		t.Fatalf("the history is not linearizable (%s); visualization: %s", result, path)
	}
}
