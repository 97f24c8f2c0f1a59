package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

// TestDashboard_Users: the total and the new users of the last 24 hours and
// 7 days, each with its change from the period before, as Logto's dashboard
// counts them; deleted users no longer count, and tenants count apart.
func TestDashboard_Users(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixMilli())
	e := newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	n := 0
	createAt := func(ago time.Duration, count int) []user {
		clock.Store(now.Add(-ago).UnixMilli())
		e.token = e.ManagementToken(t, "default") // one the moved clock takes
		var out []user
		for range count {
			n++
			out = append(out, e.createUser(t, map[string]any{"username": fmt.Sprintf("u%d", n)}))
		}
		return out
	}
	createAt(20*24*time.Hour, 3)
	createAt(10*24*time.Hour, 2)
	createAt(36*time.Hour, 4)
	recent := createAt(time.Hour, 5)
	clock.Store(now.UnixMilli())
	e.token = e.ManagementToken(t, "default")

	var total struct {
		TotalUserCount int `json:"totalUserCount"`
	}
	e.do(t, "GET", "/api/dashboard/users/total", nil, http.StatusOK, &total)
	var fresh struct {
		Today     struct{ Count, Delta int } `json:"today"`
		Last7Days struct{ Count, Delta int } `json:"last7Days"`
	}
	e.do(t, "GET", "/api/dashboard/users/new", nil, http.StatusOK, &fresh)
	// The bootstrap admin's application has no user: 14 users in all; 5 in
	// the last day against 4 the day before; 9 in the last week against 2.
	if total.TotalUserCount != 14 || fresh.Today.Count != 5 || fresh.Today.Delta != 1 || fresh.Last7Days.Count != 9 || fresh.Last7Days.Delta != 7 {
		t.Errorf("total %+v, new %+v", total, fresh)
	}

	e.do(t, "DELETE", "/api/users/"+recent[0].ID, nil, http.StatusNoContent, nil)
	e.do(t, "GET", "/api/dashboard/users/total", nil, http.StatusOK, &total)
	e.do(t, "GET", "/api/dashboard/users/new", nil, http.StatusOK, &fresh)
	if total.TotalUserCount != 13 || fresh.Today.Count != 4 || fresh.Today.Delta != 0 {
		t.Errorf("after a deletion: total %+v, new %+v", total, fresh)
	}

	c := createTenant(t, e, "acme")
	acme := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	call(t, "GET", e.URL+"/t/acme/api/dashboard/users/total", acme, nil).JSON(t, &total)
	if total.TotalUserCount != 0 {
		t.Errorf("tenant acme counts %d users", total.TotalUserCount)
	}
	wantError(t, call(t, "GET", e.URL+"/api/dashboard/users/total", "", nil), 401, "auth.authorization_header_missing")
}

// TestDashboard_ActiveUsers: users who verified a password or got a token
// as themselves (a personal access token exchanged) are active on that UTC
// day, counted once per day, week and month, with the changes and the DAU
// curve Logto's dashboard shows; a wrong password does not count, both
// checks are in the audit log naming the user, and tenants count apart.
func TestDashboard_ActiveUsers(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixMilli())
	e := newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	const pw = "Str0ng-Passw0rd!"
	ada := e.createUser(t, map[string]any{"username": "ada", "password": pw})
	bob := e.createUser(t, map[string]any{"username": "bob", "password": pw})
	cy := e.createUser(t, map[string]any{"username": "cy"})
	const indicator = "https://orders.example.com"
	e.do(t, "POST", "/api/resources", map[string]any{"name": "orders", "indicator": indicator}, http.StatusCreated, nil)
	tool := e.createApp(t, map[string]any{"name": "tool", "type": "Traditional", "customClientMetadata": map[string]any{"allowTokenExchange": true}})
	var pt pat
	e.do(t, "POST", patsPath(cy.ID), map[string]any{"name": "cli"}, http.StatusCreated, &pt)

	at := func(daysAgo int) {
		// The entries queued so far are written before the clock moves, as
		// they are within 100 ms in real time.
		e.logs(t, "page_size=1")
		clock.Store(now.AddDate(0, 0, -daysAgo).UnixMilli())
		e.token = e.ManagementToken(t, "default") // one the moved clock takes
	}
	verify := func(u user, password string, want int) {
		t.Helper()
		if r := call(t, "POST", e.URL+"/api/users/"+u.ID+"/password/verify", e.token, map[string]any{"password": password}); r.Status != want {
			t.Fatalf("verify %s: %d %s", u.ID, r.Status, r.Body)
		}
	}
	at(40) // beyond the month and its previous week: in the previous month only
	verify(bob, pw, http.StatusNoContent)
	at(2)
	verify(ada, pw, http.StatusNoContent)
	at(1)
	verify(ada, pw, http.StatusNoContent)
	verify(bob, "wrong", http.StatusUnprocessableEntity)
	at(0)
	verify(bob, pw, http.StatusNoContent)
	verify(bob, pw, http.StatusNoContent) // twice on a day counts once
	for range 2 {
		r := postForm(t, e.URL+"/oidc/token", url.Values{"grant_type": {tokenExchange}, "subject_token": {*pt.Value},
			"subject_token_type": {"urn:logto:token-type:personal_access_token"}, "resource": {indicator}}, tool.ID, tool.Secret)
		if r.Status != http.StatusOK {
			t.Fatalf("token exchange: %d %s", r.Status, r.Body)
		}
	}

	type counts struct {
		DAUCurve []struct {
			Date  string `json:"date"`
			Count int    `json:"count"`
		} `json:"dauCurve"`
		DAU struct{ Count, Delta int } `json:"dau"`
		WAU struct{ Count, Delta int } `json:"wau"`
		MAU struct{ Count, Delta int } `json:"mau"`
	}
	var got counts
	e.do(t, "GET", "/api/dashboard/users/active", nil, http.StatusOK, &got)
	// Today bob and cy, yesterday ada; the week and month ada, bob and cy;
	// the month before, bob.
	if got.DAU.Count != 2 || got.DAU.Delta != 1 || got.WAU.Count != 3 || got.WAU.Delta != 3 || got.MAU.Count != 3 || got.MAU.Delta != 2 {
		t.Errorf("today: %+v", got)
	}
	if n := len(got.DAUCurve); n != 30 {
		t.Fatalf("the DAU curve has %d days", n)
	}
	for i, want := range map[int]struct {
		date  string
		count int
	}{0: {"2026-11-06", 0}, 27: {"2026-12-03", 1}, 28: {"2026-12-04", 1}, 29: {"2026-12-05", 2}} {
		if d := got.DAUCurve[i]; d.Date != want.date || d.Count != want.count {
			t.Errorf("DAU curve day %d: %+v, want %+v", i, d, want)
		}
	}
	e.do(t, "GET", "/api/dashboard/users/active?date=2026-12-04", nil, http.StatusOK, &got)
	if got.DAU.Count != 1 || got.DAU.Delta != 0 || got.WAU.Count != 1 || got.MAU.Count != 1 || got.MAU.Delta != 0 || got.DAUCurve[29].Date != "2026-12-04" {
		t.Errorf("yesterday: %+v", got)
	}
	// An RFC 3339 time stands for its UTC day, as JavaScript's Date reads it in Logto.
	e.do(t, "GET", "/api/dashboard/users/active?date=2026-12-05T01:00:00%2B02:00", nil, http.StatusOK, &got)
	if got.DAUCurve[29].Date != "2026-12-04" || got.DAU.Count != 1 {
		t.Errorf("an RFC 3339 time: %+v", got)
	}
	for _, bad := range []string{"yesterday", "2026-13-01", "2026-12-04&date=2026-12-05", "2026-12-04x"} {
		wantError(t, call(t, "GET", e.URL+"/api/dashboard/users/active?date="+bad, e.token, nil), 400, "guard.invalid_input")
	}

	// The audit entries that made them active name the user.
	entries, _ := e.logs(t, "userId="+cy.ID+"&logKey=ExchangeTokenBy.TokenExchange")
	if len(entries) != 2 || entries[0].Payload["result"] != "Success" {
		t.Errorf("cy's token entries: %+v", entries)
	}
	entries, _ = e.logs(t, "userId="+bob.ID+"&logKey=Interaction.SignIn.Identifier.Password.Submit")
	results := map[any]int{}
	for _, en := range entries {
		results[en.Payload["result"]]++
	}
	if results["Success"] != 3 || results["Error"] != 1 {
		t.Errorf("bob's password entries: %v", results)
	}

	c := createTenant(t, e, "acme")
	acme := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	call(t, "GET", e.URL+"/t/acme/api/dashboard/users/active", acme, nil).JSON(t, &got)
	if got.DAU.Count != 0 || got.MAU.Count != 0 {
		t.Errorf("tenant acme: %+v", got)
	}
	wantError(t, call(t, "GET", e.URL+"/api/dashboard/users/active", "", nil), 401, "auth.authorization_header_missing")
}
