package main

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/cluster"
)

// alertRule is one rule of deploy/alerts.yml.
type alertRule struct{ name, expr string }

// readAlertRules reads the rules of a Prometheus rule file written as
// deploy/alerts.yml is: "- alert: NAME" followed by a one-line "expr:".
func readAlertRules(t *testing.T, path string) []alertRule {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []alertRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if name, ok := strings.CutPrefix(line, "- alert:"); ok {
			rules = append(rules, alertRule{name: strings.TrimSpace(name)})
		} else if expr, ok := strings.CutPrefix(line, "expr:"); ok {
			if len(rules) == 0 || rules[len(rules)-1].expr != "" {
				t.Fatalf("%s: an expr outside an alert rule: %s", path, line)
			}
			rules[len(rules)-1].expr = strings.TrimSpace(expr)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.expr == "" || strings.HasPrefix(r.expr, "|") || strings.HasPrefix(r.expr, ">") {
			t.Fatalf("%s: alert %s has no one-line expr", path, r.name)
		}
	}
	return rules
}

// promQLWords are the PromQL functions, aggregations and keywords the
// rules may use; any other name in an expression is a metric.
var promQLWords = []string{"abs", "absent", "and", "avg", "bool", "by", "changes", "clamp_min", "count", "deriv",
	"group_left", "group_right", "histogram_quantile", "ignoring", "increase", "irate", "max", "min", "offset", "on",
	"or", "predict_linear", "rate", "resets", "scalar", "sum", "time", "unless", "vector", "without"}

var (
	promQLString   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promQLMatchers = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promQLGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promQLName     = regexp.MustCompile(`\b[a-zA-Z_:][a-zA-Z0-9_:]*\b`)
)

// promQLMetrics returns the metric names expr reads: what is left once
// strings, label matchers, ranges, groupings and PromQL's own words are
// taken out.
func promQLMetrics(expr string) []string {
	expr = promQLString.ReplaceAllString(expr, "")
	expr = promQLMatchers.ReplaceAllString(expr, " ")
	expr = promQLGrouping.ReplaceAllString(expr, " ")
	var names []string
	for _, name := range promQLName.FindAllString(expr, -1) {
		if !slices.Contains(promQLWords, name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

func TestPromQLMetrics(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`up{job="idbolt"} == 0`, []string{"up"}},
		{`sum by (tenant, route) (rate(idbolt_nope_total{code=~"5..", x="a}b"}[5m])) > 1`, []string{"idbolt_nope_total"}},
		{`scalar(max(a_b)) - on(instance) c:d offset 5m > 1e3 or vector(0)`, []string{"a_b", "c:d"}},
		{`max by (job) (x) - on (job) group_right y > 1000`, []string{"x", "y"}},
		{`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 0.25`, []string{"x_bucket"}},
		{`idbolt_tls_certificate_not_after_seconds - time() < 14 * 86400`, []string{"idbolt_tls_certificate_not_after_seconds"}},
	} {
		if got := promQLMetrics(tc.expr); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.expr, got, tc.want)
		}
	}
}

// exportedMetrics returns the metric names in a Prometheus text
// exposition: every family, with _bucket, _sum and _count for histograms
// and summaries.
func exportedMetrics(exposition string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(exposition, "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" || f[3] == "summary" {
				names[f[2]+"_bucket"], names[f[2]+"_sum"], names[f[2]+"_count"] = true, true, true
			}
		}
	}
	return names
}

// TestDeploy_AlertRules checks that every expression of deploy/alerts.yml
// names only metrics a server exports (or Prometheus's own up), so that no
// rule silently never fires. The server runs with everything that adds
// metrics (TLS, a one-node cluster, the connection limits), and the test
// makes it count what its labelled metrics only show once counted: tokens
// issued and refused, a rate-limited request, suppressed audit entries,
// a source over its budget and a refused connection. With promtool
// installed, it also checks the file's syntax.
func TestDeploy_AlertRules(t *testing.T) {
	rules := readAlertRules(t, "deploy/alerts.yml")
	if len(rules) < 10 {
		t.Fatalf("only %d rules read from deploy/alerts.yml", len(rules))
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		if out, err := exec.Command(promtool, "check", "rules", "deploy/alerts.yml").CombinedOutput(); err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	} else {
		t.Log("promtool not installed: the rule file's syntax is not checked")
	}

	dir := t.TempDir()
	cert := newTestCert(t, "localhost")
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	install(t, cert.certPEM, cert.keyPEM, certFile, keyFile)
	if _, err := cluster.InitCerts(filepath.Join(dir, "tls"), []string{"n1"}, ""); err != nil {
		t.Fatal(err)
	}
	raftAddr := freeAddr(t)
	s := startRun(t, filepath.Join(dir, "n1.db"), bootstrapEnv, "--tls-cert", certFile, "--tls-key", keyFile,
		"--metrics-addr", "127.0.0.1:0", "--node-id", "n1", "--raft-addr", raftAddr, "--peers", "n1="+raftAddr,
		"--cluster-tls-dir", filepath.Join(dir, "tls"), "--advertise-url", "http://127.0.0.1:1",
		"--rate-limit", "2/1m", "--failure-rate-limit", "15/1m", "--max-connections-per-ip", "2")
	addr := strings.TrimPrefix(s.url, "http://")
	base := "https://" + addr
	client := tlsClient(t, cert)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := client.Get(base + "/api/status/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", s.log)
		}
	}
	metricsAddr := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`).FindStringSubmatch(s.log.String())
	if metricsAddr == nil {
		t.Fatalf("no metrics listener logged:\n%s", s.log)
	}

	// Wrong secrets, while the tenant has budget: audited one by one up to
	// 10, then suppressed. Then junk tokens until the address has spent its
	// budget of 15 failures a minute.
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {"https://default.logto.app/api"}}
	for range 12 {
		req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testClientID, "wrong-secret-0123456789abcdef012345")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := 0; ; i++ {
		if resp, _ := getVia(t, client, base+"/api/users", "junk"); resp.StatusCode == 429 {
			break
		} else if i == 20 {
			t.Fatalf("junk tokens never spent the address's budget: %d", resp.StatusCode)
		}
	}
	// The tenant's budget of 2 a minute: the token and one request, then a
	// 429 (the right secret and a token pass a throttled address).
	tok := tokenVia(t, client, base, testClientID, testSecret)
	if resp, _ := getVia(t, client, base+"/api/users", tok); resp.StatusCode != 200 {
		t.Fatalf("GET /api/users: %d", resp.StatusCode)
	}
	if resp, _ := getVia(t, client, base+"/api/users", tok); resp.StatusCode != 429 {
		t.Fatalf("GET /api/users over the budget: %d", resp.StatusCode)
	}
	// A third connection from one address is refused.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 3)}, Timeout: 5 * time.Second}
	for range 3 {
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}

	// Counters of other goroutines (audit, listener) may lag the answers.
	var unknown []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + metricsAddr[1] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, err = bufio.NewReader(resp.Body).WriteTo(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		exported := exportedMetrics(body.String())
		exported["up"] = true // Prometheus's own, for every target
		unknown = unknown[:0]
		for _, r := range rules {
			for _, name := range promQLMetrics(r.expr) {
				if !exported[name] {
					unknown = append(unknown, r.name+": "+name)
				}
			}
		}
		if len(unknown) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deploy/alerts.yml names metrics the server does not export:\n%s\n\nexported:\n%s",
				strings.Join(unknown, "\n"), body.String())
		}
	}
}
