package api_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// The Webhooks page: create a webhook to a local receiver (its signing key
// shown once, the one deliveries are signed with), see a delivery in its
// recent deliveries, change its events, disable it, rotate its key (the new
// one shown once) and delete it through the dialog.
func TestConsoleBrowser_Webhooks(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	rc := newReceiver(t, nil)
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)

	b.clickByText("nav", "Webhooks")
	b.waitText(`.summary`, "0 webhooks")
	b.clickByText("main", "Create webhook")
	b.fillByID("new-hook-name", "sync")
	b.fillByID("new-hook-url", rc.URL)
	b.clickByText("main", "Create")
	b.waitText(`main h1`, "sync")
	b.waitText(`#new-hook-key-title`, "Signing key")
	shownKey := eval[string](b, `document.getElementById('new-hook-key').textContent`)
	b.screenshot("console-webhook-created")
	var hooks []hook
	e.do(t, "GET", "/api/hooks", nil, http.StatusOK, &hooks)
	if len(hooks) != 1 || hooks[0].SigningKey != shownKey || hooks[0].Config.URL != rc.URL ||
		len(hooks[0].Events) != 1 || hooks[0].Events[0] != "User.Created" {
		t.Fatalf("the page made %+v; it showed the key %q", hooks, shownKey)
	}
	h := hooks[0]

	// A delivery, signed with the key shown, in the recent deliveries.
	e.createUser(t, map[string]any{"username": "seen_by_hook"})
	checkSignature(t, rc.waitAccepted(t, 1)[0], shownKey)
	b.clickByText("main", "Refresh")
	b.waitText(`.hook-logs`, "User.Created")
	b.waitText(`.hook-logs`, "Success")
	b.screenshot("console-webhook")

	// Events: add Role.Created; then disable.
	b.do("tick Role.Created", chromedp.Click(chromedp.Search(`//fieldset[contains(@class,'hook-events')]//label[contains(normalize-space(.),'Role.Created')]/input`)))
	b.clickByText("main", "Save events")
	b.waitText(`#hook-events-saved`, "Saved.")
	b.clickByText("main", "Disable webhook")
	b.waitText(`#hook-events-saved`, "Disabled.")
	var got hook
	e.do(t, "GET", "/api/hooks/"+h.ID, nil, http.StatusOK, &got)
	if got.Enabled || len(got.Events) != 2 {
		t.Errorf("after the events card: %+v", got)
	}

	// A new signing key, shown once.
	b.clickByText("main", "Rotate signing key")
	b.waitText(`dialog.confirm`, "new signing key")
	b.clickByText("dialog", "Rotate signing key")
	b.waitText(`.summary`, "A new signing key is in use.")
	newKey := eval[string](b, `document.getElementById('new-hook-key').textContent`)
	e.do(t, "GET", "/api/hooks/"+h.ID, nil, http.StatusOK, &got)
	if newKey == shownKey || got.SigningKey != newKey {
		t.Errorf("rotated: the page shows %q, the hook has %q, the old key was %q", newKey, got.SigningKey, shownKey)
	}

	b.clickByText("main", "Delete webhook")
	b.waitText(`dialog.confirm`, "cannot be undone")
	b.clickByText("dialog", "Delete webhook")
	b.waitText(`main h1`, "Webhooks")
	b.waitText(`.summary`, "0 webhooks")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
