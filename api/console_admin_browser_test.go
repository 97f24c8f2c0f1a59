package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/cluster"
)

// The Signing keys page and the instance administrators' pages (Tenants,
// Cluster) in headless Chromium.

// verifiedKid checks token's signature against the tenant default's JWKS,
// as a resource server would, and returns the key id it was signed with.
func verifiedKid(t *testing.T, base, token string) string {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		t.Fatalf("parse token: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	var set jose.JSONWebKeySet
	call(t, "GET", base+"/oidc/jwks", "", nil).JSON(t, &set)
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %s is not in the JWKS", kid)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("the token does not verify against the JWKS key %s: %v", kid, err)
	}
	return kid
}

// listedKeyIDs returns the ids of tenant default's private keys, current first.
func listedKeyIDs(t *testing.T, e *env) []string {
	t.Helper()
	var keys []map[string]any
	e.do(t, "GET", "/api/configs/oidc/private-keys", nil, http.StatusOK, &keys)
	var ids []string
	for _, k := range keys {
		for field := range k {
			if !slices.Contains([]string{"id", "createdAt", "signingKeyAlgorithm", "status"}, field) {
				t.Errorf("a listed key has the field %q", field)
			}
		}
		ids = append(ids, k["id"].(string))
	}
	return ids
}

// allLabelled fails the test unless every input, select and textarea on
// the page has a label.
func (b *browser) allLabelled(page string) {
	b.t.Helper()
	if !eval[bool](b, `[...document.querySelectorAll('input, select, textarea')].every(i => i.labels.length > 0)`) {
		b.t.Errorf("%s: an input has no label", page)
	}
}

// withoutRefusalsOf drops from the browser's console errors the network log
// line of each answer with status to a request of path: the browser
// reports every refused fetch, and these are the refusals the test
// provokes and the page shows.
func withoutRefusalsOf(errs []string, base string, refusals map[string]int) []string {
	return slices.DeleteFunc(errs, func(s string) bool {
		for path, status := range refusals {
			if strings.Contains(s, fmt.Sprintf("status of %d", status)) && strings.HasSuffix(s, "(network "+base+path+")") {
				return true
			}
		}
		return false
	})
}

// TestConsoleBrowser_SigningKeys: the page lists the keys without material;
// Rotate, after a dialog that says the current key's tokens stay valid,
// makes a new key sign (a new token carries its kid and verifies against
// the JWKS); a second rotation is refused by the API while the previous
// key's tokens may be live, and the page then offers to drop it behind a
// second dialog (Cancel keeps it; confirming cuts its tokens off).
func TestConsoleBrowser_SigningKeys(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	first := e.token
	firstKid := verifiedKid(t, e.URL, first)
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)
	b.clickByText("nav", "Signing keys")
	b.waitText(`main h1`, "Signing keys")
	b.waitText(`table.private-keys`, firstKid)
	b.waitText(`table.private-keys`, "Current")
	if got := listedKeyIDs(t, e); !slices.Equal(got, []string{firstKid}) {
		t.Fatalf("keys before rotation %v", got)
	}
	if text := eval[string](b, `document.querySelector('main').textContent`); strings.Contains(text, "BEGIN") || strings.Contains(text, `"d"`) {
		t.Fatalf("the page shows key material: %s", text)
	}

	// Rotate: the dialog explains, then a new key signs.
	b.clickByText("main", "Rotate private keys")
	b.waitText(`dialog.confirm`, "Tokens signed by the current key stay valid")
	b.clickByText("dialog", "Rotate")
	b.waitText(`#keys-status`, "signs from now on")
	keys := listedKeyIDs(t, e)
	if len(keys) != 2 || keys[1] != firstKid {
		t.Fatalf("keys after rotation %v, want a new one and %s", keys, firstKid)
	}
	second := keys[0]
	b.waitText(`#keys-status`, second)
	b.waitTrue("the table shows both keys", fmt.Sprintf(`(() => { const t = document.querySelector('table.private-keys').textContent;
		return t.includes(%q) && t.includes(%q) && t.includes('Previous'); })()`, second, firstKid))
	fresh := e.ManagementToken(t, "default")
	if kid := verifiedKid(t, e.URL, fresh); kid != second {
		t.Errorf("a token after the rotation is signed by %s, want the new key %s", kid, second)
	}
	if r := call(t, "GET", e.URL+"/api/users", first, nil); r.Status != 200 {
		t.Errorf("a token of the previous key after one rotation: %d %s", r.Status, r.Body)
	}
	b.screenshot("console-signing-keys")

	// Again: the API refuses while the previous key's tokens may be live;
	// the second dialog says what dropping it costs. Cancel keeps it.
	rotateAgain := func() {
		t.Helper()
		b.clickByText("main", "Rotate private keys")
		b.waitText(`dialog.confirm`, "stay valid")
		b.clickByText("dialog", "Rotate")
		b.waitText(`dialog.confirm`, "tokens signed by it stop verifying")
	}
	rotateAgain()
	b.screenshot("console-signing-keys-drop")
	b.clickByText("dialog", "Cancel")
	b.waitText(`#keys-status`, "Not rotated: the previous key stays.")
	if got := listedKeyIDs(t, e); !slices.Equal(got, keys) {
		t.Fatalf("Cancel changed the keys: %v, want %v", got, keys)
	}
	rotateAgain()
	b.clickByText("dialog", "Rotate and drop the previous key")
	b.waitText(`#keys-status`, "signs from now on")
	e.token = e.ManagementToken(t, "default")
	keys = listedKeyIDs(t, e)
	if len(keys) != 2 || keys[1] != second || keys[0] == second {
		t.Fatalf("keys after dropping the previous one %v, want a new one and %s", keys, second)
	}
	b.waitTrue("the dropped key leaves the table", fmt.Sprintf(`!document.querySelector('table.private-keys').textContent.includes(%q)`, firstKid))
	if r := call(t, "GET", e.URL+"/api/users", first, nil); r.Status != 401 {
		t.Errorf("a token of the dropped key: %d, want 401", r.Status)
	}
	if kid := verifiedKid(t, e.URL, e.token); kid != keys[0] {
		t.Errorf("a token after the second rotation is signed by %s, want %s", kid, keys[0])
	}

	// Cookie keys rotate after a dialog too, with no second step.
	b.clickByText("main", "Rotate cookie keys")
	b.waitText(`dialog.confirm`, "seals cookies")
	b.clickByText("dialog", "Rotate")
	b.waitText(`#keys-status`, "Rotated the cookie keys")
	b.waitTrue("a cookie key is listed", `document.querySelectorAll('table.cookie-keys tbody td.mono').length >= 1`)

	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Signing keys page scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))
	if errs := withoutRefusalsOf(b.consoleErrors(), e.URL, map[string]int{"/console/api/configs/oidc/private-keys/rotate": 422}); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestConsoleBrowser_Tenants: an instance administrator sees Tenants and
// Cluster; creates a tenant (its admin secret shown once, and working),
// sets its rate limit and CORS origins (a bad origin's refusal shown),
// sees tenant default's deletion refused, deletes the new tenant through
// the dialog; the Cluster page says plainly that the server is no
// cluster. A client that is no instance administrator sees neither link.
func TestConsoleBrowser_Tenants(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	sys := e.SystemToken(t)
	for i := range 21 { // 22 tenants: two pages
		if r := call(t, "POST", e.URL+"/system/tenants", sys, map[string]any{"id": fmt.Sprintf("t%02d", i)}); r.Status != 201 {
			t.Fatalf("create tenant: %d %s", r.Status, r.Body)
		}
	}
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)
	nav := eval[[]string](b, `[...document.querySelectorAll('nav a')].map(a => a.textContent)`)
	for _, want := range []string{"Signing keys", "Tenants", "Cluster"} {
		if !slices.Contains(nav, want) {
			t.Errorf("an instance administrator's navigation %q lacks %q", nav, want)
		}
	}

	b.clickByText("nav", "Tenants")
	b.waitText(`.summary`, "22 tenants · page 1 of 2")
	if n := eval[int](b, `document.querySelectorAll('#tenant-list tbody tr').length`); n != 20 {
		t.Errorf("the first page shows %d tenants, want 20", n)
	}
	b.clickByText("main", "Next page")
	b.waitText(`.summary`, "22 tenants · page 2 of 2")
	if n := eval[int](b, `document.querySelectorAll('#tenant-list tbody tr').length`); n != 2 {
		t.Errorf("the second page shows %d tenants, want 2", n)
	}
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Tenants page scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))
	b.clickByText("main", "Create tenant")
	b.allLabelled("Tenants")
	b.fillByID("new-tenant-id", "acme")
	// With the keyboard: Enter in the form submits it.
	b.do("name, Enter", chromedp.SendKeys(chromedp.ID("new-tenant-name"), "Acme Corp\r"))
	b.waitText(`.secret-panel`, "This secret will not be shown again")
	b.waitText(`.summary`, "23 tenants · page 1 of 2")
	clientID := eval[string](b, `document.getElementById('new-tenant-client-id').textContent`)
	secret := eval[string](b, `document.getElementById('new-tenant-secret').textContent`)
	if tok := apitest.Token(t, e.URL, "acme", clientID, secret, store.ManagementIndicator("acme"), "all"); tok == "" {
		t.Fatal("the shown credentials got no token")
	}
	b.screenshot("console-tenants")

	// The tenant's page: rate limit, CORS origins.
	b.clickByText("main", "Open acme")
	b.waitText(`main h1`, "Acme Corp")
	b.waitText(`#tenant-status`, "server default")
	b.fillByID("tenant-rate-requests", "50")
	b.allLabelled("a tenant's page")
	b.fillByID("tenant-rate-per", "60")
	b.clickByText("main", "Save rate limit")
	b.waitText(`#tenant-rate-saved`, "Saved.")
	b.waitText(`#tenant-status`, "50 per 60 s")
	b.fillByID("tenant-cors", "https://app.acme.example/path")
	b.clickByText("main", "Save origins")
	b.waitText(`#tenant-cors-error`, "Could not save the allowed origins")
	b.fillByID("tenant-cors", "https://app.acme.example\nhttps://admin.acme.example:8443")
	b.clickByText("main", "Save origins")
	b.waitText(`#tenant-cors-saved`, "Saved.")
	var acme struct {
		Name        string
		RateLimit   *struct{ Requests, PerSeconds int } `json:"rateLimit"`
		CORSOrigins []string                            `json:"corsAllowedOrigins"`
	}
	call(t, "GET", e.URL+"/system/tenants/acme", sys, nil).JSON(t, &acme)
	if acme.Name != "Acme Corp" || acme.RateLimit == nil || acme.RateLimit.Requests != 50 || acme.RateLimit.PerSeconds != 60 ||
		!slices.Equal(acme.CORSOrigins, []string{"https://app.acme.example", "https://admin.acme.example:8443"}) {
		t.Errorf("acme after the page's edits: %+v", acme)
	}
	b.clickByText("main", "Use the server default")
	b.waitText(`#tenant-status`, "server default")
	eval[bool](b, `(window.scrollTo(0, 0), true)`)
	b.screenshot("console-tenant")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the tenant's page scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Delete, through the dialog.
	b.clickByText("main", "Delete tenant")
	b.waitText(`dialog.confirm`, "This cannot be undone")
	b.clickByText("dialog", "Delete tenant")
	b.waitText(`.summary`, "22 tenants · page 1 of 2")
	if r := call(t, "GET", e.URL+"/system/tenants/acme", sys, nil); r.Status != 404 {
		t.Errorf("acme after the page deleted it: %d %s", r.Status, r.Body)
	}
	// Tenant default's deletion: the API's refusal, in place.
	b.do("open default", chromedp.Click(chromedp.Search(`//table[@id="tenant-list"]//a[@href="/console/tenants/default"]`)))
	b.waitText(`#tenant-status`, "ID default")
	b.clickByText("main", "Delete tenant")
	b.clickByText("dialog", "Delete tenant")
	b.waitText(`#tenant-delete-error`, "Tenant default cannot be deleted.")

	// Cluster: this server runs without cluster flags, and says so.
	b.clickByText("nav", "Cluster")
	b.waitText(`#cluster-summary`, "This server does not run in cluster mode")
	if eval[bool](b, `!!document.querySelector('#cluster-nodes') && !document.querySelector('#cluster-nodes').closest('[hidden]')`) {
		t.Error("the Cluster page shows a node table without cluster mode")
	}
	b.screenshot("console-cluster-single")

	if errs := withoutRefusalsOf(b.consoleErrors(), e.URL, map[string]int{"/console/system/tenants/acme": 400,
		"/console/system/tenants/default": 422, "/console/system/cluster": 404}); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}

	// A client with every manager role of the tenant, but no instance
	// administrator: no Tenants or Cluster link, and a deep link falls
	// back to Users.
	bot := e.createAPIClient(t, "tenant-owner-bot")
	e.do(t, "POST", "/api/managers", map[string]any{"clientId": bot.ClientID, "roles": []string{"IAM_OWNER"}}, http.StatusCreated, nil)
	b.clickByText("header", "Sign out")
	b.do("wait for sign-in", chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)))
	b.signInWithClient(bot.ClientID, bot.ClientSecret)
	nav = eval[[]string](b, `[...document.querySelectorAll('nav a')].map(a => a.textContent)`)
	if slices.Contains(nav, "Tenants") || slices.Contains(nav, "Cluster") || !slices.Contains(nav, "Signing keys") {
		t.Errorf("a non-administrator's navigation %q", nav)
	}
	b.do("deep link", chromedp.Navigate(e.URL+"/console/tenants"))
	b.waitText(`main h1`, "Users")
	if !strings.HasSuffix(eval[string](b, `location.pathname`), "/console/users") {
		t.Errorf("a non-administrator's deep link to /console/tenants stays at %s", eval[string](b, `location.pathname`))
	}
	if errs := withoutRefusalsOf(b.consoleErrors(), e.URL, map[string]int{"/console/system/tenants/acme": 400,
		"/console/system/tenants/default": 422, "/console/system/cluster": 404}); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// statusCluster is a leader whose GET /system/cluster shows status, and
// which records the nodes it is asked to add and remove.
type statusCluster struct {
	fakeCluster
	status  cluster.Status
	changes []string
}

func (c *statusCluster) Status(context.Context) (cluster.Status, error) { return c.status, nil }

func (c *statusCluster) AddVoter(_ context.Context, id, raftAddr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, "add "+id+" "+raftAddr)
	return nil
}

func (c *statusCluster) RemoveServer(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.changes = append(c.changes, "remove "+id)
	return nil
}

// TestConsoleBrowser_Cluster: the Cluster page of a node in cluster mode
// (a stand-in leader, as api's cluster tests use) shows every node with
// its raft address, URL, state, applied index and last contact, marks the
// leader, and removes a node only after a dialog.
func TestConsoleBrowser_Cluster(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	contact := time.Now().Add(-5 * time.Second).UnixMilli()
	old := int64(1_700_000_000_000) // 2023-11-14 22:13:20 UTC
	c := &statusCluster{fakeCluster: fakeCluster{leader: true}, status: cluster.Status{Leader: "n1", Nodes: []cluster.NodeStatus{
		{ID: "n1", RaftAddr: "10.0.0.1:7001", URL: "https://n1.example:3001", State: "leader", AppliedIndex: 1234, LastContact: &contact},
		{ID: "n2", RaftAddr: "10.0.0.2:7001", URL: "https://n2.example:3001", State: "follower", AppliedIndex: 1230, LastContact: &old},
		{ID: "n3", RaftAddr: "10.0.0.3:7001", State: "unreachable"},
	}}}
	e := newEnv(t, apitest.Options{Cluster: c})
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)
	b.clickByText("nav", "Cluster")
	b.waitText(`#cluster-summary`, "3 nodes · leader n1")
	rows := eval[[]string](b, `[...document.querySelectorAll('#cluster-nodes tbody tr')].map(r => [...r.cells].map(c => c.textContent).join('|'))`)
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "n1 (leader)|10.0.0.1:7001|https://n1.example:3001|leader|1234|") ||
		!strings.Contains(rows[0], " s ago|") ||
		!strings.HasPrefix(rows[1], "n2|10.0.0.2:7001|https://n2.example:3001|follower|1230|2023-11-14 22:13:20 UTC|") ||
		!strings.Contains(rows[2], "|unreachable|0|never|") {
		t.Errorf("cluster rows %q", rows)
	}
	if n := eval[int](b, `document.querySelectorAll('#cluster-nodes tr.leader').length`); n != 1 {
		t.Errorf("%d rows marked leader, want 1", n)
	}
	if eval[bool](b, `[...document.querySelector('#cluster-nodes tr.leader').querySelectorAll('button')].length > 0`) {
		t.Error("the leader's row offers Remove node")
	}
	b.allLabelled("Cluster")
	b.screenshot("console-cluster")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the Cluster page scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Remove n3: Cancel does nothing, the dialog's button removes.
	b.do("remove n3", chromedp.Click(chromedp.Search(`//table[@id="cluster-nodes"]//tr[3]//button[text()="Remove node"]`)))
	b.waitText(`dialog.confirm`, "Remove the node n3 from the cluster?")
	b.clickByText("dialog", "Cancel")
	b.do("remove n3", chromedp.Click(chromedp.Search(`//table[@id="cluster-nodes"]//tr[3]//button[text()="Remove node"]`)))
	b.clickByText("dialog", "Remove node")
	b.waitText(`#cluster-done`, "Removed the node n3.")
	b.fillByID("cluster-node-id", "n4")
	b.fillByID("cluster-node-addr", "10.0.0.4:7001")
	b.clickByText("main", "Add node")
	b.waitText(`#cluster-done`, "Added the node n4.")
	c.mu.Lock()
	if want := []string{"remove n3", "add n4 10.0.0.4:7001"}; !slices.Equal(c.changes, want) {
		t.Errorf("the cluster was asked %q, want %q", c.changes, want)
	}
	c.mu.Unlock()
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}
