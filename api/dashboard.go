package api

import (
	"net/http"
	"time"
)

// The dashboard's user counts, as Logto's console shows them. Active users
// (GET /api/dashboard/users/active) are not counted yet.

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
