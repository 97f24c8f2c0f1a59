package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	jose "github.com/go-jose/go-jose/v4"
)

// TestConsoleBrowser_APIClients drives Flip's flow through the API clients
// page in headless Chromium: create a client with a fixed id and a role,
// its secret visible exactly once, edit, disable and enable (checked at the
// token endpoint), a new secret, its service user's keys (generate with the
// key file downloaded and used for a JWT bearer assertion, upload, delete
// after a confirmation), delete after a "cannot be undone" dialog, and
// paging and search over 21 clients. apitest checks the data file's
// integrity at the end.
func TestConsoleBrowser_APIClients(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	orders := e.createResource(t, "Orders", "https://orders.example.com")
	scopes := e.createScopes(t, orders.ID, "read", "write")
	reader := e.createRole(t, "orders-reader", "MachineToMachine", scopes[0])
	writer := e.createRole(t, "orders-writer", "MachineToMachine", scopes[1])
	e.createRole(t, "people", "User") // not offered: API clients take machine-to-machine roles only

	b := newBrowser(t, e.URL)
	downloads := t.TempDir()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	click := func(xpath string) {
		t.Helper()
		b.do("click "+xpath, chromedp.Click(chromedp.Search(xpath)))
	}
	pageHas := func(s string) bool {
		t.Helper()
		return eval[bool](b, fmt.Sprintf(`document.documentElement.outerHTML.includes(%q) || document.body.innerText.includes(%q)`, s, s))
	}

	// Signing in on /console/api-clients lands on the page.
	b.do("open the page", chromedp.Navigate(e.URL+"/console/api-clients"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), e.ClientID),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), e.ClientSecret+"\r"))
	b.waitText(`.summary`, "0 API clients · page 1 of 1")
	b.waitText(`tbody`, "No API clients.")

	// Create, with the roles to pick from being the machine-to-machine ones.
	click(`//button[text()="New API client"]`)
	b.do("create form", chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)))
	if got := eval[[]string](b, `[...document.querySelectorAll('fieldset.roles label')].map(l => l.textContent)`); strings.Join(got, ",") != "Logto Management API access,orders-reader,orders-writer" {
		t.Errorf("roles offered %q", got)
	}
	if !eval[bool](b, `[...document.querySelectorAll('input, select, textarea')].every(i => i.labels.length > 0)`) {
		t.Error("an input of the create form has no label")
	}
	if got := eval[string](b, `document.activeElement.name`); got != "clientId" {
		t.Errorf("the create form focuses %q", got)
	}
	b.do("fill the form", chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), "ci-deployer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=firstName]`), "CI"),
		chromedp.SendKeys(chromedp.CSS(`input[name=lastName]`), "Deployer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=description]`), "deploys"))
	click(`//label[text()="orders-reader"]`)
	click(`//button[text()="Create API client"]`)

	// The secret, once: on the page, with the warning, and it works.
	b.waitText(`.secret-panel`, "This secret will not be shown again")
	secret := eval[string](b, `document.getElementById('new-secret').textContent`)
	if len(secret) < 20 {
		t.Fatalf("secret shown: %q", secret)
	}
	b.waitText(`tbody`, "ci-deployer")
	b.waitText(`tbody`, "CI Deployer")
	b.waitText(`tbody`, "orders-reader")
	b.screenshot("console-api-clients-secret")
	if r := e.clientCredentials(t, "ci-deployer", secret, orders.Indicator, "read"); r.Status != http.StatusOK {
		t.Fatalf("the shown secret at the token endpoint: %d %s", r.Status, r.Body)
	}
	click(`//button[text()="Copy"]`)
	b.waitText(`.copied`, "C") // "Copied." or, without clipboard access, "Selected: press Ctrl+C to copy."
	if copied := eval[string](b, `document.querySelector('.copied').textContent`); copied != "Copied." &&
		!(strings.HasPrefix(copied, "Selected") && eval[string](b, `String(window.getSelection())`) == secret) {
		t.Errorf("Copy: %q", copied)
	}

	// Never again: not after navigating away and back, not after a reload.
	click(`//nav//a[text()="Users"]`)
	b.waitText(`main h1`, "Users")
	click(`//nav//a[text()="API clients"]`)
	b.waitText(`.summary`, "1 API client · page 1 of 1")
	b.waitText(`tbody`, "ci-deployer")
	if pageHas(secret) {
		t.Error("the secret is on the page again after navigating away and back")
	}
	b.do("reload", chromedp.Reload())
	b.waitText(`.summary`, "1 API client")
	if pageHas(secret) {
		t.Error("the secret is on the page after a reload")
	}
	b.screenshot("console-api-clients")

	// Edit description, names and roles.
	click(`//tr[td[text()="ci-deployer"]]//button[text()="Open"]`)
	b.waitText(`main h1`, "ci-deployer")
	b.do("edit", chromedp.SetValue(chromedp.CSS(`input[name=firstName]`), "Build"),
		chromedp.SetValue(chromedp.CSS(`input[name=description]`), "deploys prod"))
	click(`//label[text()="orders-writer"]`)
	click(`//button[text()="Save changes"]`)
	b.waitText(`.summary[role=status]`, "Saved.")
	var c apiClient
	e.do(t, "GET", "/api/api-clients/ci-deployer", nil, http.StatusOK, &c)
	if c.FirstName != "Build" || c.LastName != "Deployer" || c.Description == nil || *c.Description != "deploys prod" ||
		strings.Join(c.RoleIDs, ",") != join(reader.ID, writer.ID) && strings.Join(c.RoleIDs, ",") != join(writer.ID, reader.ID) {
		t.Errorf("after the edit: %+v", c)
	}

	// Disable: the token endpoint refuses the client; enable: it answers.
	click(`//button[text()="Disable"]`)
	b.waitText(`.state`, "Disabled")
	wantTokenError(t, e.clientCredentials(t, "ci-deployer", secret, orders.Indicator, "read"), http.StatusUnauthorized,
		"invalid_client", "client is disabled")
	click(`//button[text()="Enable"]`)
	b.waitText(`.state`, "Active")
	if r := e.clientCredentials(t, "ci-deployer", secret, orders.Indicator, "read write"); r.Status != http.StatusOK ||
		!strings.Contains(string(r.Body), "read write") {
		t.Errorf("token after enable: %d %s", r.Status, r.Body)
	}

	// A new secret, after a dialog: shown once, the old one refused.
	click(`//button[text()="New secret"]`)
	b.waitText(`dialog[open]`, "stops working at once")
	click(`//dialog//button[text()="Make new secret"]`)
	b.waitText(`.secret-panel`, "This secret will not be shown again")
	old := secret
	secret = eval[string](b, `document.getElementById('new-secret').textContent`)
	if len(secret) < 20 || secret == old {
		t.Fatalf("new secret shown: %q (old %q)", secret, old)
	}
	wantTokenError(t, e.clientCredentials(t, "ci-deployer", old, orders.Indicator, "read"), http.StatusUnauthorized, "invalid_client", "")
	if r := e.clientCredentials(t, "ci-deployer", secret, orders.Indicator, "read"); r.Status != http.StatusOK {
		t.Errorf("the new secret at the token endpoint: %d %s", r.Status, r.Body)
	}
	click(`//button[text()="Done"]`)
	if pageHas(secret) {
		t.Error("the new secret stays on the page after Done")
	}

	// Generate a key: the key file is downloaded, and it signs an
	// assertion that gets a token; the private key is not on the page.
	b.do("ES256", chromedp.SetValue(chromedp.CSS(`select[name=algorithm]`), "ES256"))
	click(`//button[text()="Generate key"]`)
	b.waitText(`.summary[role=status]`, "will not be offered again")
	kf := waitKeyFile(t, downloads)
	if kf.Type != "serviceaccount" || kf.ClientID != "ci-deployer" || kf.UserID != c.UserID {
		t.Errorf("key file %+v", kf)
	}
	if pageHas(strings.Split(strings.TrimSpace(kf.Key), "\n")[1]) {
		t.Error("the private key is on the page")
	}
	_, signer := parsePrivatePEM(t, kf.Key)
	if _, ok := signer.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("an ES256 key file holds a %T", signer)
	}
	claims := map[string]any{"iss": c.UserID, "sub": c.UserID, "aud": e.URL + "/oidc", "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Minute).Unix()}
	if r := e.bearer(t, signAssertion(t, signer, jose.ES256, kf.KeyID, claims),
		map[string][]string{"resource": {orders.Indicator}, "scope": {"read"}}); r.Status != http.StatusOK {
		t.Errorf("jwt-bearer with the downloaded key: %d %s", r.Status, r.Body)
	}
	b.waitText(`table.keys tbody`, kf.KeyID)
	b.waitText(`table.keys tbody`, "generated")

	// Upload a public key (Ed25519), which then signs assertions too.
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	b.do("paste PEM", chromedp.SetValue(chromedp.CSS(`textarea[name=publicKey]`), string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))))
	click(`//button[text()="Upload key"]`)
	b.waitText(`.summary[role=status]`, "uploaded")
	b.waitText(`table.keys tbody`, "EdDSA")
	var keys []userKey
	e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 2 {
		t.Fatalf("keys after generate and upload: %+v", keys)
	}
	uploaded := keys[0]
	if uploaded.KeyID == kf.KeyID {
		uploaded = keys[1]
	}
	if r := e.bearer(t, signAssertion(t, priv, jose.EdDSA, uploaded.KeyID, claims),
		map[string][]string{"resource": {orders.Indicator}}); r.Status != http.StatusOK {
		t.Errorf("jwt-bearer with the uploaded key: %d %s", r.Status, r.Body)
	}
	b.screenshot("console-api-client-detail")

	// Delete the generated key: Cancel keeps it, the dialog's Delete key
	// deletes it.
	row := fmt.Sprintf(`//tr[td[text()=%q]]//button[text()="Delete key"]`, kf.KeyID)
	click(row)
	b.waitText(`dialog[open]`, "cannot be undone")
	click(`//dialog//button[text()="Cancel"]`)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`!document.querySelector('dialog')`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("the dialog stays after Cancel: %v", err)
	}
	e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 2 {
		t.Fatalf("after Cancel: %d keys", len(keys))
	}
	click(row)
	click(`//dialog//button[text()="Delete key"]`)
	b.waitText(`.summary[role=status]`, "Deleted key "+kf.KeyID)
	e.do(t, "GET", "/api/users/"+c.UserID+"/keys", nil, http.StatusOK, &keys)
	if len(keys) != 1 || keys[0].KeyID != uploaded.KeyID {
		t.Errorf("keys after the delete: %+v", keys)
	}
	if r := e.bearer(t, signAssertion(t, signer, jose.ES256, kf.KeyID, claims),
		map[string][]string{"resource": {orders.Indicator}}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "invalid_grant") {
		t.Errorf("jwt-bearer with the deleted key: %d %s", r.Status, r.Body)
	}

	// Phone width: the detail and the list do not scroll sideways.
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Errorf("the API client's detail scrolls sideways at phone width: %s", eval[string](b,
			`[...document.querySelectorAll('main *')].filter(x => x.getBoundingClientRect().right > window.innerWidth).slice(0, 5).map(x => x.tagName + '.' + x.className).join(' ')`))
	}
	b.screenshot("console-api-client-detail-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Delete the client, after the dialog.
	click(`//button[text()="Delete"]`)
	b.waitText(`dialog[open]`, "cannot be undone")
	b.screenshot("console-api-client-delete")
	click(`//dialog//button[text()="Delete API client"]`)
	b.waitText(`.summary`, "0 API clients")
	b.waitText(`[role=status]`, "Deleted ci-deployer.")
	e.do(t, "GET", "/api/api-clients/ci-deployer", nil, http.StatusNotFound, nil)
	wantTokenError(t, e.clientCredentials(t, "ci-deployer", secret, orders.Indicator, "read"), http.StatusUnauthorized,
		"invalid_client", "")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the API clients list scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Paging with the total, and search.
	for i := range 21 {
		e.createAPIClient(t, fmt.Sprintf("batch-%02d", i), reader)
	}
	b.do("reload", chromedp.Reload())
	b.waitText(`.summary`, "21 API clients · page 1 of 2")
	if n := eval[int](b, `document.querySelectorAll('table.clients tbody tr').length`); n != 20 {
		t.Errorf("first page shows %d clients, want 20", n)
	}
	click(`//button[text()="Next page"]`)
	b.waitText(`.summary`, "21 API clients · page 2 of 2")
	if n := eval[int](b, `document.querySelectorAll('table.clients tbody tr').length`); n != 1 {
		t.Errorf("second page shows %d clients, want 1", n)
	}
	b.do("search", chromedp.SetValue(chromedp.ID("client-search"), "batch-1"))
	click(`//button[text()="Search"]`)
	b.waitText(`.summary`, "10 API clients · page 1 of 1")

	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// waitKeyFile waits for one finished .json download in dir and returns it.
func waitKeyFile(t *testing.T, dir string) keyFile {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		names, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(names) == 0 {
			continue
		}
		if len(names) > 1 {
			t.Fatalf("downloads %q, want one key file", names)
		}
		data, err := os.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		var kf keyFile
		if err := json.Unmarshal(data, &kf); err != nil {
			continue // still being written
		}
		if !strings.HasSuffix(names[0], "ci-deployer-"+kf.KeyID+".json") {
			t.Errorf("key file named %s", filepath.Base(names[0]))
		}
		return kf
	}
	t.Fatalf("no key file downloaded into %s", dir)
	return keyFile{}
}
