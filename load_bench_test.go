package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// helloServerEnv, when set in the environment of this test binary, makes it
// a bare net/http server instead (see TestMain): the load benchmark's
// yardstick for what the HTTP stack alone costs on this machine.
const helloServerEnv = "IDBOLT_TEST_HELLO_SERVER"

// TestMain runs the tests, or the hello server when helloServerEnv is set.
func TestMain(m *testing.M) {
	if spec := os.Getenv(helloServerEnv); spec != "" {
		if err := runHelloServer(spec); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// runHelloServer serves, on a loopback port it prints as "addr=HOST:PORT",
// a fixed JSON body on each path of spec ("PATH=SIZE,..."), of SIZE bytes,
// after reading the request body: what idbolt's answer costs net/http with
// no work behind it.
func runHelloServer(spec string) error {
	mux := http.NewServeMux()
	for part := range strings.SplitSeq(spec, ",") {
		path, size, _ := strings.Cut(part, "=")
		n, err := strconv.Atoi(size)
		if err != nil || n < 16 {
			return fmt.Errorf("hello server: bad spec %q", part)
		}
		body := []byte(`{"v":"` + strings.Repeat("x", n-8) + `"}`)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "addr=%s\n", ln.Addr())
	return http.Serve(ln, mux)
}

// startHelloServer starts this test binary as a hello server with spec and
// returns its base URL and process id.
func startHelloServer(b *testing.B, spec string) (string, int) {
	b.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helloServerEnv+"="+spec)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make([]byte, 64)
	n, err := stderr.Read(line)
	m := regexp.MustCompile(`addr=(\S+)`).FindSubmatch(line[:n])
	if err != nil || m == nil {
		b.Fatalf("hello server did not start: %v %q", err, line[:n])
	}
	return "http://" + string(m[1]), cmd.Process.Pid
}

// loadProfilesEnv, when set to a directory, makes the load benchmark
// start idbolt with --pprof-addr and, after its rounds, load idbolt once
// more with each of its three loads while it takes a CPU profile and an
// allocation profile of the server, written there as cpu-LOAD.pprof and
// allocs-LOAD.pprof (read them with go tool pprof -top).
const loadProfilesEnv = "IDBOLT_LOAD_PROFILES"

// profilesAddrRE finds the address of --pprof-addr in idbolt's log.
var profilesAddrRE = regexp.MustCompile(`msg="profiles listening" addr=(\S+)`)

// startProductionProcess starts idbolt with its production defaults
// (audit, metrics, a log line per request, rate limits) and its logs going
// to a file as under a service manager; only the tenant budget is raised
// so that the load is not refused. It returns the base URL, the process id,
// and the address of the profiles when profiles is set (--pprof-addr).
func startProductionProcess(b *testing.B, bin string, profiles bool) (base string, pid int, profilesAddr string) {
	b.Helper()
	dir := b.TempDir()
	logPath := filepath.Join(dir, "idbolt.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "idbolt.db"),
		"--base-url", "http://idbolt.test", "--rate-limit", "1000000000/1s", "--max-connections-per-ip", "1024")
	if profiles {
		cmd.Args = append(cmd.Args, "--pprof-addr", "127.0.0.1:0")
	}
	cmd.Env = append(os.Environ(), "IDBOLT_BOOTSTRAP_CLIENT_ID="+testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET="+testSecret)
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		log, _ := os.ReadFile(logPath)
		m, pm := addrRE.FindSubmatch(log), profilesAddrRE.FindSubmatch(log)
		if m != nil && (pm != nil || !profiles) {
			if pm != nil {
				profilesAddr = string(pm[1])
			}
			return "http://" + string(m[1]), cmd.Process.Pid, profilesAddr
		}
	}
	log, _ := os.ReadFile(logPath)
	b.Fatalf("idbolt did not start:\n%s", log)
	return "", 0, ""
}

// profileLoad runs load for a few seconds while it takes, from the
// --pprof-addr at addr, a CPU profile and an allocation profile of the
// same seconds, and writes them to dir as cpu-NAME.pprof and
// allocs-NAME.pprof.
func profileLoad(b *testing.B, addr, dir, name string, load func(time.Duration)) {
	b.Helper()
	const seconds = 5
	var wg sync.WaitGroup
	for _, p := range []struct{ kind, file string }{{"profile", "cpu"}, {"allocs", "allocs"}} {
		kind, file := p.kind, filepath.Join(dir, p.file+"-"+name+".pprof")
		wg.Go(func() {
			time.Sleep(500 * time.Millisecond) // the clients are connected
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, seconds))
			if err != nil {
				b.Errorf("%s profile: %v", kind, err)
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("%d %s", resp.StatusCode, data)
			}
			if err == nil {
				err = os.WriteFile(file, data, 0o644)
			}
			if err != nil {
				b.Errorf("%s profile: %v", kind, err)
			}
		})
	}
	load(seconds*time.Second + time.Second)
	wg.Wait()
}

// processCPU returns the CPU time (user and system) process pid has used,
// from /proc; false where there is no /proc.
func processCPU(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields 14 and 15 (utime, stime), in clock ticks (USER_HZ, 100 on
	// Linux), come after the command name in parentheses.
	_, rest, ok := strings.Cut(string(stat), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// cpuPerRequest runs load and returns its rate and failures, and the CPU
// time process pid spent per request served (zero without /proc). CPU per
// request hardly moves with what other processes run on the machine, while
// rates do.
func cpuPerRequest(pid int, load func() (float64, int64)) (rate float64, failed int64, cpu time.Duration) {
	before, ok := processCPU(pid)
	start := time.Now()
	rate, failed = load()
	elapsed := time.Since(start)
	after, ok2 := processCPU(pid)
	if served := rate * elapsed.Seconds(); ok && ok2 && served > 0 {
		cpu = time.Duration(float64(after-before) / served)
	}
	return rate, failed, cpu
}

// measureSigning returns how many ES256 signatures per second all cores
// make, for the limit a token request cannot beat, and the CPU time of
// one (zero where the process's own CPU time is unknown).
func measureSigning(d time.Duration) (float64, time.Duration) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	digest := sha256.Sum256([]byte("a token's signing input"))
	var n atomic.Int64
	cpuBefore, ok := processCPU(os.Getpid())
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rate := float64(n.Load()) / time.Since(start).Seconds()
	cpuAfter, ok2 := processCPU(os.Getpid())
	if !ok || !ok2 || n.Load() == 0 {
		return rate, 0
	}
	return rate, (cpuAfter - cpuBefore) / time.Duration(n.Load())
}

// BenchmarkLoad_MachineLimit measures, in one run and in alternating
// rounds, a bare net/http server answering bodies the size of idbolt's,
// ES256 signatures on every core, and idbolt with production defaults at 16
// clients over loopback: client_credentials tokens, GET /api/users/{id}
// with a reused token, and the JWT bearer grant with a fresh jti per
// assertion. It reports the median over rounds of three ratios: tokens
// against the machine's limit 1/(1/hello + 1/signatures), reads against
// hello, and JWT bearer against client_credentials. Run it on a quiet
// machine:
//
//	go test . -run '^$' -bench Load_MachineLimit -benchtime 1x -v
func BenchmarkLoad_MachineLimit(b *testing.B) {
	const workers = 16
	bin := buildBinary(b)
	profileDir := os.Getenv(loadProfilesEnv)
	base, pid, profilesAddr := startProductionProcess(b, bin, profileDir != "")
	admin := token(b, base, testClientID, testSecret)

	st, userBody := do(b, "POST", base+"/api/users", admin, `{"username":"load","primaryEmail":"load@example.com","name":"Load Test"}`)
	var user struct{ ID string }
	if st != http.StatusOK || json.Unmarshal([]byte(userBody), &user) != nil {
		b.Fatalf("create user: %d %s", st, userBody)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}, "scope": {"all"}}.Encode()
	tokenRequest := func(base string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testClientID, testSecret)
		return req
	}
	getRequest := func(base string) *http.Request {
		req, _ := http.NewRequest("GET", base+"/api/users/"+user.ID, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		return req
	}
	tokenSize, userSize := bodySize(b, tokenRequest(base)), bodySize(b, getRequest(base))
	hello, helloPID := startHelloServer(b, fmt.Sprintf("/oidc/token=%d,/api/users/=%d", tokenSize, userSize))

	// Each worker has its own API client (the server keeps at most 10,000
	// unexpired jti per client) and its assertions, each with its own jti,
	// signed before the rounds so that the load client's signing does not
	// take the server's cores.
	assertionsPerWorker := 6_000
	if profileDir != "" {
		assertionsPerWorker += 4_000 // the profiled round's
	}
	assertions := make([][]string, workers)
	for w := range workers {
		key, id := newAssertionKey(b), "bot"+strconv.Itoa(w)
		uploadAssertionKey(b, base, admin, id, key)
		for i := range assertionsPerWorker {
			assertions[w] = append(assertions[w], signAssertionOf(b, key, id, strconv.Itoa(i)))
		}
	}
	used := make([]int, workers)
	bearerRequest := func(base string, w int) *http.Request {
		if used[w] == assertionsPerWorker {
			return nil
		}
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertions[w][used[w]]},
			"resource": {"https://default.logto.app/api"}}.Encode()
		used[w]++
		req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}

	send := func(newRequest func(string) *http.Request) func(*http.Client, string, int, int) (bool, string) {
		return func(client *http.Client, base string, _, _ int) (bool, string) {
			return benchSend(client, newRequest(base))
		}
	}
	sendBearer := func(client *http.Client, base string, w, _ int) (bool, string) {
		req := bearerRequest(base, w)
		if req == nil {
			return false, "out of assertions: raise assertionsPerWorker"
		}
		return benchSend(client, req)
	}
	load := func(pid int, base string, send func(*http.Client, string, int, int) (bool, string)) (float64, int64, time.Duration) {
		return cpuPerRequest(pid, func() (float64, int64) { return benchLoad(b, []string{base}, workers, benchDuration, send) })
	}
	var tokensPct, readsPct, bearerPct, tokensCPUPct, readsCPUPct, bearerCPUPct []float64
	var sums [6]float64
	b.ResetTimer()
	for range b.N {
		for round := range benchRounds {
			helloTokens, _, helloTokenCPU := load(helloPID, hello, send(tokenRequest))
			tokens, failed, tokenCPU := load(pid, base, send(tokenRequest))
			helloReads, _, helloReadCPU := load(helloPID, hello, send(getRequest))
			reads, failedReads, readCPU := load(pid, base, send(getRequest))
			bearer, failedBearer, bearerCPU := load(pid, base, sendBearer)
			signatures, signatureCPU := measureSigning(benchDuration)
			if failed+failedReads+failedBearer > 0 {
				b.Errorf("round %d: %d token, %d read and %d JWT bearer requests failed", round, failed, failedReads, failedBearer)
			}
			limit := 1 / (1/helloTokens + 1/signatures)
			b.Logf("round %d: hello %.0f/s, ES256 %.0f/s, limit %.0f/s; tokens %.0f/s (%.0f %%); hello GET %.0f/s, GET user %.0f/s (%.0f %%); JWT bearer %.0f/s (%.0f %% of tokens)",
				round, helloTokens, signatures, limit, tokens, 100*tokens/limit, helloReads, reads, 100*reads/helloReads, bearer, 100*bearer/tokens)
			tokensPct = append(tokensPct, 100*tokens/limit)
			readsPct = append(readsPct, 100*reads/helloReads)
			bearerPct = append(bearerPct, 100*bearer/tokens)
			if tokenCPU > 0 && readCPU > 0 && bearerCPU > 0 && signatureCPU > 0 {
				// The same ratios by server CPU per request: the limit of a
				// token is the hello server's CPU per answer plus a
				// signature's.
				b.Logf("round %d, server CPU per request: hello %v + ES256 %v, token %v (%.0f %%); hello GET %v, GET user %v (%.0f %%); JWT bearer %v (%.0f %% of tokens)",
					round, helloTokenCPU, signatureCPU, tokenCPU, 100*float64(helloTokenCPU+signatureCPU)/float64(tokenCPU),
					helloReadCPU, readCPU, 100*float64(helloReadCPU)/float64(readCPU), bearerCPU, 100*float64(tokenCPU)/float64(bearerCPU))
				tokensCPUPct = append(tokensCPUPct, 100*float64(helloTokenCPU+signatureCPU)/float64(tokenCPU))
				readsCPUPct = append(readsCPUPct, 100*float64(helloReadCPU)/float64(readCPU))
				bearerCPUPct = append(bearerCPUPct, 100*float64(tokenCPU)/float64(bearerCPU))
			}
			for i, v := range []float64{helloTokens, signatures, tokens, helloReads, reads, bearer} {
				sums[i] += v / benchRounds
			}
		}
	}
	if profileDir != "" {
		for _, l := range []struct {
			name string
			send func(*http.Client, string, int, int) (bool, string)
		}{{"tokens", send(tokenRequest)}, {"reads", send(getRequest)}, {"bearer", sendBearer}} {
			profileLoad(b, profilesAddr, profileDir, l.name, func(d time.Duration) {
				rate, failed := benchLoad(b, []string{base}, workers, d, l.send)
				b.Logf("profiled %s: %.0f/s, %d failed", l.name, rate, failed)
			})
		}
	}
	for i, unit := range []string{"hello-tokens/s", "es256/s", "tokens/s", "hello-reads/s", "reads/s", "bearer/s"} {
		b.ReportMetric(sums[i]/float64(b.N), unit)
	}
	b.ReportMetric(median(tokensPct), "tokens-%-of-limit")
	b.ReportMetric(median(readsPct), "reads-%-of-hello")
	b.ReportMetric(median(bearerPct), "bearer-%-of-tokens")
	if len(tokensCPUPct) > 0 {
		b.ReportMetric(median(tokensCPUPct), "tokens-cpu-%-of-limit")
		b.ReportMetric(median(readsCPUPct), "reads-cpu-%-of-hello")
		b.ReportMetric(median(bearerCPUPct), "bearer-cpu-%-of-tokens")
	}
}

// bodySize sends req and returns the length of the 200 answer's body.
func bodySize(b *testing.B, req *http.Request) int {
	b.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s %s: %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	return len(body)
}

// median returns the middle of values (the mean of the two middle ones).
func median(values []float64) float64 {
	s := slices.Sorted(slices.Values(values))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}
