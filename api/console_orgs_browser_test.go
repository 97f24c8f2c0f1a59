package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/idbolt/idbolt/api/apitest"
)

// The Organizations and Audit logs pages in headless Chromium: every change
// made in the page is checked through the Management API; an organization's
// owner sees and changes only its organization; an audit entry's payload
// is shown as text, never as HTML.

// signInWithSecret opens the console in b and signs in with the env's
// client id and secret.
func signInWithSecret(b *browser, e *env) {
	b.t.Helper()
	b.do("sign in", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), e.ClientID),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), e.ClientSecret+"\r"))
	b.waitText(`.who`, "Client ")
}

// orgMembers returns the members of organization id and the names of
// their organization roles.
func orgMembers(t *testing.T, e *env, id string) map[string][]string {
	t.Helper()
	var list []orgMember
	e.do(t, "GET", "/api/organizations/"+id+"/users", nil, http.StatusOK, &list)
	out := map[string][]string{}
	for _, m := range list {
		out[m.ID] = []string{}
		for _, r := range m.OrganizationRoles {
			out[m.ID] = append(out[m.ID], r.Name)
		}
	}
	return out
}

func TestConsoleBrowser_Organizations(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	var member, admin consoleEntity
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "member"}, http.StatusCreated, &member)
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "admin"}, http.StatusCreated, &admin)
	grace := e.createUser(t, map[string]any{"username": "grace"})
	for i := range 24 {
		e.do(t, "POST", "/api/organizations", map[string]any{"name": fmt.Sprintf("Org %02d", i)}, http.StatusCreated, nil)
	}

	b := newBrowser(t, e.URL)
	signInWithSecret(b, e)
	b.do("open Organizations", chromedp.Click(chromedp.Search(`//nav//a[text()="Organizations"]`)))
	b.waitText(`.summary`, "24 organizations · page 1 of 2")
	if n := eval[int](b, `document.querySelectorAll('#org-list tbody tr').length`); n != 20 {
		t.Errorf("first page shows %d organizations, want 20", n)
	}
	b.screenshot("console-organizations")
	b.clickButton("Next page")
	b.waitText(`.summary`, "page 2 of 2")
	if n := eval[int](b, `document.querySelectorAll('#org-list tbody tr').length`); n != 4 {
		t.Errorf("second page shows %d organizations, want 4", n)
	}
	b.do("search", chromedp.SetValue(chromedp.ID("org-search"), "Org 07"))
	b.clickButton("Search")
	b.waitText(`.summary`, "1 organization · page 1 of 1")
	b.waitText(`#org-list tbody`, "Org 07")

	// Create: the new organization's page follows.
	b.clickButton("Create organization")
	b.do("fill the form", chromedp.SetValue(chromedp.ID("new-org-name"), "Acme"),
		chromedp.SetValue(chromedp.ID("new-org-description"), "Rockets"))
	if !eval[bool](b, `[...document.querySelectorAll('input, select, textarea')].every(i => i.labels.length > 0)`) {
		t.Error("an input of the organizations page has no label")
	}
	b.clickButton("Create")
	b.waitText(`main h1`, "Acme")
	id := strings.TrimPrefix(eval[string](b, `location.pathname`), "/console/organizations/")
	var org struct{ Name, Description string }
	e.do(t, "GET", "/api/organizations/"+id, nil, http.StatusOK, &org)
	if org.Name != "Acme" || org.Description != "Rockets" {
		t.Fatalf("created organization %+v", org)
	}
	b.waitText(`#org-members tbody`, "No members.")
	b.trackFetches()

	// Add a member by username with a role, then change its role.
	b.do("add grace", chromedp.SetValue(chromedp.ID("member-add"), "grace"), chromedp.SetValue(chromedp.ID("member-add-role"), member.ID))
	b.clickButton("Add member")
	b.waitText(`#org-members .member-roles`, "member")
	b.settle()
	if got := orgMembers(t, e, id); len(got) != 1 || strings.Join(got[grace.ID], ",") != "member" {
		t.Fatalf("members after add: %v", got)
	}
	b.do("pick admin", chromedp.SetValue(chromedp.ID("member-role-"+grace.ID), admin.ID))
	b.clickButton("Set role")
	b.settle()
	b.waitText(`#org-members .member-roles`, "admin")
	b.settle()
	if got := orgMembers(t, e, id); strings.Join(got[grace.ID], ",") != "admin" {
		t.Fatalf("roles after change: %v", got)
	}
	// Several roles at once: both picked, then set; the picker shows both
	// picked again once the list reloads.
	picked := `[...document.getElementById('member-role-` + grace.ID + `').selectedOptions].map(o => o.textContent).sort().join()`
	if got := eval[string](b, picked); got != "admin" {
		t.Errorf("grace's picker shows %q picked, want admin", got)
	}
	eval[bool](b, `([...document.getElementById('member-role-`+grace.ID+`').options].forEach(o => { o.selected = true }), true)`)
	b.clickButton("Set role")
	b.settle()
	b.waitTrue("both roles listed", `(t => t.includes('admin') && t.includes('member'))(document.querySelector('#org-members .member-roles').textContent)`)
	b.settle()
	if got := orgMembers(t, e, id)[grace.ID]; len(got) != 2 || !slices.Contains(got, "admin") || !slices.Contains(got, "member") {
		t.Fatalf("roles after picking both: %v", got)
	}
	if got := eval[string](b, picked); got != "admin,member" {
		t.Errorf("after setting both, grace's picker shows %q picked", got)
	}
	// Back to one, as the steps below expect.
	b.do("pick admin", chromedp.SetValue(chromedp.ID("member-role-"+grace.ID), admin.ID))
	b.clickButton("Set role")
	b.settle()
	b.waitTrue("one role listed", `document.querySelector('#org-members .member-roles').textContent === 'admin'`)
	if !eval[bool](b, `[...document.querySelectorAll('input, select, textarea')].every(i => i.labels.length > 0)`) {
		t.Error("an input of the organization's page has no label")
	}
	b.screenshot("console-organization")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the organization's page scrolls sideways at phone width")
	}
	b.screenshot("console-organization-phone")
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))

	// A manager added and removed.
	b.do("manager", chromedp.SetValue(chromedp.ID("manager-user"), grace.ID), chromedp.SetValue(chromedp.ID("manager-role"), "ORG_OWNER_VIEWER"))
	b.clickButton("Add manager")
	b.waitText(`#org-managers tbody`, "ORG_OWNER_VIEWER")
	b.settle()
	var managers []struct {
		UserID string   `json:"userId"`
		Roles  []string `json:"roles"`
	}
	e.do(t, "GET", "/api/organizations/"+id+"/managers", nil, http.StatusOK, &managers)
	if len(managers) != 1 || managers[0].UserID != grace.ID || strings.Join(managers[0].Roles, ",") != "ORG_OWNER_VIEWER" {
		t.Fatalf("managers after add: %+v", managers)
	}
	b.do("remove manager", chromedp.Click(chromedp.Search(`//table[@id="org-managers"]//button[text()="Remove"]`)))
	b.waitText(`#org-managers tbody`, "No managers.")
	b.settle()
	e.do(t, "GET", "/api/organizations/"+id+"/managers", nil, http.StatusOK, &managers)
	if len(managers) != 0 {
		t.Fatalf("managers after remove: %+v", managers)
	}

	// Remove asks first; Cancel keeps the member.
	removeMember := chromedp.Click(chromedp.Search(`//table[@id="org-members"]//button[text()="Remove"]`))
	b.do("remove grace", removeMember)
	b.waitText(`#member-remove-text`, "Remove grace from Acme?")
	b.do("cancel", chromedp.Click(chromedp.Search(`//dialog[@open]//button[text()="Cancel"]`)))
	b.settle()
	if got := orgMembers(t, e, id); len(got) != 1 {
		t.Fatalf("Cancel removed the member: %v", got)
	}
	b.do("remove grace", removeMember)
	b.clickButton("Remove member")
	b.waitText(`#org-members tbody`, "No members.")
	b.settle()
	if got := orgMembers(t, e, id); len(got) != 0 {
		t.Fatalf("members after remove: %v", got)
	}

	// An invitation with a role, then revoked.
	b.do("invite", chromedp.SetValue(chromedp.ID("invite-email"), "new@example.com"), chromedp.SetValue(chromedp.ID("invite-role"), member.ID))
	b.clickButton("Invite")
	b.waitText(`#org-invitations tbody`, "Pending")
	b.waitText(`#org-invitations tbody`, "new@example.com")
	b.clickButton("Revoke")
	b.waitText(`#org-invitations tbody`, "Revoked")
	b.settle()
	var invs []struct {
		Invitee, Status   string
		OrganizationRoles []consoleEntity
	}
	e.do(t, "GET", "/api/organization-invitations?organizationId="+id, nil, http.StatusOK, &invs)
	if len(invs) != 1 || invs[0].Invitee != "new@example.com" || invs[0].Status != "Revoked" ||
		len(invs[0].OrganizationRoles) != 1 || invs[0].OrganizationRoles[0].Name != "member" {
		t.Fatalf("invitations: %+v", invs)
	}

	// Delete, through its "cannot be undone" dialog.
	b.clickButton("Delete organization")
	b.waitText(`#org-delete-text`, "This cannot be undone")
	b.clickButton("Delete")
	b.waitText(`.summary`, "24 organizations")
	e.do(t, "GET", "/api/organizations/"+id, nil, http.StatusNotFound, nil)

	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the organizations page scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func TestConsoleBrowser_OrganizationsOrgOwner(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	var acme, globex, member consoleEntity
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Globex"}, http.StatusCreated, &globex)
	e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "member"}, http.StatusCreated, &member)
	owner := e.createUser(t, map[string]any{"username": "olga", "password": "correct horse battery"})
	staff := e.createUser(t, map[string]any{"username": "sam"})
	other := e.createUser(t, map[string]any{"username": "gus"})
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/users", map[string]any{"userIds": []string{staff.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+globex.ID+"/users", map[string]any{"userIds": []string{other.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+acme.ID+"/managers", map[string]any{"userId": owner.ID, "roles": []string{"ORG_OWNER"}},
		http.StatusCreated, nil)

	b := newBrowser(t, e.URL)
	b.do("sign in", chromedp.Navigate(e.URL+"/console/organizations"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery\r"))
	b.waitText(`.summary`, "1 organization · page 1 of 1")
	if got := eval[string](b, `document.querySelector('#org-list tbody').textContent`); !strings.Contains(got, "Acme") || strings.Contains(got, "Globex") {
		t.Errorf("the owner's list shows %q", got)
	}
	b.do("open Acme", chromedp.Click(chromedp.Search(`//tbody//a[text()="Acme"]`)))
	b.waitText(`#org-members tbody`, "sam")
	b.trackFetches()

	// Its own organization's members: the owner changes a role.
	b.do("pick member", chromedp.SetValue(chromedp.ID("member-role-"+staff.ID), member.ID))
	b.clickButton("Set role")
	b.waitText(`#org-members .member-roles`, "member")
	b.settle()
	if got := orgMembers(t, e, acme.ID); strings.Join(got[staff.ID], ",") != "member" {
		t.Fatalf("roles after the owner's change: %v", got)
	}
	// Deleting the organization needs tenant rights: refused in place.
	b.clickButton("Delete organization")
	b.clickButton("Delete")
	b.waitText(`#org-delete-error`, "Your roles do not allow this: could not delete the organization")
	e.do(t, "GET", "/api/organizations/"+acme.ID, nil, http.StatusOK, nil)
	b.screenshot("console-organization-owner")

	// Another organization, by its deep link: refused, nothing shown.
	b.do("open Globex", chromedp.Navigate(e.URL+"/console/organizations/"+globex.ID))
	b.waitText(`#org-error`, "Your roles do not allow this: could not load the organization")
	if eval[bool](b, `!!document.getElementById('org-members')`) {
		t.Error("the members of another organization are on the page")
	}
	if got := orgMembers(t, e, globex.ID); len(got) != 1 || len(got[other.ID]) != 0 {
		t.Errorf("Globex's members changed: %v", got)
	}
	if errs := withoutRefusals(b.consoleErrors(), http.StatusForbidden); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

func TestConsoleBrowser_AuditLogs(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	const evil = `<img src=x id=injected onerror=alert(1)>`
	b := newBrowser(t, e.URL)
	// A refused sign-in whose client id looks like HTML: the audit entry
	// carries it as its applicationId.
	b.do("refused sign-in", chromedp.Navigate(e.URL+"/console"), chromedp.WaitVisible(chromedp.CSS(`input[name=clientId]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientId]`), evil),
		chromedp.SendKeys(chromedp.CSS(`input[name=clientSecret]`), "wrong\r"))
	b.waitText(`[role=alert]`, "Sign-in refused")
	eval[bool](b, `(document.querySelector('input[name=clientId]').value = '', document.querySelector('input[name=clientSecret]').value = '', true)`)
	signInWithSecret(b, e)
	b.do("open Audit logs", chromedp.Click(chromedp.Search(`//nav//a[text()="Audit logs"]`)))
	b.waitText(`main h1`, "Audit logs")
	b.waitText(`.summary`, "page 1 of 1")

	// Filter by the key of password sign-ins: none; by the secret's: both,
	// the refused one second (newest first).
	filter := func(key, want string) {
		t.Helper()
		b.do("filter "+key, chromedp.SetValue(chromedp.ID("log-logKey"), key))
		b.clickButton("Filter")
		b.waitText(`.summary`, want)
	}
	filter("ConsoleSignIn.Password", "0 entries")
	b.waitText(`#log-list tbody`, "No entries match.")
	filter("ConsoleSignIn.ClientSecret", "2 entries · page 1 of 1")
	rows := eval[[]string](b, `[...document.querySelectorAll('#log-list tbody tr')].map(r => r.cells[2].textContent)`)
	if len(rows) != 2 || rows[0] != "Success" || rows[1] != "Error" {
		t.Errorf("results newest first: %q", rows)
	}
	b.screenshot("console-audit-logs")

	b.do("open the refused entry", chromedp.Click(chromedp.CSS(`#log-list tbody tr:nth-child(2) a`)))
	b.waitText(`main h1`, "ConsoleSignIn.ClientSecret")
	b.waitText(`#log-payload`, evil)
	if eval[bool](b, `!!document.getElementById('injected') || !!document.querySelector('main img')`) {
		t.Error("the payload's HTML became an element")
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(eval[string](b, `document.getElementById('log-payload').textContent`)), &payload); err != nil {
		t.Fatalf("the payload shown is not JSON: %v", err)
	}
	if payload["applicationId"] != evil || payload["result"] != "Error" {
		t.Errorf("payload shown: %v", payload)
	}
	b.screenshot("console-audit-log-entry")
	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the audit log entry's page scrolls sideways at phone width")
	}
	if errs := withoutRefusals(b.consoleErrors()); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestConsole_OrganizationAndAuditLogPaths: an organization's and an audit
// entry's pages are pages of the client-side router, served as index.html,
// and their modules are served as JavaScript.
func TestConsole_OrganizationAndAuditLogPaths(t *testing.T) {
	srv := apitest.Start(t)
	c := newConsoleClient(t, srv.URL)
	for _, path := range []string{"/console/organizations", "/console/organizations/abc123def456", "/console/audit-logs/abc123def456"} {
		r := c.send("GET", path, nil, nil)
		if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
			!bytes.Contains(r.Body, []byte(`<script type="module" src="/console/app.js">`)) {
			t.Errorf("GET %s: %d %v %.80s", path, r.Status, r.Header, r.Body)
		}
	}
	for _, path := range []string{"/console/pages/organizations.js", "/console/pages/organization.js", "/console/pages/audit-logs.js"} {
		r := c.send("GET", path, nil, nil)
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" || !bytes.Contains(r.Body, []byte("export function")) {
			t.Errorf("GET %s: %d %s", path, r.Status, r.Header.Get("Content-Type"))
		}
	}
}
