package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hookSink is a webhook receiver that refuses (503) while down and, once
// up, records the user id of each signed User.Created event it takes,
// under its event id.
type hookSink struct {
	*httptest.Server
	key  atomic.Pointer[string] // the hook's signing key
	up   atomic.Bool
	mu   sync.Mutex
	got  map[string]string // event id -> user id
	seen []string          // user ids in arrival order, repeats included
	bad  []string          // what was wrong with a request
}

func newHookSink(t *testing.T) *hookSink {
	s := &hookSink{got: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Event string `json:"event"`
			Data  struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		m := hmac.New(sha256.New, []byte(*s.key.Load()))
		m.Write(body)
		s.mu.Lock()
		defer s.mu.Unlock()
		eventID := r.Header.Get("Idbolt-Event-Id")
		switch {
		case json.Unmarshal(body, &p) != nil || p.Event != "User.Created" || p.Data.ID == "" || eventID == "":
			s.bad = append(s.bad, string(body))
		case r.Header.Get("Logto-Signature-Sha-256") != hex.EncodeToString(m.Sum(nil)):
			s.bad = append(s.bad, "bad signature: "+string(body))
		case s.got[eventID] != "" && s.got[eventID] != p.Data.ID:
			s.bad = append(s.bad, "event "+eventID+" names two users")
		default:
			s.got[eventID] = p.Data.ID
			s.seen = append(s.seen, p.Data.ID)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// wait waits (bound at most) until the sink has n distinct events.
func (s *hookSink) wait(t *testing.T, n int, bound time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(bound); ; time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		got := len(s.got)
		s.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events delivered, want %d", got, n)
		}
	}
}

// check fails t unless the sink took exactly one event id for each user
// of users and none for anyone else, and every request was well formed.
func (s *hookSink) check(t *testing.T, users map[string]bool) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bad {
		t.Errorf("receiver: %s", b)
	}
	perUser := map[string]int{}
	for _, userID := range s.got {
		perUser[userID]++
		if !users[userID] {
			t.Errorf("event for user %s, who never committed", userID)
		}
	}
	for id := range users {
		if perUser[id] != 1 {
			t.Errorf("user %s: %d distinct events, want 1", id, perUser[id])
		}
	}
}

// TestProcess_Kill9KeepsHookEvents: users are created with a hook
// subscribed, the process is killed with SIGKILL mid-stream and restarted,
// and the receiver gets one event (by event id; repeats of an id are
// allowed) for every user that committed, every acknowledged one among
// them, and none for anything else. ReceiverDown: the receiver refuses
// until the restart, so nothing was delivered before the kill.
// ReceiverUp: it takes events all along, so the kill falls between
// deliveries and the restart resumes from the stored cursor.
func TestProcess_Kill9KeepsHookEvents(t *testing.T) {
	bin := buildBinary(t)
	t.Run("ReceiverDown", func(t *testing.T) { kill9HookEvents(t, bin, false) })
	t.Run("ReceiverUp", func(t *testing.T) { kill9HookEvents(t, bin, true) })
}

func kill9HookEvents(t *testing.T, bin string, upBefore bool) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	cmd, base, _ := startProcess(t, bin, path)
	tok := token(t, base, testClientID, testSecret)
	sink := newHookSink(t)
	sink.up.Store(upBefore)
	status, body := do(t, "POST", base+"/api/hooks", tok,
		fmt.Sprintf(`{"name":"crash","events":["User.Created"],"config":{"url":%q}}`, sink.URL))
	var hook struct {
		SigningKey string `json:"signingKey"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &hook) != nil {
		t.Fatalf("create hook: %d %s", status, body)
	}
	sink.key.Store(&hook.SigningKey)

	acked := createUsersThenKill(t, cmd, base, tok, "h", 8, 500*time.Millisecond)
	sink.mu.Lock()
	before := len(sink.got)
	sink.mu.Unlock()
	if !upBefore && before != 0 {
		t.Fatalf("the receiver was down, yet took %d events", before)
	}

	_, base2, _ := startProcess(t, bin, path)
	tok2 := token(t, base2, testClientID, testSecret)
	committed := map[string]bool{}
	for page := 1; ; page++ {
		status, body := do(t, "GET", base2+"/api/users?page_size=100&page="+strconv.Itoa(page), tok2, "")
		var users []struct{ ID string }
		if status != 200 || json.Unmarshal([]byte(body), &users) != nil {
			t.Fatalf("list users: %d %s", status, body)
		}
		for _, u := range users {
			committed[u.ID] = true
		}
		if len(users) < 100 {
			break
		}
	}
	for _, id := range acked {
		if !committed[id] {
			t.Fatalf("acknowledged user %s lost", id)
		}
	}

	sink.up.Store(true)
	sink.wait(t, len(committed), 60*time.Second)
	time.Sleep(300 * time.Millisecond) // nothing more may come
	sink.check(t, committed)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	t.Logf("%d users committed (%d acknowledged) before kill -9; %d events delivered before it; %d after restart, in %d requests",
		len(committed), len(acked), before, len(sink.got), len(sink.seen))
}

// TestCluster_HooksOnlyLeaderDelivers: in a three-node cluster, with users
// created through every node, each event arrives once (were followers
// delivering too, each would arrive three times); after kill -9 of the
// leader the new one delivers the events of later writes, and every user
// has exactly one event id.
func TestCluster_HooksOnlyLeaderDelivers(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	first := c.leader(ids, 10*time.Second)
	tok := token(t, c.nodes[first].url, testClientID, testSecret)
	sink := newHookSink(t)
	sink.up.Store(true)
	status, body := do(t, "POST", c.nodes[first].url+"/api/hooks", tok,
		fmt.Sprintf(`{"name":"cluster","events":["User.Created"],"config":{"url":%q}}`, sink.URL))
	var hook struct {
		SigningKey string `json:"signingKey"`
	}
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &hook) != nil {
		t.Fatalf("create hook: %d %s", status, body)
	}
	sink.key.Store(&hook.SigningKey)

	users := map[string]bool{}
	create := func(nodes []string, n int, prefix string) {
		for i := range n {
			node := c.nodes[nodes[i%len(nodes)]]
			status, body := do(t, "POST", node.url+"/api/users", tok, fmt.Sprintf(`{"username":"%s%d"}`, prefix, i))
			var u struct{ ID string }
			if status != http.StatusOK || json.Unmarshal([]byte(body), &u) != nil {
				t.Fatalf("create on %s: %d %s", node.id, status, body)
			}
			users[u.ID] = true
		}
	}
	create(ids, 30, "c")
	sink.wait(t, 30, 30*time.Second)
	time.Sleep(500 * time.Millisecond) // repeats from other nodes would come now
	sink.mu.Lock()
	if len(sink.seen) != 30 || len(sink.got) != 30 {
		t.Errorf("%d requests for %d events, want 30 each: a follower delivers too", len(sink.seen), len(sink.got))
	}
	sink.mu.Unlock()

	c.kill(first)
	var rest []string
	for _, id := range ids {
		if id != first {
			rest = append(rest, id)
		}
	}
	c.leader(rest, 10*time.Second)
	create(rest, 20, "d")
	sink.wait(t, 50, 30*time.Second)
	time.Sleep(500 * time.Millisecond)
	sink.check(t, users)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	t.Logf("%d events in %d requests across a leader change", len(sink.got), len(sink.seen))
}
