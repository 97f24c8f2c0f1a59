package api_test

import (
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// costlyBcryptUser creates, in tenant default, a user whose imported digest
// is bcrypt at cost 10: each verification takes a core for some 60 ms idle,
// several times our own Argon2id hash, and more on a busy machine.
func costlyBcryptUser(t testing.TB, e *env) user {
	t.Helper()
	digest, err := bcrypt.GenerateFromPassword([]byte("the-right-one"), 10)
	if err != nil {
		t.Fatal(err)
	}
	return e.createUser(t, map[string]any{"passwordDigest": string(digest), "passwordAlgorithm": "Bcrypt"})
}

// saturateVerifies makes workers concurrent wrong-password verifications of
// u in tenant default until stop is closed (a wrong password keeps the bcrypt
// digest, where a right one would replace it by a cheap Argon2id hash). It
// counts the answers by status; a refused worker waits as Retry-After says,
// as a well-behaved client would (a spinning one meets the rate limit).
func saturateVerifies(t testing.TB, e *env, u user, workers int, stop <-chan struct{}) (wait func() map[int]int) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := call(t, "POST", e.URL+"/api/users/"+u.ID+"/password/verify", e.token, map[string]any{"password": "wrong"})
				mu.Lock()
				statuses[r.Status]++
				mu.Unlock()
				if r.Status == http.StatusTooManyRequests {
					s, _ := strconv.Atoi(r.Header.Get("Retry-After"))
					select {
					case <-stop:
					case <-time.After(time.Duration(max(1, s)) * time.Second):
					}
				}
			}
		})
	}
	return func() map[int]int {
		wg.Wait()
		return statuses
	}
}

// TestUsers_PasswordHashingFairAcrossTenants checks that one tenant keeping
// every password hasher busy, up to its queue's bound and past it (429),
// does not shut another out: tenant acme's user creates with a password all
// succeed meanwhile, since each tenant has a queue of its own. How long
// they wait is measured by BenchmarkUsers_PasswordHashingFairness (timings
// are not pass/fail), and the turn order is checked deterministically by
// store's TestPasswordHasher_TenantsTakeTurns.
func TestUsers_PasswordHashingFairAcrossTenants(t *testing.T) {
	skipIfShort(t)
	idle, loaded, statuses := passwordFairnessRounds(t, 2)
	t.Logf("acme create worst: idle %v, while default saturates %v; default's answers %v", idle, loaded, statuses)
	if statuses[http.StatusUnprocessableEntity] == 0 || statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("default's verifications did not fill its queue past the bound: %v, want some 422 and some 429", statuses)
	}
}

// BenchmarkUsers_PasswordHashingFairness measures what tenant default
// keeping every password hasher busy costs tenant acme: the worst latency
// of acme's user creates with a password, idle and while default saturates
// costly verifications, interleaved round by round so that the machine's
// own load weighs on both alike. Without per-tenant turns acme's creates
// would queue behind all of default's, seconds each. Run it once:
//
//	go test ./api -run '^$' -bench Users_PasswordHashingFairness -benchtime 1x
func BenchmarkUsers_PasswordHashingFairness(b *testing.B) {
	for range b.N {
		idle, loaded, _ := passwordFairnessRounds(b, 4)
		b.ReportMetric(float64(idle.Milliseconds()), "idle-worst-ms")
		b.ReportMetric(float64(loaded.Milliseconds()), "loaded-worst-ms")
		b.ReportMetric(float64(loaded)/float64(idle), "loaded/idle")
	}
}

// passwordFairnessRounds runs rounds of: two of acme's user creates with a
// password, then two more while tenant default saturates costly
// verifications. It fails tb if one of acme's creates does not succeed, and
// returns the slowest create of each kind and default's answers by status.
func passwordFairnessRounds(tb testing.TB, rounds int) (idle, loaded time.Duration, statuses map[int]int) {
	e := newEnv(tb)
	victim := costlyBcryptUser(tb, e)
	acme := createTenant(tb, e, "acme")
	acmeToken := apitest.Token(tb, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	n := 0
	createInAcme := func() time.Duration {
		n++
		start := time.Now()
		r := call(tb, "POST", e.URL+apitest.TenantPrefix("acme")+"/api/users", acmeToken,
			map[string]any{"username": "u" + strconv.Itoa(n), "password": "Str0ng-Passw0rd!"})
		if r.Status != http.StatusOK {
			tb.Fatalf("create in acme: %d %s", r.Status, r.Body)
		}
		return time.Since(start)
	}
	createInAcme() // warm up
	const perRound = 2
	statuses = map[int]int{}
	for range rounds {
		for range perRound {
			idle = max(idle, createInAcme())
		}
		stop := make(chan struct{})
		wait := saturateVerifies(tb, e, victim, 32, stop)
		time.Sleep(300 * time.Millisecond) // let default's requests fill the hasher
		for range perRound {
			loaded = max(loaded, createInAcme())
		}
		close(stop)
		for status, count := range wait() {
			statuses[status] += count
		}
	}
	return idle, loaded, statuses
}

// TestUsers_PasswordHashingQueueFull checks that a tenant's queue for the
// password hasher is bounded: past the bound a request is refused at once
// with 429 and Retry-After, and the tenant works again once its queue drains.
func TestUsers_PasswordHashingQueueFull(t *testing.T) {
	e := newEnv(t)
	victim := costlyBcryptUser(t, e)
	var refused atomic.Pointer[response]
	var wg sync.WaitGroup
	// More than the bound, max(8, 4 x cores), can admit.
	statuses := make([]int, 40+8*runtime.GOMAXPROCS(0))
	for i := range statuses {
		wg.Go(func() {
			r := call(t, "POST", e.URL+"/api/users/"+victim.ID+"/password/verify", e.token, map[string]any{"password": "wrong"})
			statuses[i] = r.Status
			if r.Status == http.StatusTooManyRequests {
				refused.Store(&r)
			}
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[http.StatusTooManyRequests] == 0 || counts[http.StatusUnprocessableEntity] == 0 ||
		counts[http.StatusTooManyRequests]+counts[http.StatusUnprocessableEntity] != len(statuses) {
		t.Fatalf("answers to %d concurrent costly verifications: %v, want some 422 and some 429", len(statuses), counts)
	}
	r := refused.Load()
	if got := r.Code(); got != "request.too_many_requests" {
		t.Errorf("429 code %q: %s", got, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q, want whole seconds >= 1", r.Header.Get("Retry-After"))
	}
	// Once the queue drains, the tenant is served again.
	if got := call(t, "POST", e.URL+"/api/users/"+victim.ID+"/password/verify", e.token, map[string]any{"password": "the-right-one"}).Status; got != http.StatusNoContent {
		t.Errorf("verify after the burst: %d, want 204", got)
	}
}

// TestUsers_BatchPasswordsShareTheHasher checks that a batch import with
// more plain passwords than a tenant may have requests queued is one request
// to the hasher, so it is not refused, and that another tenant's password
// request is served while the batch hashes.
func TestUsers_BatchPasswordsShareTheHasher(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	createInAcme := func(name string) time.Duration {
		start := time.Now()
		r := call(t, "POST", e.URL+apitest.TenantPrefix("acme")+"/api/users", acmeToken,
			map[string]any{"username": name, "password": "Str0ng-Passw0rd!"})
		if r.Status != http.StatusOK {
			t.Fatalf("create in acme: %d %s", r.Status, r.Body)
		}
		return time.Since(start)
	}
	idle := max(createInAcme("idle1"), createInAcme("idle2"))

	var users []any
	for i := range 48 {
		users = append(users, map[string]any{"username": "batch" + strconv.Itoa(i), "password": "Batch-Passw0rd!"})
	}
	done := make(chan response, 1)
	go func() { done <- e.batch(t, "", e.token, users...) }()
	time.Sleep(100 * time.Millisecond) // let the batch start hashing
	loaded := createInAcme("during")
	r := <-done
	if r.Status != http.StatusCreated {
		t.Fatalf("batch of %d passwords: %d %s", len(users), r.Status, r.Body)
	}
	if limit := 5*idle + time.Second; loaded > limit {
		t.Errorf("acme create took %v during default's batch, want <= %v (idle %v)", loaded, limit, idle)
	}
}
