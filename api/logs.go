package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/idbolt/idbolt/store"
)

// logResponse is an audit entry in Logto's log shape.
type logResponse struct {
	TenantID  string          `json:"tenantId"`
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Payload   json.RawMessage `json:"payload" openapi:"object"`
	CreatedAt int64           `json:"createdAt"`
}

func toLogResponse(tenant string, e *store.AuditEntry) logResponse {
	return logResponse{TenantID: tenant, ID: e.ID, Key: e.Key, Payload: e.Payload, CreatedAt: e.CreatedAt}
}

// parseMillis reads an optional epoch-milliseconds query parameter.
func parseMillis(q map[string][]string, name string) (*int64, error) {
	v, ok := q[name]
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if len(v) != 1 || err != nil || n < 0 {
		return nil, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: name,
			Message: name + ": must be one non-negative whole number of epoch milliseconds"}
	}
	return &n, nil
}

func (s *Server) handleLogList(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	f := store.AuditFilter{UserID: q.Get("userId"), ApplicationID: q.Get("applicationId"), Key: q.Get("logKey")}
	if f.Start, err = parseMillis(q, "start_time"); err != nil {
		return err
	}
	if f.End, err = parseMillis(q, "end_time"); err != nil {
		return err
	}
	if f.Start != nil && f.End != nil && *f.Start > *f.End {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "start_time",
			Message: "start_time: must not be after end_time"}
	}
	tenant := r.tenant
	entries, total, err := s.store.FindAuditEntries(r.Context(), tenant, f, lq.page)
	if err != nil {
		return err
	}
	out := make([]logResponse, len(entries))
	for i, e := range entries {
		out[i] = toLogResponse(tenant, e)
	}
	s.writeList(w, r, lq, total, out)
	return nil
}

func (s *Server) handleLogGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	e, err := s.store.FindAuditEntryByID(r.Context(), tenant, r.param("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toLogResponse(tenant, e))
	return nil
}
