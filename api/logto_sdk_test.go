package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// sdkDir holds the Logto SDK compatibility script and its pinned npm
// dependencies, relative to this package's directory.
const sdkDir = "../testdata/logto-sdk"

// TestLogtoSDKCompat runs Logto's official Management API SDK (@logto/api,
// pinned in testdata/logto-sdk/package-lock.json) against a real idbolt: the
// promise is that code written for Logto works by changing only the base URL.
// The script reports every mismatch it finds, not just the first.
//
// Dependencies come from testdata/logto-sdk/node_modules when it exists (a
// developer's `npm ci` there), otherwise from `npm ci` into the user cache
// directory, once per lockfile version. The test is skipped under -short,
// without node and npm, or when npm cannot reach its registry.
func TestLogtoSDKCompat(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: runs node and may run npm ci")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH; the Logto SDK compatibility test needs node and npm")
	}
	src, err := filepath.Abs(sdkDir)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	script := filepath.Join(src, "compat.mjs")
	if _, err := os.Stat(filepath.Join(src, "node_modules", "@logto", "api", "package.json")); err != nil {
		modules := installSDK(t, ctx, src)
		// ESM resolves packages from the script's own directory upwards and
		// ignores NODE_PATH, so run a copy of the script next to a link to
		// the cached node_modules.
		dir := t.TempDir()
		if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
			t.Fatalf("link node_modules: %v", err)
		}
		script = filepath.Join(dir, "compat.mjs")
		copyFile(t, filepath.Join(src, "compat.mjs"), script)
	}

	srv := apitest.Start(t)
	// A second tenant with readableApplicationSecrets on, whose secret lists
	// show values as Logto's do; the system API is idbolt's, not the SDK's.
	sys := srv.SystemToken(t)
	var readable struct {
		Credentials struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
		} `json:"credentials"`
	}
	if r := call(t, "POST", srv.URL+"/system/tenants", sys, map[string]any{"id": "readable"}); r.Status != http.StatusCreated {
		t.Fatalf("create tenant readable: %d %s", r.Status, r.Body)
	} else {
		r.JSON(t, &readable)
	}
	if r := call(t, "PATCH", srv.URL+"/system/tenants/readable", sys, map[string]any{"readableApplicationSecrets": true}); r.Status != http.StatusOK {
		t.Fatalf("switch readableApplicationSecrets on: %d %s", r.Status, r.Body)
	}
	runCtx, runCancel := context.WithTimeout(ctx, 2*time.Minute)
	defer runCancel()
	cmd := exec.CommandContext(runCtx, node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(),
		"IDBOLT_URL="+srv.URL,
		"IDBOLT_CLIENT_ID="+srv.ClientID,
		"IDBOLT_CLIENT_SECRET="+srv.ClientSecret,
		"IDBOLT_READABLE_TENANT=readable",
		"IDBOLT_READABLE_CLIENT_ID="+readable.Credentials.ClientID,
		"IDBOLT_READABLE_CLIENT_SECRET="+readable.Credentials.ClientSecret,
	)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node compat.mjs (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("@logto/api is not compatible with idbolt (see the mismatches above): %v", err)
	}
}

// offlineRe matches npm's errors for an unreachable registry.
var offlineRe = regexp.MustCompile(`\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT)\b`)

// installSDK runs `npm ci` for src's package-lock.json in the user cache
// directory, unless an earlier run did so for the same lockfile, and
// returns the node_modules directory.
func installSDK(t *testing.T, ctx context.Context, src string) string {
	t.Helper()
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not on PATH; the Logto SDK compatibility test needs node and npm")
	}
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	root := filepath.Join(cache, "idbolt", "logto-sdk")
	sum := sha256.Sum256(append(append([]byte{}, pkg...), lock...))
	final := filepath.Join(root, hex.EncodeToString(sum[:8]))
	modules := filepath.Join(final, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@logto", "api", "package.json")); err == nil {
		return modules
	}

	// Install into a fresh directory and rename it into place, so that
	// concurrent runs never see a half-installed tree.
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(root, "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for name, data := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// An unreachable registry must cost seconds, not npm's minutes of
	// retries: probe it first, and let npm ci give up on the first failure.
	if err := probeRegistry(ctx, npm); err != nil {
		t.Skipf("npm registry unreachable (%v; offline?), so @logto/api cannot be installed", err)
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--engine-strict=false",
		"--fetch-timeout=60000", "--fetch-retries=0")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_loglevel=error")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if m := offlineRe.Find(out); m != nil {
			t.Skipf("npm cannot reach its registry (%s; offline?), so @logto/api cannot be installed", m)
		}
		t.Fatalf("npm ci in %s: %v\n%s", tmp, err, out)
	}
	t.Logf("npm ci: installed @logto/api into %s in %s", final, time.Since(start).Round(time.Millisecond))
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(filepath.Join(modules, "@logto", "api", "package.json")); statErr != nil {
			t.Fatalf("move npm install into place: %v", errors.Join(err, statErr))
		}
		// Another run got there first; its tree is as good as ours.
	}
	return modules
}

// registryProbeTimeout bounds the registry probe; a reachable registry
// answers in well under a second.
const registryProbeTimeout = 3 * time.Second

// probeRegistry asks npm which registry it uses (npm config, .npmrc, or
// npm_config_registry) and fetches the abbreviated metadata of @logto/api
// from it, the first thing npm ci needs. Anything but a 200 within
// registryProbeTimeout is an error: no answer, and also an answer from
// something that is not a registry serving the package (a captive portal,
// a sandbox's interceptor).
func probeRegistry(ctx context.Context, npm string) error {
	cfgCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cfgCtx, npm, "config", "get", "registry").Output()
	registry := strings.TrimSpace(string(out))
	if err != nil || registry == "" || registry == "undefined" {
		registry = "https://registry.npmjs.org/"
	}
	probeCtx, cancel := context.WithTimeout(ctx, registryProbeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(probeCtx, http.MethodGet, strings.TrimSuffix(registry, "/")+"/@logto%2fapi", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.npm.install-v1+json")
	resp, err := http.DefaultClient.Do(req) // through HTTPS_PROXY when set, as npm goes
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	return nil
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
