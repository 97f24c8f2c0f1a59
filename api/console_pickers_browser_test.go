package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The console's pickers (dom.js picker) in headless Chromium, over more
// choices than one page holds: they show the first 100 with a sentence
// saying there are more, find the rest through the API's search, and never
// ask for more than 100 at once.

// recordFetches keeps the URL of every request the page makes in
// window.fetched, until the next navigation.
func (b *browser) recordFetches() {
	b.t.Helper()
	eval[bool](b, `(() => {
		if (window.fetched !== undefined) return true;
		window.fetched = [];
		const fetch = window.fetch;
		window.fetch = (url, ...rest) => { window.fetched.push(String(url)); return fetch(url, ...rest); };
		return true;
	})()`)
}

// find presses the Find button beside the search box whose id is id.
func (b *browser) find(id string) {
	b.t.Helper()
	b.do("find", chromedp.Click(chromedp.Search(fmt.Sprintf(`//div[input[@id=%q]]/button[text()="Find"]`, id))))
}

// optionTexts returns the texts of the options of the select whose id is id.
func optionTexts(b *browser, id string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`[...document.getElementById(%q).options].map(o => o.textContent)`, id))
}

func TestConsoleBrowser_Pickers(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	for i := range 105 {
		e.do(t, "POST", "/api/roles", map[string]any{"name": fmt.Sprintf("role-%03d", i), "description": "r", "type": "User"}, http.StatusOK, nil)
	}
	grace := e.createUser(t, map[string]any{"username": "grace"})
	batch := make([]map[string]any, 101)
	for i := range batch {
		batch[i] = map[string]any{"username": fmt.Sprintf("user%03d", i)}
	}
	e.do(t, "POST", "/api/users/batch", map[string]any{"users": batch}, http.StatusCreated, nil)
	var acme consoleEntity
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)

	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)

	// A user's roles: the first 100 of the 105 User roles, and a sentence.
	b.do("open grace", chromedp.Navigate(e.URL+"/console/users/"+grace.ID))
	b.waitText(`#user-roles tbody`, "No roles.")
	b.recordFetches()
	b.waitTrue("100 roles offered", `document.querySelectorAll('#user-role-pick option').length === 100`)
	b.waitText(`form[aria-label="Assign role"] .picker-note`, "Showing the first 100 of 105 roles")
	eval[bool](b, `(document.getElementById('user-roles').scrollIntoView(), true)`)
	b.screenshot("console-picker")
	// Newest first, as the API lists them: the five oldest are not shown.
	if opts := optionTexts(b, "user-role-pick"); slices.Contains(opts, "role-002") || !slices.Contains(opts, "role-104") {
		t.Errorf("roles offered run from %q to %q", opts[0], opts[99])
	}
	// Find asks the API for the rest; Enter in the box does too.
	b.fillByID("user-role-pick-search", "role-002")
	b.find("user-role-pick-search")
	b.waitTrue("one role found", `document.querySelectorAll('#user-role-pick option').length === 1`)
	if opts := optionTexts(b, "user-role-pick"); !slices.Equal(opts, []string{"role-002"}) {
		t.Errorf("found %q", opts)
	}
	if note := eval[string](b, `document.querySelector('form[aria-label="Assign role"] .picker-note').textContent`); note != "" {
		t.Errorf("with every match shown the note says %q", note)
	}
	b.clickButton("Assign role")
	b.waitText(`#user-roles tbody`, "role-002")
	var roles []consoleEntity
	e.do(t, "GET", "/api/users/"+grace.ID+"/roles", nil, http.StatusOK, &roles)
	if len(roles) != 1 || roles[0].Name != "role-002" {
		t.Errorf("grace's roles: %+v", roles)
	}
	// The search stays: now nothing matches, and the page says so.
	b.waitText(`form[aria-label="Assign role"] .picker-note`, `No roles match "role-002".`)
	b.do("search by Enter", chromedp.SetValue(chromedp.ID("user-role-pick-search"), "role-05"),
		chromedp.Focus(chromedp.ID("user-role-pick-search")), chromedp.KeyEvent("\r"))
	b.waitTrue("ten roles found", `document.querySelectorAll('#user-role-pick option').length === 10`)
	if got := eval[string](b, `location.pathname`); got != "/console/users/"+grace.ID {
		t.Errorf("Enter in the search box moved the page to %s", got)
	}
	e.do(t, "GET", "/api/users/"+grace.ID+"/roles", nil, http.StatusOK, &roles)
	if len(roles) != 1 {
		t.Errorf("Enter in the search box assigned a role: %+v", roles)
	}
	checkPageSizes(t, b, "/console/api/roles?")

	// An organization's members: users found by search and picked.
	b.do("open Acme", chromedp.Navigate(e.URL+"/console/organizations/"+acme.ID))
	b.waitText(`#org-members tbody`, "No members.")
	b.recordFetches()
	b.waitTrue("100 users offered", `document.querySelectorAll('#member-add-pick option').length === 100`)
	b.waitText(`form[aria-label="Add member"] .picker-note`, "Showing the first 100 of 102 users")
	b.fillByID("member-add", "user077")
	b.find("member-add")
	b.waitTrue("one user found", `document.querySelectorAll('#member-add-pick option').length === 1`)
	b.clickButton("Add member")
	b.waitText(`#org-members tbody`, "user077")
	var members []struct {
		Username string `json:"username"`
	}
	e.do(t, "GET", "/api/organizations/"+acme.ID+"/users", nil, http.StatusOK, &members)
	if len(members) != 1 || members[0].Username != "user077" {
		t.Errorf("members: %+v", members)
	}
	checkPageSizes(t, b, "/console/api/users?")

	b.do("phone width", chromedp.EmulateViewport(390, 844))
	if eval[bool](b, `document.documentElement.scrollWidth > window.innerWidth`) {
		t.Error("the organization page with its pickers scrolls sideways at phone width")
	}
	b.do("desktop width", chromedp.EmulateViewport(1280, 800))
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// checkPageSizes fails unless the page asked for lists under prefix, and
// every such request named a page_size of at most 100.
func checkPageSizes(t *testing.T, b *browser, prefix string) {
	t.Helper()
	n := 0
	for _, raw := range eval[[]string](b, `window.fetched`) {
		if !strings.HasPrefix(raw, prefix) {
			continue
		}
		n++
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if size, err := strconv.Atoi(u.Query().Get("page_size")); err != nil || size > 100 {
			t.Errorf("%s asks for page_size %q", raw, u.Query().Get("page_size"))
		}
	}
	if n == 0 {
		t.Errorf("no request for %s was seen", prefix)
	}
}
