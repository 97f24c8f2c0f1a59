package api_test

import (
	"net/http"
	"testing"
	"time"
)

// TestConsoleBrowser_Dashboard: the Dashboard page shows the tenant's user
// counts as the dashboard routes answer them: three users made today, and
// two of them active after a password verification each; Refresh shows a
// user made after the page opened.
func TestConsoleBrowser_Dashboard(t *testing.T) {
	if findChromium() == "" {
		t.Skip("no Chromium (chromium, chromium-browser or google-chrome) on PATH: install chromium (.ci/run does) to run the browser tests")
	}
	e := newEnv(t)
	for _, name := range []string{"ada", "bob", "cy"} {
		u := e.createUser(t, map[string]any{"username": name, "password": "correct horse battery"})
		if name != "cy" {
			e.do(t, "POST", "/api/users/"+u.ID+"/password/verify", map[string]any{"password": "correct horse battery"}, http.StatusNoContent, nil)
		}
	}
	// Verifications are counted by the audit writer, shortly after.
	var active struct {
		Dau struct{ Count int } `json:"dau"`
	}
	for deadline := time.Now().Add(10 * time.Second); active.Dau.Count < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dau %d after 10 s, want 2", active.Dau.Count)
		}
		e.do(t, "GET", "/api/dashboard/users/active", nil, http.StatusOK, &active)
	}

	b := newBrowser(t, e.URL)
	b.signInWithClient(e.ClientID, e.ClientSecret)
	b.clickByText("nav", "Dashboard")
	b.waitText(`main h1`, "Dashboard")
	b.waitText(`#dashboard-total .count`, "3")
	b.waitText(`#dashboard-new-today .count`, "3")
	b.waitText(`#dashboard-dau .count`, "2")
	b.waitText(`#dashboard-mau .count`, "2")
	if n := eval[int](b, `document.querySelectorAll('#dashboard-days tbody tr').length`); n != 30 {
		t.Errorf("the daily table has %d rows, want 30", n)
	}
	today := time.Now().UTC().Format("2006-01-02")
	b.waitText(`#dashboard-days tbody tr`, today)
	b.screenshot("console-dashboard")

	e.createUser(t, map[string]any{"username": "dee"})
	b.clickByText("main", "Refresh")
	b.waitText(`#dashboard-total .count`, "4")
	if errs := b.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
