package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idbolt/idbolt/store"
)

// signInWithClient opens the console and signs in with the tenant's
// bootstrap client, then waits for the Users page.
func (b *browser) signInWithClient(id, secret string) {
	b.t.Helper()
	b.do("open the console", chromedp.Navigate(b.base+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)))
	b.do("sign in", chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), id),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), secret+"\r"))
	b.waitText(`main h1`, "Users")
}

// clickByText presses the button (or link) whose text is exactly text, inside
// the element sel.
func (b *browser) clickByText(sel, text string) {
	b.t.Helper()
	xpath := fmt.Sprintf(`//%s//*[self::button or self::a][normalize-space(text())=%q]`, sel, text)
	b.waitStill(xpath)
	b.do("click "+text, chromedp.Click(chromedp.Search(xpath)))
}

// waitStill waits until the element xpath finds has stayed in place for a
// few frames: a click goes to the point where the element was, and a page
// still filling in (a card loaded after the heading) would move it away.
func (b *browser) waitStill(xpath string) {
	b.t.Helper()
	b.waitTrue("element in place: "+xpath, fmt.Sprintf(`(() => {
		const e = document.evaluate(%q, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
		if (!e) return false;
		const r = e.getBoundingClientRect(), at = r.x + ',' + r.y;
		const still = window.stillAt === at && window.stillFor >= 2;
		window.stillFor = window.stillAt === at ? (window.stillFor || 0) + 1 : 0;
		window.stillAt = at;
		return still;
	})()`, xpath))
}

// fillByID sets the value of the input whose id is id.
func (b *browser) fillByID(id, value string) {
	b.t.Helper()
	b.do("fill "+id, chromedp.SetValue(chromedp.ID(id), value))
}

// The Applications, Roles and API resources pages: create an API resource
// and its scopes, a machine-to-machine role holding one of them, an
// application with that role and a new secret (shown once), and the token
// that secret gets carries the scope; then everything is deleted through
// the pages' dialogs, and the Management API resource's refusal shows.
func TestConsoleBrowser_AppsRolesResources(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)
	const indicator = "https://orders.example.com"

	// API resources: create, a scope created, its description edited, a
	// second scope deleted through the dialog.
	b.clickByText("nav", "API resources")
	b.waitText(`.summary`, "API resource")
	b.clickByText("main", "Create API resource")
	b.fillByID("new-resource-name", "Orders")
	b.fillByID("new-resource-indicator", indicator)
	b.fillByID("new-resource-ttl", "600")
	b.clickByText("main", "Create")
	b.waitText(`main h1`, "Orders")
	b.waitText(`.resource-scopes`, "No scopes.")
	for _, s := range []string{"read:orders", "write:orders"} {
		b.fillByID("scope-name", s)
		b.fillByID("scope-description", "first "+s)
		b.clickByText("main", "Create scope")
		b.waitText(`.resource-scopes`, s)
	}
	b.do("edit the description", chromedp.SetValue(chromedp.CSS(`.resource-scopes tbody tr:first-child input`), "Read the orders"))
	b.do("save it", chromedp.Click(chromedp.CSS(`.resource-scopes tbody tr:first-child button`)))
	b.waitText(`.summary`, "Saved the scope read:orders.")
	b.do("delete write:orders", chromedp.Click(chromedp.CSS(`.resource-scopes tbody tr:nth-child(2) button.secondary:last-child`)))
	b.waitText(`dialog.confirm`, "cannot be undone")
	b.clickByText("dialog", "Delete scope")
	b.waitText(`.summary`, "Deleted the scope write:orders.")
	var resources []struct {
		ID, Indicator  string
		AccessTokenTTL int `json:"accessTokenTtl"`
		Scopes         []struct{ Name, Description string }
	}
	e.do(t, "GET", "/api/resources?includeScopes=true", nil, http.StatusOK, &resources)
	var orders, management string
	for _, r := range resources {
		switch r.Indicator {
		case indicator:
			orders = r.ID
			if r.AccessTokenTTL != 600 || len(r.Scopes) != 1 || r.Scopes[0].Name != "read:orders" || r.Scopes[0].Description != "Read the orders" {
				t.Errorf("the resource made in the page is %+v", r)
			}
		case store.ManagementIndicator("default"):
			management = r.ID
		}
	}
	if orders == "" || management == "" {
		t.Fatalf("resources %+v lack Orders or the Management API", resources)
	}
	b.screenshot("console-api-resource")

	// Roles: create a machine-to-machine role, edit it, assign the scope.
	b.clickByText("nav", "Roles")
	b.waitText(`.summary`, "role")
	b.clickByText("main", "Create role")
	b.fillByID("new-role-name", "orders-reader")
	b.fillByID("new-role-description", "reads orders")
	b.do("type", chromedp.SetValue(chromedp.ID("new-role-type"), "MachineToMachine"))
	b.clickByText("main", "Create")
	b.waitText(`main h1`, "orders-reader")
	b.waitText(`.summary`, "MachineToMachine")
	b.fillByID("role-description", "Reads the orders")
	b.clickByText("main", "Save")
	b.waitText(`#role-saved`, "Saved.")
	b.waitText(`#role-scope-pick`, indicator+" · read:orders")
	b.do("pick the scope", chromedp.SetValue(chromedp.ID("role-scope-pick"), eval[string](b,
		`[...document.querySelectorAll('#role-scope-pick option')].find(o => o.textContent.endsWith('read:orders')).value`)))
	b.clickByText("main", "Assign scope")
	b.waitText(`.role-scopes`, "read:orders")
	b.screenshot("console-role")

	// Applications: paging with the total, then create one; its default
	// secret is shown once.
	for i := range 25 {
		e.do(t, "POST", "/api/applications", map[string]any{"name": fmt.Sprintf("spa%02d", i), "type": "SPA"}, http.StatusOK, nil)
	}
	apps := call(t, "GET", e.URL+"/api/applications?page_size=1", e.token, nil).Header.Get("Total-Number")
	b.clickByText("nav", "Applications")
	b.waitText(`.summary`, apps+" applications · page 1 of 2")
	if n := eval[int](b, `document.querySelectorAll('tbody tr').length`); n != 20 {
		t.Errorf("the first page of applications shows %d rows, want 20", n)
	}
	b.clickByText("main", "Next page")
	b.waitText(`.summary`, "page 2 of 2")
	b.clickByText("main", "Create application")
	b.fillByID("new-app-name", "Billing")
	b.do("type", chromedp.SetValue(chromedp.ID("new-app-type"), "MachineToMachine"))
	b.fillByID("new-app-description", "bills")
	b.clickByText("main", "Create")
	b.waitText(`main h1`, "Billing")
	b.waitText(`.secret-panel`, "will not be shown again")
	appID := strings.TrimPrefix(eval[string](b, `document.querySelector('.summary').textContent`), "MachineToMachine · ID ")
	b.fillByID("app-name", "Billing service")
	b.clickByText("main", "Save")
	b.waitText(`#app-saved`, "Saved.")
	b.waitText(`#app-role-pick`, "orders-reader")
	b.clickByText("main", "Assign role")
	b.waitText(`.app-roles`, "orders-reader")

	// A new secret: its value once, and it works at the token endpoint
	// with the role's scope.
	b.clickByText("main", "Done")
	b.fillByID("app-secret-name", "ci")
	b.clickByText("main", "Create secret")
	b.waitText(`.secret-panel`, "will not be shown again")
	secret := eval[string](b, `document.getElementById('new-app-secret').textContent`)
	b.waitText(`.app-secrets`, "ci")
	b.screenshot("console-application")
	r := e.clientCredentials(t, appID, secret, indicator, "read:orders")
	if r.Status != http.StatusOK {
		t.Fatalf("token with the page's secret: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tok)
	if scope, _ := tokenClaims(t, tok.AccessToken)["scope"].(string); !slices.Contains(strings.Fields(scope), "read:orders") {
		t.Errorf("token scope %q lacks read:orders", scope)
	}
	// Shown once: a reload shows no secret.
	b.do("reload", chromedp.Reload())
	b.waitText(`.app-secrets`, "ci")
	if eval[bool](b, `!!document.querySelector('.secret-panel') || document.body.textContent.includes(`+fmt.Sprintf("%q", secret)+`)`) {
		t.Error("the secret is shown again after a reload")
	}
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the application page scrolls sideways at phone width")
	}
	b.screenshot("console-application-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Delete the secret, then the application, through dialogs.
	b.do("delete ci", chromedp.Click(chromedp.Search(`//table[contains(@class,"app-secrets")]//tr[td[1][text()="ci"]]//button`)))
	b.waitText(`dialog.confirm`, "cannot be undone")
	b.clickByText("dialog", "Delete secret")
	b.waitText(`.summary`, "Deleted the secret ci.")
	if r := e.clientCredentials(t, appID, secret, indicator, "read:orders"); r.Status == http.StatusOK {
		t.Error("the deleted secret still gets tokens")
	}
	b.clickByText("main", "Delete application")
	b.waitText(`dialog.confirm`, "cannot be undone")
	b.clickByText("dialog", "Delete application")
	b.waitText(`main h1`, "Applications")
	b.waitText(`.summary`, "application")
	e.do(t, "GET", "/api/applications/"+appID, nil, http.StatusNotFound, nil)

	// The role, through its dialog.
	b.trackFetches()
	b.clickByText("nav", "Roles")
	b.clickByText("main", "orders-reader")
	b.waitText(`main h1`, "orders-reader")
	// The role's cards fill in after the heading, moving the Delete card
	// down: a click aimed before they settle may land elsewhere.
	b.settle()
	// Escape (the keyboard's way out) cancels: focus starts on Cancel and
	// the role stays.
	b.clickByText("main", "Delete role")
	b.waitText(`dialog.confirm`, "cannot be undone")
	if got := eval[string](b, `document.activeElement.textContent`); got != "Cancel" {
		t.Errorf("the dialog's focus is on %q, want Cancel", got)
	}
	b.do("escape", chromedp.KeyEvent("\x1b"))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`!document.querySelector('dialog')`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatal("Escape left the dialog open")
	}
	b.clickByText("main", "Delete role")
	b.waitText(`dialog.confirm`, "cannot be undone")
	b.clickByText("dialog", "Delete role")
	b.waitText(`main h1`, "Roles")
	b.waitText(`.summary`, "role")
	if strings.Contains(eval[string](b, `document.querySelector('tbody').textContent`), "orders-reader") {
		t.Error("the deleted role is still listed")
	}

	// The Management API resource refuses; Orders goes.
	b.do("open the Management API", chromedp.Navigate(e.URL+"/console/api-resources/"+management))
	b.waitText(`.resource-scopes`, "all")
	b.clickByText("main", "Delete API resource")
	b.clickByText("dialog", "Delete API resource")
	b.waitText(`#resource-delete-error`, "Could not delete the API resource")
	t.Logf("the refusal reads: %s", eval[string](b, `document.getElementById('resource-delete-error').textContent`))
	b.do("open Orders", chromedp.Navigate(e.URL+"/console/api-resources/"+orders))
	b.waitText(`main h1`, "Orders")
	b.clickByText("main", "Delete API resource")
	b.clickByText("dialog", "Delete API resource")
	b.waitText(`main h1`, "API resources")
	e.do(t, "GET", "/api/resources/"+orders, nil, http.StatusNotFound, nil)

	// The browser logs the Management API's deliberate refusal (a 400 to
	// the DELETE) as a failed load; every other error is a defect.
	refusal := "400 (Bad Request) (network " + e.URL + "/console/api/resources/" + management + ")"
	if errs := slices.DeleteFunc(b.consoleErrors(), func(m string) bool { return strings.HasSuffix(m, refusal) }); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
	t.Logf("screenshots in %s", b.dir)
}
