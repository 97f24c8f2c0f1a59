package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/idbolt/idbolt/store"
)

// TestConsoleBrowser_Connectors drives the Connectors page in headless
// Chromium: create an HTTP email connector from the factory's form (the
// SMTP form offers its security choices), its secret never shown again,
// a test message through a local receiver with the stored secret, an edited
// endpoint and name saved, a refused config shown in place, and the
// connector deleted after a dialog.
func TestConsoleBrowser_Connectors(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	rc := startConnReceiver(t)
	const secret = "Bearer console-secret-5f1e"
	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)

	b.clickByText("nav", "Connectors")
	b.waitText(`.summary`, "0 connectors")
	b.clickByText("main", "Create connector")
	pickFactory := func(id string) {
		t.Helper()
		b.do("pick "+id, chromedp.SetValue(chromedp.ID("new-connector-factory"), id))
		eval[bool](b, `document.getElementById('new-connector-factory').dispatchEvent(new Event('change'))`)
	}
	b.waitTrue("the factories are offered", `document.querySelectorAll('#new-connector-factory option').length === 3`)
	pickFactory("smtp")
	if got := eval[string](b, `[...document.querySelectorAll('#new-connector-security option')].map(o => o.value).join(',')`); got != "STARTTLS,None" {
		t.Errorf("SMTP security choices %q", got)
	}
	b.allLabelled("Create connector (SMTP)")
	pickFactory("http-email")
	if got := eval[string](b, `document.getElementById('new-connector-authorization').type`); got != "password" {
		t.Errorf("the authorization input is %q, want password", got)
	}
	b.fillByID("new-connector-endpoint", rc.URL+"/mail")
	b.fillByID("new-connector-authorization", secret)
	b.clickByText("main", "Create")
	b.waitText(`main h1`, "HTTP email")
	b.waitText(`main .summary`, "http-email · Email")
	b.allLabelled("a connector's page")
	if v := eval[string](b, `document.getElementById('connector-authorization').value`); v != store.ConfigMask {
		t.Errorf("the page holds the authorization %q, want the mask", v)
	}
	if html := eval[string](b, `document.documentElement.outerHTML`); strings.Contains(html, "console-secret") {
		t.Error("the secret is in the page")
	}

	// A test message with the config as shown carries the stored secret.
	b.fillByID("connector-test-to", "jane@example.com")
	b.clickByText("main", "Send test message")
	b.waitText(`main .summary`, "Sent a test message to jane@example.com.")
	got := rc.received()
	if len(got) != 1 || got[0].Authorization != secret || got[0].Path != "/mail" || !strings.Contains(string(got[0].Body), `"to":"jane@example.com"`) {
		t.Fatalf("the receiver got %+v", got)
	}

	// Edit the endpoint and name; the secret stays.
	b.fillByID("connector-endpoint", rc.URL+"/mail2")
	b.fillByID("connector-name", "Our mailer")
	b.clickByText("main", "Save")
	b.waitText(`#connector-saved`, "Saved.")
	b.waitText(`main h1`, "Our mailer")
	var list []connector
	e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].Config["endpoint"] != rc.URL+"/mail2" || list[0].Config["authorization"] != store.ConfigMask {
		t.Fatalf("connectors %+v", list)
	}
	c, err := e.DB.FindConnectorForSending(t.Context(), store.DefaultTenant, store.ConnectorEmail)
	if err != nil || c.Config["authorization"] != secret {
		t.Errorf("stored authorization %v, %v", c, err)
	}
	// A config the form refuses shows the API's answer.
	b.fillByID("connector-endpoint", "ftp://example.com/")
	b.clickByText("main", "Save")
	b.waitText(`#connector-save-error`, "Could not save the connector")
	b.screenshot("connector")

	// The list shows it; delete it through the dialog.
	b.clickByText("main", "← All connectors")
	b.waitText(`#connectors`, "Our mailer")
	b.screenshot("connectors")
	b.clickByText("main", "Our mailer")
	b.waitText(`main h1`, "Our mailer")
	b.clickByText("main", "Delete connector")
	b.do("confirm", chromedp.Click(chromedp.Search(`//dialog//button[text()="Delete connector"]`)))
	b.waitText(`.summary`, "0 connectors")
	e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("after the delete: %+v", list)
	}
	if errs := withoutRefusals(b.consoleErrors(), http.StatusBadRequest); len(errs) > 0 {
		t.Errorf("console errors: %s", strings.Join(errs, "\n"))
	}
}
