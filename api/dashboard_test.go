package api_test

import (
	"fmt"
	"net/http"
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
