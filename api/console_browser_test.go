package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idbolt/idbolt/api/apitest"
)

// The console in a real browser: headless Chromium driven through the
// DevTools protocol against an in-process server on a temp data file.
// Without Chromium the test skips (so `go test ./...` passes on a fresh
// machine); .ci/run installs it, so CI always runs it. Screenshots of each
// page go to $IDBOLT_SCREENSHOTS when set, else to the test's artifact
// directory (kept with go test -artifacts).

// findChromium returns the path of a Chromium-like browser, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless browser tab and what its console said.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string // screenshots

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	exe := findChromium()
	if exe == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, base: base, dir: os.Getenv("IDBOLT_SCREENSHOTS")}
	if b.dir == "" {
		b.dir = t.ArtifactDir()
	} else if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Starts the browser, and listens to its console from the first page.
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs actions and fails the test on error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitText waits until the text of the element sel contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		got := eval[string](b, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || "(none)"`, sel))
		b.t.Fatalf("%s never showed %q; it shows %q", sel, want, got)
	}
}

// screenshot saves the viewport as name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// consoleErrors returns what the console said that is an error: an
// exception, a console.error or warning call, or a browser log error. The
// deliberate 401s of /console/session (no session yet, a refused sign-in)
// are the only errors expected.
func (b *browser) consoleErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.messages {
		bad := m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning
		if bad && m.Source == "network" && strings.HasSuffix(m.URL, "/console/session") && strings.Contains(m.Text, "401") {
			bad = false
		}
		if bad {
			out = append(out, fmt.Sprintf("%s (%s %s)", m.String(), m.Source, m.URL))
		}
	}
	return out
}

func TestConsoleBrowser(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	// 1,000 users through the batch import, and a manager who may read them.
	batch := make([]map[string]any, 1000)
	for i := range batch {
		batch[i] = map[string]any{"username": fmt.Sprintf("user%04d", i), "name": fmt.Sprintf("User %d", i),
			"primaryEmail": fmt.Sprintf("user%04d@example.com", i)}
	}
	e.do(t, "POST", "/api/users/batch", map[string]any{"users": batch}, http.StatusCreated, nil)
	viewer := e.createUser(t, map[string]any{"username": "ada", "password": "correct horse battery"})
	e.do(t, "POST", "/api/managers", map[string]any{"userId": viewer.ID, "roles": []string{"IAM_OWNER_VIEWER"}}, http.StatusCreated, nil)
	total := e.countUsers(t)

	b := newBrowser(t, e.URL)
	b.do("open the console", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)))

	// The sign-in page: every input has a label, the names the issue fixes.
	labels := eval[[]string](b, `[...document.querySelectorAll('label')].map(l => l.textContent)`)
	for _, want := range []string{"Client ID", "Client secret", "Username", "Password"} {
		if !slices.Contains(labels, want) {
			t.Errorf("sign-in labels %q lack %q", labels, want)
		}
	}
	if !eval[bool](b, `[...document.querySelectorAll('input, select')].every(i => i.labels.length > 0)`) {
		t.Error("an input has no label")
	}
	if got := eval[[]string](b, `[...document.querySelectorAll('button')].map(x => x.textContent)`); !slices.Equal(got, []string{"Sign in", "Sign in"}) {
		t.Errorf("sign-in buttons %q", got)
	}
	b.screenshot("console-signin")

	// A wrong secret is refused, and the page says so.
	b.do("wrong secret", chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), e.ClientID),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), "not-the-secret\r"))
	b.waitText(`[role=alert]`, "Sign-in refused")
	if eval[bool](b, `!!document.querySelector('nav')`) {
		t.Fatal("signed in with a wrong secret")
	}

	// The right one, with the keyboard only: focus starts on Client ID,
	// Tab moves to the secret, Enter submits.
	eval[bool](b, `(document.querySelector('input[name=clientSecret]').value = '', true)`)
	b.do("right secret", chromedp.Focus(chromedp.CSS(`input[name=clientId]`)), chromedp.KeyEvent("\t"))
	if got := eval[string](b, `document.activeElement.name`); got != "clientSecret" {
		t.Errorf("Tab from Client ID went to %q", got)
	}
	b.do("type the secret", chromedp.KeyEvent(e.ClientSecret+"\r"))
	b.waitText(`.summary`, total+" users · page 1 of 51")
	nav := eval[[]string](b, `[...document.querySelectorAll('nav a')].map(a => a.textContent)`)
	if want := []string{"Users", "API clients", "Applications", "Roles", "API resources", "Organizations", "Connectors", "Webhooks", "Audit logs",
		"Dashboard", "Signing keys", "Tenants", "Cluster"}; !slices.Equal(nav, want) {
		t.Errorf("navigation %q, want %q", nav, want)
	}
	if n := eval[int](b, `document.querySelectorAll('tbody tr').length`); n != 20 {
		t.Errorf("first page shows %d rows, want 20", n)
	}
	b.screenshot("console-users")

	// Paging.
	first := eval[string](b, `document.querySelector('tbody tr').textContent`)
	b.do("next page", chromedp.Click(chromedp.Search(`//button[text()="Next page"]`)))
	b.waitText(`.summary`, "page 2 of 51")
	if again := eval[string](b, `document.querySelector('tbody tr').textContent`); again == first {
		t.Error("page 2 starts with page 1's first user")
	}

	// Search: contains, then exact.
	search := func(term, mode, want string) {
		t.Helper()
		b.do("search "+term, chromedp.SetValue(chromedp.ID("user-search"), term), chromedp.SetValue(chromedp.ID("user-mode"), mode),
			chromedp.Click(chromedp.Search(`//button[text()="Search"]`)))
		b.waitText(`.summary`, want)
	}
	search("user004", "like", "10 users · page 1 of 1")
	search("user0042", "exact", "1 user · page 1 of 1")
	if got := eval[string](b, `document.querySelector('tbody td').textContent`); got != "user0042" {
		t.Errorf("exact search shows %q", got)
	}
	search("user004", "exact", "0 users · page 1 of 1")
	b.waitText(`tbody`, "No users match.")

	// Every page of the navigation, at desktop and phone width.
	for _, page := range []struct{ link, file string }{
		{"API clients", "console-api-clients"}, {"Applications", ""}, {"Roles", ""}, {"API resources", ""},
		{"Organizations", ""}, {"Connectors", ""}, {"Webhooks", ""}, {"Audit logs", ""}, {"Dashboard", ""}, {"Users", ""},
	} {
		b.do("open "+page.link, chromedp.Click(chromedp.Search(fmt.Sprintf(`//nav//a[text()=%q]`, page.link))))
		b.waitText(`main h1`, page.link)
		if page.file != "" {
			b.screenshot(page.file)
		}
	}
	b.waitText(`.summary`, "page 1 of 51")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the users page scrolls sideways at phone width")
	}
	b.screenshot("console-users-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Sign out, then sign in as the manager with a password.
	b.do("sign out", chromedp.Click(chromedp.Search(`//button[text()="Sign out"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	b.do("password sign-in", chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "ada"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery\r"))
	b.waitText(`.who`, "User "+viewer.ID)
	b.waitText(`.summary`, total+" users")

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}

	// A form on another origin (same site: another port of 127.0.0.1, so
	// the SameSite=Strict cookie does go along) posts to the console API:
	// refused, and no user is made.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form method="post" action="%s/console/api/users" enctype="text/plain">`+
			`<input name='{"username":"evil_made","x":"' value='"}'></form><script>document.forms[0].submit()</script>`, e.URL)
	}))
	defer evil.Close()
	b.do("cross-site post", chromedp.Navigate(evil.URL))
	b.waitText(`body`, "auth.forbidden")
	if n := call(t, "GET", e.URL+"/api/users?search=evil_made&mode=exact", e.token, nil).Header.Get("Total-Number"); n != "0" {
		t.Errorf("the cross-site POST made %s users", n)
	}
	t.Logf("screenshots in %s", b.dir)
}

// BenchmarkConsoleBrowser_UsersFirstPaint measures, in headless Chromium,
// a load of the Users page by a signed-in browser in a tenant of 100,000
// users: from navigation until the first page of users and the total are
// on screen (the page's files, the session check and the list request).
func BenchmarkConsoleBrowser_UsersFirstPaint(b *testing.B) {
	exe := findChromium()
	if exe == "" {
		b.Skip("no Chromium on PATH")
	}
	srv := apitest.Start(b)
	token := srv.ManagementToken(b, "default")
	for batch := range 100 {
		users := make([]map[string]any, 1000)
		for i := range users {
			users[i] = map[string]any{"username": fmt.Sprintf("user%06d", batch*1000+i)}
		}
		if r := call(b, "POST", srv.URL+"/api/users/batch", token, map[string]any{"users": users}); r.Status != http.StatusCreated {
			b.Fatalf("import: %d %s", r.Status, r.Body)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(b.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	signIn := fmt.Sprintf(`fetch('/console/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({clientId: %q, clientSecret: %q})}).then(r => r.status)`, srv.ClientID, srv.ClientSecret)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/console/missing.txt")); err != nil {
		b.Fatal(err)
	}
	if status, err := chromedp.Run(ctx, chromedp.Evaluate[int](signIn, chromedp.EvalAwaitPromise)); err != nil || status != 201 {
		b.Fatalf("sign in: %d %v", status, err)
	}
	painted := `(document.querySelector('.summary') || {}).textContent === '100000 users · page 1 of 5000'` +
		` && document.querySelectorAll('tbody tr').length === 20`
	for b.Loop() {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/console/users")); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](painted, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			b.Fatal(err)
		}
	}
}
