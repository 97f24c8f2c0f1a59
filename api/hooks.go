package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
)

// hookConfig is a hook's config on the wire.
type hookConfig struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Retries *int              `json:"retries,omitempty"`
}

// hookResponse is a hook on the wire, as Logto answers it: the signing key
// in clear, the deprecated event as null.
type hookResponse struct {
	TenantID   string     `json:"tenantId"`
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Event      *string    `json:"event"`
	Events     []string   `json:"events"`
	Config     hookConfig `json:"config"`
	SigningKey string     `json:"signingKey"`
	Enabled    bool       `json:"enabled"`
	CreatedAt  int64      `json:"createdAt"`
}

// hookWithStats is a hook as GET answers it, with executionStats when
// includeExecutionStats asks for them.
type hookWithStats struct {
	hookResponse
	ExecutionStats *executionStats `json:"executionStats,omitempty"`
}

// hookLogResponse is a delivery attempt as recent-logs lists it: Logto's
// log shape without tenantId.
type hookLogResponse struct {
	ID        string          `json:"id"`
	Key       string          `json:"key"`
	Payload   json.RawMessage `json:"payload" openapi:"object"`
	CreatedAt int64           `json:"createdAt"`
}

// executionStats counts a hook's delivery attempts of the last 24 hours.
type executionStats struct {
	SuccessCount int `json:"successCount"`
	RequestCount int `json:"requestCount"`
}

func toHookResponse(tenant string) func(h *store.Hook) hookResponse {
	return func(h *store.Hook) hookResponse {
		return hookResponse{TenantID: tenant, ID: h.ID, Name: h.Name, Events: h.Events,
			Config:     hookConfig{URL: h.Config.URL, Headers: h.Config.Headers, Retries: h.Config.Retries},
			SigningKey: h.SigningKey, Enabled: h.Enabled, CreatedAt: h.CreatedAt}
	}
}

// hookRequestBody is the body of POST /api/hooks and PATCH /api/hooks/{id}.
// event is Logto's deprecated single event; events wins when both are set.
type hookRequestBody struct {
	Name    *string     `json:"name"`
	Event   *string     `json:"event"`
	Events  *[]string   `json:"events"`
	Config  *hookConfig `json:"config"`
	Enabled *bool       `json:"enabled"`
}

// events returns the events the body names, nil when it names none.
func (b *hookRequestBody) events() *[]string {
	if b.Events != nil {
		return b.Events
	}
	if b.Event != nil {
		return &[]string{*b.Event}
	}
	return nil
}

func (c *hookConfig) toStore() *store.HookConfig {
	if c == nil {
		return nil
	}
	return &store.HookConfig{URL: c.URL, Headers: c.Headers, Retries: c.Retries}
}

func (s *Server) handleHookList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	hooks, total, err := s.store.FindHooks(r.Context(), r.tenant, lq.page)
	if err != nil {
		return err
	}
	out := mapSlice(hooks, func(h *store.Hook) hookWithStats { return hookWithStats{hookResponse: toHookResponse(r.tenant)(h)} })
	if err := s.addHookStats(r, out); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // every hook shows its signing key
	w.Header().Set("Pragma", "no-cache")
	s.writeList(w, r, lq, total, out)
	return nil
}

func (s *Server) handleHookCreate(w http.ResponseWriter, r *request) error {
	var req hookRequestBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Config != nil, "config"); err != nil {
		return err
	}
	in := store.HookCreate{Config: *req.Config.toStore(), Enabled: req.Enabled}
	if req.Name != nil {
		in.Name = *req.Name
	}
	if ev := req.events(); ev != nil {
		in.Events = *ev
	}
	hook, err := s.store.CreateHook(r.Context(), r.tenant, in)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, toHookResponse(r.tenant)(hook))
	return nil
}

func (s *Server) handleHookGet(w http.ResponseWriter, r *request) error {
	hook, err := s.store.FindHookByID(r.Context(), r.tenant, r.param("id"))
	if err != nil {
		return err
	}
	out := []hookWithStats{{hookResponse: toHookResponse(r.tenant)(hook)}}
	if err := s.addHookStats(r, out); err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, out[0])
	return nil
}

func (s *Server) handleHookUpdate(w http.ResponseWriter, r *request) error {
	var req hookRequestBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	hook, err := s.store.UpdateHook(r.Context(), r.tenant, r.param("id"), store.HookUpdate{
		Name: req.Name, Events: req.events(), Config: req.Config.toStore(), Enabled: req.Enabled})
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, toHookResponse(r.tenant)(hook))
	return nil
}

func (s *Server) handleHookDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteHook(r.Context(), r.tenant, r.param("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleHookSigningKey(w http.ResponseWriter, r *request) error {
	hook, err := s.store.RotateHookSigningKey(r.Context(), r.tenant, r.param("id"))
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, toHookResponse(r.tenant)(hook))
	return nil
}

// hookTestBody is the body of POST /api/hooks/{id}/test: the events to
// send a sample of and where to send them.
type hookTestBody struct {
	Events *[]string   `json:"events"`
	Event  *string     `json:"event"` // deprecated, as in Logto
	Config *hookConfig `json:"config"`
}

// hookTestTimeout bounds the whole test: the samples are sent at once, each
// with the deliverer's timeout, so a caller waits at most this long.
const hookTestTimeout = defaultHookTimeout

// handleHookTest posts a sample of each event to the given config's URL,
// signed with the hook's key, as Logto's test does: 204 when every sample
// was taken (2xx), else 422 naming the first failure. The samples carry
// the hook, event, time, caller's ip and user agent, and no data; they are
// neither retried nor logged in recent-logs. The caller chose the URL, as
// it does when it creates a hook, and a test costs it at most one request
// per event name and hookTestTimeout.
func (s *Server) handleHookTest(w http.ResponseWriter, r *request) error {
	var req hookTestBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Config != nil, "config"); err != nil {
		return err
	}
	var events []string
	if ev := (&hookRequestBody{Events: req.Events, Event: req.Event}).events(); ev != nil {
		events = *ev
	}
	hook, err := s.store.HookForTest(r.Context(), r.tenant, r.param("id"), events, *req.Config.toStore())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), hookTestTimeout)
	defer cancel()
	now := s.now()
	errs := make([]error, len(hook.Events))
	var wg sync.WaitGroup
	for i, event := range hook.Events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.sendHookSample(ctx, r, hook, event, now)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sendHookSample posts one sample of event to hook and returns Logto's 422
// error when the receiver does not take it.
func (s *Server) sendHookSample(ctx context.Context, r *request, hook *store.Hook, event string, now time.Time) error {
	body, err := json.Marshal(&hookPayload{HookID: hook.ID, Event: event, CreatedAt: isoMillis(now),
		UserAgent: r.UserAgent(), IP: auth.ClientIP(r.Request)})
	if err != nil {
		return err
	}
	// A sample has an event id of its own, as every delivery does.
	status, answer, err := postHook(ctx, s.hookClient, hookTestTimeout, hook, body, rand.Text())
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the caller knows the URL
		}
		return &store.Error{Code: store.EUNPROCESSABLE, Detail: "hook.send_test_payload_failed",
			Message: fmt.Sprintf("%s: the request failed: %v", event, err)}
	}
	if status/100 != 2 {
		return &store.Error{Code: store.EUNPROCESSABLE, Detail: "hook.endpoint_responded_with_error",
			Message: fmt.Sprintf("%s: the endpoint answered %d: %.256s", event, status, answer)}
	}
	return nil
}

// hookStatsWindow is how far back executionStats and recent-logs look, as
// in Logto.
const hookStatsWindow = 24 * time.Hour

// addHookStats sets the executionStats of hooks, when the request asks
// for them (includeExecutionStats): their delivery attempts of the last 24
// hours, counted in one walk of the audit log.
func (s *Server) addHookStats(r *request, hooks []hookWithStats) error {
	if !yes(r.URL.Query(), "includeExecutionStats") || len(hooks) == 0 {
		return nil
	}
	ids := mapSlice(hooks, func(h hookWithStats) string { return h.ID })
	since := s.now().Add(-hookStatsWindow).UnixMilli()
	counts, err := s.store.CountHookAttempts(r.Context(), r.tenant, ids, since)
	if err != nil {
		return err
	}
	for i := range hooks {
		c := counts[hooks[i].ID]
		hooks[i].ExecutionStats = &executionStats{RequestCount: c.All, SuccessCount: c.Succeeded}
	}
	return nil
}

func (s *Server) handleHookRecentLogs(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if _, err := s.store.FindHookByID(r.Context(), r.tenant, r.param("id")); err != nil {
		return err
	}
	since := s.now().Add(-hookStatsWindow).UnixMilli()
	f := store.AuditFilter{Key: q.Get("logKey"), Start: &since, HookID: r.param("id")}
	if start, err := parseMillis(q, "start_time"); err != nil {
		return err
	} else if end, err := parseMillis(q, "end_time"); err != nil {
		return err
	} else if start != nil || end != nil {
		f.Start, f.End = start, end
		if start != nil && end != nil && *start > *end {
			return fieldErr("start_time", "must not be after end_time")
		}
	}
	entries, total, err := s.store.FindAuditEntries(r.Context(), r.tenant, f, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(entries, func(e *store.AuditEntry) hookLogResponse {
		return hookLogResponse{ID: e.ID, Key: e.Key, Payload: e.Payload, CreatedAt: e.CreatedAt}
	}))
	return nil
}

// hookRoute is the hook event a Management API route fires and the status
// it answers on success.
type hookRoute struct {
	event  string
	status int
}

// hookRoutes maps "METHOD pattern" (the pattern without the tenant prefix)
// to the event the route fires, as Logto's management API hooks do. A
// declarative table, never changed.
var hookRoutes = map[string]hookRoute{
	"POST /api/users":                           {store.HookUserCreated, http.StatusOK},
	"DELETE /api/users/:userId":                 {store.HookUserDeleted, http.StatusNoContent},
	"PATCH /api/users/:userId":                  {store.HookUserDataUpdated, http.StatusOK},
	"PATCH /api/users/:userId/custom-data":      {store.HookUserDataUpdated, http.StatusOK},
	"PATCH /api/users/:userId/profile":          {store.HookUserDataUpdated, http.StatusOK},
	"PATCH /api/users/:userId/password":         {store.HookUserDataUpdated, http.StatusOK},
	"PATCH /api/users/:userId/is-suspended":     {store.HookUserSuspensionStatusUpdated, http.StatusOK},
	"POST /api/roles":                           {store.HookRoleCreated, http.StatusOK},
	"DELETE /api/roles/:roleId":                 {store.HookRoleDeleted, http.StatusNoContent},
	"PATCH /api/roles/:roleId":                  {store.HookRoleDataUpdated, http.StatusOK},
	"POST /api/roles/:roleId/scopes":            {store.HookRoleScopesUpdated, http.StatusCreated},
	"DELETE /api/roles/:roleId/scopes/:scopeId": {store.HookRoleScopesUpdated, http.StatusNoContent},

	"POST /api/resources/:resourceId/scopes":            {store.HookScopeCreated, http.StatusCreated},
	"PATCH /api/resources/:resourceId/scopes/:scopeId":  {store.HookScopeDataUpdated, http.StatusOK},
	"DELETE /api/resources/:resourceId/scopes/:scopeId": {store.HookScopeDeleted, http.StatusNoContent},

	"POST /api/organizations":                                               {store.HookOrganizationCreated, http.StatusCreated},
	"DELETE /api/organizations/:organizationId":                             {store.HookOrganizationDeleted, http.StatusNoContent},
	"PATCH /api/organizations/:organizationId":                              {store.HookOrganizationDataUpdated, http.StatusOK},
	"POST /api/organizations/:organizationId/users":                         {store.HookOrganizationMembershipUpdate, http.StatusCreated},
	"PUT /api/organizations/:organizationId/users":                          {store.HookOrganizationMembershipUpdate, http.StatusNoContent},
	"DELETE /api/organizations/:organizationId/users/:userId":               {store.HookOrganizationMembershipUpdate, http.StatusNoContent},
	"POST /api/organizations/:organizationId/applications":                  {store.HookOrganizationMembershipUpdate, http.StatusCreated},
	"PUT /api/organizations/:organizationId/applications":                   {store.HookOrganizationMembershipUpdate, http.StatusNoContent},
	"DELETE /api/organizations/:organizationId/applications/:applicationId": {store.HookOrganizationMembershipUpdate, http.StatusNoContent},

	"POST /api/organization-roles":                                                   {store.HookOrganizationRoleCreated, http.StatusCreated},
	"DELETE /api/organization-roles/:organizationRoleId":                             {store.HookOrganizationRoleDeleted, http.StatusNoContent},
	"PATCH /api/organization-roles/:organizationRoleId":                              {store.HookOrganizationRoleDataUpdated, http.StatusOK},
	"POST /api/organization-roles/:organizationRoleId/scopes":                        {store.HookOrganizationRoleScopesUpdate, http.StatusCreated},
	"PUT /api/organization-roles/:organizationRoleId/scopes":                         {store.HookOrganizationRoleScopesUpdate, http.StatusNoContent},
	"DELETE /api/organization-roles/:organizationRoleId/scopes/:organizationScopeId": {store.HookOrganizationRoleScopesUpdate, http.StatusNoContent},
	"POST /api/organization-roles/:organizationRoleId/resource-scopes":               {store.HookOrganizationRoleScopesUpdate, http.StatusCreated},
	"PUT /api/organization-roles/:organizationRoleId/resource-scopes":                {store.HookOrganizationRoleScopesUpdate, http.StatusNoContent},
	"DELETE /api/organization-roles/:organizationRoleId/resource-scopes/:scopeId":    {store.HookOrganizationRoleScopesUpdate, http.StatusNoContent},

	"POST /api/organization-scopes":                        {store.HookOrganizationScopeCreated, http.StatusCreated},
	"DELETE /api/organization-scopes/:organizationScopeId": {store.HookOrganizationScopeDeleted, http.StatusNoContent},
	"PATCH /api/organization-scopes/:organizationScopeId":  {store.HookOrganizationScopeDataUpdated, http.StatusOK},
}

// hookRequest returns what the hook event of route e tells of request r,
// or nil when the route fires no event.
func hookRequest(r *request, e *endpoint) *store.HookRequest {
	hr, ok := hookRoutes[r.Method+" "+e.path]
	if !ok {
		return nil
	}
	params := make(map[string]string, len(r.params))
	for _, p := range r.params {
		if p.Key != "tenant" {
			params[p.Key] = p.Value
		}
	}
	return &store.HookRequest{Event: hr.event, Path: r.URL.Path, Method: r.Method, MatchedRoute: e.path,
		Status: hr.status, Params: params}
}
