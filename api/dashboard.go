package api

import (
	"net/http"
	"time"

	"github.com/idbolt/idbolt/store"
)

// The dashboard's user counts, as Logto's console shows them.

// totalUsersResponse is the answer of GET /api/dashboard/users/total.
type totalUsersResponse struct {
	TotalUserCount int `json:"totalUserCount"`
}

// countDelta is a count and its change from the period before.
type countDelta struct {
	Count int `json:"count"`
	Delta int `json:"delta"`
}

// newUsersResponse is the answer of GET /api/dashboard/users/new.
type newUsersResponse struct {
	Today     countDelta `json:"today"`
	Last7Days countDelta `json:"last7Days"`
}

func (s *Server) handleDashboardUsersTotal(w http.ResponseWriter, r *request) error {
	c, err := s.store.CountUsers(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, totalUsersResponse{TotalUserCount: c.Total})
	return nil
}

// handleDashboardUsersNew counts, as Logto does, the users created in the
// last 24 hours and the last 7 days, each with its change from the period
// of the same length before it.
func (s *Server) handleDashboardUsersNew(w http.ResponseWriter, r *request) error {
	now := s.now()
	ago := func(days int) int64 { return now.Add(-time.Duration(days) * 24 * time.Hour).UnixMilli() }
	c, err := s.store.CountUsers(r.Context(), r.tenant, ago(1), ago(2), ago(7), ago(14))
	if err != nil {
		return err
	}
	day, twoDays, week, twoWeeks := c.New[0], c.New[1], c.New[2], c.New[3]
	s.writeJSON(w, r, http.StatusOK, newUsersResponse{
		Today:     countDelta{Count: day, Delta: day - (twoDays - day)},
		Last7Days: countDelta{Count: week, Delta: week - (twoWeeks - week)},
	})
	return nil
}

// activeUsersResponse is the answer of GET /api/dashboard/users/active.
type activeUsersResponse struct {
	DAUCurve []dailyCount `json:"dauCurve"`
	DAU      countDelta   `json:"dau"`
	WAU      countDelta   `json:"wau"`
	MAU      countDelta   `json:"mau"`
}

// dailyCount is one day of the DAU curve.
type dailyCount struct {
	Date  string `json:"date"` // YYYY-MM-DD, UTC
	Count int    `json:"count"`
}

// parseDashboardDate parses the date parameter of the active users: one
// YYYY-MM-DD (a UTC day), or, as Logto's guard lets through what starts
// with one and JavaScript's Date reads, an RFC 3339 time, whose UTC day it
// is. Returns EINVALID (guard.invalid_input) otherwise.
func parseDashboardDate(values []string) (time.Time, error) {
	if len(values) == 1 {
		if d, err := time.Parse(time.DateOnly, values[0]); err == nil {
			return d, nil
		}
		if d, err := time.Parse(time.RFC3339Nano, values[0]); err == nil {
			return d.UTC(), nil
		}
	}
	return time.Time{}, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "date",
		Message: "date: must be one date as YYYY-MM-DD"}
}

// handleDashboardUsersActive counts, as Logto does, the users active on the
// day asked (date, YYYY-MM-DD, UTC; today by default) and on each of the 29
// before it, and the distinct users active in the 7 and 30 days ending with
// it, each with its change from the day or period before.
func (s *Server) handleDashboardUsersActive(w http.ResponseWriter, r *request) error {
	day := s.now().UTC()
	if q := r.URL.Query(); q.Has("date") {
		d, err := parseDashboardDate(q["date"])
		if err != nil {
			return err
		}
		day = d
	}
	c, err := s.store.CountActiveUsers(r.Context(), r.tenant, day)
	if err != nil {
		return err
	}
	out := activeUsersResponse{DAUCurve: make([]dailyCount, len(c.Daily)),
		DAU: countDelta{Count: c.Daily[len(c.Daily)-1], Delta: c.Daily[len(c.Daily)-1] - c.Daily[len(c.Daily)-2]},
		WAU: countDelta{Count: c.Weekly, Delta: c.Weekly - c.PreviousWeekly},
		MAU: countDelta{Count: c.Monthly, Delta: c.Monthly - c.PreviousMonthly},
	}
	for i, n := range c.Daily {
		out.DAUCurve[i] = dailyCount{Date: day.AddDate(0, 0, i-len(c.Daily)+1).Format(time.DateOnly), Count: n}
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
