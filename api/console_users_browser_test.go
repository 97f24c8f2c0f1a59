package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/idbolt/idbolt/api/apitest"
)

// The Users page's create and detail views in headless Chromium: every
// change made in the page is checked through the Management API, and a
// manager whose roles forbid a change sees the refusal in the page.

// consoleEntity is the id and name of a created entity.
type consoleEntity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// clickButton clicks the button whose text is text.
func (b *browser) clickButton(text string) {
	b.t.Helper()
	b.do("click "+text, chromedp.Click(chromedp.Search(fmt.Sprintf(`//button[text()=%q]`, text))))
}

// waitTrue waits until the JavaScript expression js is true.
func (b *browser) waitTrue(what, js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// trackFetches counts the page's requests in flight, for settle; a
// navigation forgets it, so call it again after one.
func (b *browser) trackFetches() {
	b.t.Helper()
	eval[bool](b, `(() => {
		if (window.inFlight !== undefined) return true;
		window.inFlight = 0;
		const fetch = window.fetch;
		window.fetch = (...args) => { window.inFlight++; return fetch(...args).finally(() => window.inFlight--); };
		return true;
	})()`)
}

// settle waits until no request of the page is in flight, so that what the
// server holds is what the page did.
func (b *browser) settle() {
	b.t.Helper()
	b.waitTrue("requests in flight", `window.inFlight === 0`)
}

// withoutRefusals drops, from the browser's console errors, the network
// log lines of answers with one of statuses under /console/api: the browser
// reports every refused fetch, and these refusals are what the test
// provokes and the page shows.
func withoutRefusals(errs []string, statuses ...int) []string {
	return slices.DeleteFunc(errs, func(s string) bool {
		for _, status := range statuses {
			if strings.Contains(s, fmt.Sprintf("status of %d", status)) && strings.Contains(s, "(network ") && strings.Contains(s, "/console/api/") {
				return true
			}
		}
		return false
	})
}

// TestConsole_UserPagePaths: a user's page is a page of the client-side
// router, served as index.html with the console's headers, and its module
// is served as JavaScript.
func TestConsole_UserPagePaths(t *testing.T) {
	srv := apitest.Start(t)
	c := newConsoleClient(t, srv.URL)
	for _, path := range []string{"/console/users/abc123def456", "/console/users/abc123def456/"} {
		r := c.send("GET", path, nil, nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!bytes.Contains(r.Body, []byte(`<script type="module" src="/console/app.js">`)) ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "script-src 'self';") {
			t.Errorf("GET %s: %d %v %.80s", path, r.Status, r.Header, r.Body)
		}
	}
	for _, path := range []string{"/console/pages/users.js", "/console/pages/user.js"} {
		r := c.send("GET", path, nil, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !bytes.Contains(r.Body, []byte("export function")) {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
}

func TestConsoleBrowser_UserDetail(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	var editor, acme, member consoleEntity
	e.do(t, "POST", "/api/roles", map[string]any{"name": "editor", "description": "Edits things", "type": "User"}, http.StatusOK, &editor)
	e.do(t, "POST", "/api/roles", map[string]any{"name": "robot", "description": "m2m", "type": "MachineToMachine"}, http.StatusOK, nil)
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "member"}, http.StatusCreated, &member)

	b := newBrowser(t, e.URL)
	b.do("sign in", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), e.ClientID),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), e.ClientSecret+"\r"))
	b.waitText(`.summary`, "0 users")

	// Create user: the form opens from the list, and the new user's page
	// follows.
	b.clickButton("Create user")
	b.do("fill the form", chromedp.SetValue(chromedp.ID("new-user-username"), "grace"),
		chromedp.SetValue(chromedp.ID("new-user-primaryEmail"), "grace@example.com"),
		chromedp.SetValue(chromedp.ID("new-user-name"), "Grace H"),
		chromedp.SetValue(chromedp.ID("new-user-password"), "first pass phrase"))
	if !eval[bool](b, `[...document.querySelectorAll('input, select, textarea')].every(i => i.labels.length > 0)`) {
		t.Error("an input of the users page has no label")
	}
	b.clickButton("Create")
	b.waitText(`main h1`, "Grace H")
	path := eval[string](b, `location.pathname`)
	id := strings.TrimPrefix(path, "/console/users/")
	var got user
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, &got)
	if got.Username == nil || *got.Username != "grace" || got.PrimaryEmail == nil || *got.PrimaryEmail != "grace@example.com" || !got.HasPassword {
		t.Fatalf("created user %+v (page at %s)", got, path)
	}

	// A membership made through the API shows after a reload of the deep
	// link, with the user's organization role.
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/users", map[string]any{"userIds": []string{id}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/users/"+id+"/roles", map[string]any{"organizationRoleIds": []string{member.ID}},
		http.StatusCreated, nil)
	b.do("reload", chromedp.Navigate(e.URL+path))
	b.waitText(`#user-orgs tbody`, "Acme")
	b.waitText(`#user-orgs tbody`, "member")
	b.trackFetches()

	// Custom data that is not JSON, or not an object, is refused in the
	// page and nothing changes, the name included.
	for _, bad := range []string{`{"plan": `, `[1, 2]`} {
		b.do("bad custom data", chromedp.SetValue(chromedp.ID("user-name"), "Grace Hopper"),
			chromedp.SetValue(chromedp.ID("user-custom-data"), bad))
		b.clickButton("Save profile")
		b.waitText(`#profile-error`, "Nothing was saved.")
		b.settle()
		e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, &got)
		if *got.Name != "Grace H" || len(got.CustomData) != 0 {
			t.Errorf("after custom data %q: name %q, custom data %v", bad, *got.Name, got.CustomData)
		}
	}
	b.do("good custom data", chromedp.SetValue(chromedp.ID("user-custom-data"), `{"plan": "pro", "seats": 3}`))
	b.clickButton("Save profile")
	b.waitText(`#profile-saved`, "Saved.")
	b.waitText(`main h1`, "Grace Hopper")
	if msg := eval[string](b, `document.getElementById('profile-error').textContent`); msg != "" {
		t.Errorf("the error stayed after a good save: %q", msg)
	}
	got = user{}
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, &got)
	if *got.Name != "Grace Hopper" || got.CustomData["plan"] != "pro" || got.CustomData["seats"] != float64(3) || *got.Username != "grace" {
		t.Errorf("after save: %+v", got)
	}

	// Suspend, then reinstate.
	b.clickButton("Suspend")
	b.waitText(`#user-status`, "Suspended")
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, &got)
	if !got.IsSuspended {
		t.Error("Suspend did not suspend")
	}
	b.clickButton("Reinstate")
	b.waitText(`#user-status`, "Active")
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, &got)
	if got.IsSuspended {
		t.Error("Reinstate did not reinstate")
	}

	// Reset password: the field empties, and the new password verifies.
	const newPassword = "a brand new pass phrase"
	b.do("new password", chromedp.SetValue(chromedp.ID("user-new-password"), newPassword))
	b.clickButton("Set password")
	b.waitText(`#password-saved`, "Password changed.")
	if v := eval[string](b, `document.getElementById('user-new-password').value`); v != "" {
		t.Errorf("the password field still holds %q", v)
	}
	e.do(t, "POST", "/api/users/"+id+"/password/verify", map[string]any{"password": newPassword}, http.StatusNoContent, nil)
	if r := call(t, "POST", e.URL+"/api/users/"+id+"/password/verify", e.token, map[string]any{"password": "first pass phrase"}); r.Status == http.StatusNoContent {
		t.Error("the old password still verifies")
	}

	// Roles: only the tenant's user roles are offered; assign, then remove.
	b.waitText(`#user-roles tbody`, "No roles.")
	if opts := eval[[]string](b, `[...document.querySelectorAll('#user-role-pick option')].map(o => o.textContent)`); !slices.Equal(opts, []string{"editor"}) {
		t.Errorf("roles offered: %q, want [editor]", opts)
	}
	b.do("pick editor", chromedp.SetValue(chromedp.ID("user-role-pick"), editor.ID))
	b.clickButton("Assign role")
	b.waitText(`#user-roles tbody`, "Edits things")
	var roles []consoleEntity
	e.do(t, "GET", "/api/users/"+id+"/roles", nil, http.StatusOK, &roles)
	if len(roles) != 1 || roles[0].ID != editor.ID {
		t.Errorf("roles after assign: %+v", roles)
	}
	b.waitTrue("the role picker hides with no role left to assign", `document.getElementById('user-role-pick').offsetParent === null`)
	eval[bool](b, `(window.scrollTo(0, 0), true)`)
	b.screenshot("console-user-detail")
	b.do("remove editor", chromedp.Click(chromedp.CSS(`button[aria-label="Remove role editor"]`)))
	b.waitText(`#user-roles tbody`, "No roles.")
	e.do(t, "GET", "/api/users/"+id+"/roles", nil, http.StatusOK, &roles)
	if len(roles) != 0 {
		t.Errorf("roles after remove: %+v", roles)
	}

	// At phone width the page does not scroll sideways.
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the user page scrolls sideways at phone width")
	}
	b.screenshot("console-user-detail-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// Delete asks first, in a dialog that says it cannot be undone, with
	// the focus on Cancel; Escape and Cancel keep the user.
	b.clickButton("Delete user")
	if !eval[bool](b, `document.querySelector('dialog').open`) {
		t.Fatal("Delete user opened no dialog")
	}
	b.waitText(`dialog`, "cannot be undone")
	if got := eval[string](b, `document.activeElement.textContent`); got != "Cancel" {
		t.Errorf("the dialog opened with the focus on %q, want Cancel", got)
	}
	b.screenshot("console-user-delete")
	b.do("escape", chromedp.KeyEvent(kb.Escape))
	b.waitTrue("Escape closes the dialog", `!document.querySelector('dialog').open`)
	b.clickButton("Delete user")
	b.clickButton("Cancel")
	if eval[bool](b, `document.querySelector('dialog').open`) {
		t.Error("Cancel left the dialog open")
	}
	b.settle()
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusOK, nil)
	b.clickButton("Delete user")
	b.clickButton("Delete")
	b.waitText(`.summary`, "0 users")
	e.do(t, "GET", "/api/users/"+id, nil, http.StatusNotFound, nil)

	// A deep link to a user that is gone says so.
	b.do("open the deleted user", chromedp.Navigate(e.URL+path))
	b.waitText(`#user-error`, "Could not load the user")

	if errs := withoutRefusals(b.consoleErrors(), http.StatusNotFound); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func TestConsoleBrowser_UserDetailOrgOwner(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	var acme consoleEntity
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)
	owner := e.createUser(t, map[string]any{"username": "olga", "password": "correct horse battery"})
	staff := e.createUser(t, map[string]any{"username": "sam", "name": "Sam Member"})
	e.createUser(t, map[string]any{"username": "outsider"})
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/users", map[string]any{"userIds": []string{staff.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/managers", map[string]any{"userId": owner.ID, "roles": []string{"ORG_OWNER"}},
		http.StatusCreated, nil)

	b := newBrowser(t, e.URL)
	b.do("sign in", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery\r"))
	b.waitText(`.who`, "User "+owner.ID)
	b.waitText(`tbody`, "sam")
	if eval[bool](b, `document.querySelector('tbody').textContent.includes('outsider')`) {
		t.Error("the organization owner sees a user outside its organization")
	}
	// Creating a user needs tenant rights: refused in the form.
	b.clickButton("Create user")
	b.do("fill the form", chromedp.SetValue(chromedp.ID("new-user-username"), "newbie"))
	b.clickButton("Create")
	b.waitText(`#create-user-error`, "Your roles do not allow this: could not create the user")
	if n := call(t, "GET", e.URL+"/api/users?search=newbie&mode=exact", e.token, nil).Header.Get("Total-Number"); n != "0" {
		t.Errorf("the refused create made %s users", n)
	}
	b.do("open sam", chromedp.Click(chromedp.Search(`//tbody//a[text()="sam"]`)))
	b.waitText(`main h1`, "Sam Member")
	if got := eval[string](b, `location.pathname`); got != "/console/users/"+staff.ID {
		t.Errorf("the user's page is at %s", got)
	}
	if got := eval[string](b, `document.activeElement.tagName`); got != "H1" {
		t.Errorf("after opening a user the focus is on %s, want its heading", got)
	}
	// What the roles forbid is refused in place, and the user stays.
	b.waitText(`#roles-error`, "Your roles do not allow this")
	if eval[bool](b, `document.getElementById('user-role-pick').offsetParent !== null`) {
		t.Error("a role picker is offered to a session that may not list roles")
	}
	b.clickButton("Delete user")
	b.clickButton("Delete")
	b.waitText(`#delete-error`, "Your roles do not allow this: could not delete the user")
	e.do(t, "GET", "/api/users/"+staff.ID, nil, http.StatusOK, nil)
	if got := eval[string](b, `location.pathname`); got != "/console/users/"+staff.ID {
		t.Errorf("after a refused delete the page moved to %s", got)
	}
	b.screenshot("console-user-refused")

	if errs := withoutRefusals(b.consoleErrors(), http.StatusForbidden); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}
