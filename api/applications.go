package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/idbolt/idbolt/store"
)

// applicationResponse is an application on the wire, with Logto's fields.
type applicationResponse struct {
	TenantID                     string                     `json:"tenantId"`
	ID                           string                     `json:"id"`
	Name                         string                     `json:"name"`
	Secret                       string                     `json:"secret,omitempty"` // only in the create response
	Description                  *string                    `json:"description"`
	Type                         string                     `json:"type"`
	OIDCClientMetadata           store.OIDCClientMetadata   `json:"oidcClientMetadata"`
	CustomClientMetadata         store.CustomClientMetadata `json:"customClientMetadata"`
	ProtectedAppMetadata         *struct{}                  `json:"protectedAppMetadata"`
	CustomData                   map[string]any             `json:"customData"`
	IsThirdParty                 bool                       `json:"isThirdParty"`
	AppLevelAccessControlEnabled bool                       `json:"appLevelAccessControlEnabled"`
	CreatedAt                    int64                      `json:"createdAt"`
}

// applicationDetail is an application as GET /api/applications/{id} answers
// it: with whether it is an instance administrator.
type applicationDetail struct {
	applicationResponse
	IsAdmin bool `json:"isAdmin"`
}

func toApplicationResponse(tenant string) func(a *store.Application) applicationResponse {
	return func(a *store.Application) applicationResponse {
		return applicationResponse{TenantID: tenant, ID: a.ID, Name: a.Name, Description: a.Description, Type: a.Type,
			OIDCClientMetadata: a.OIDCClientMetadata, CustomClientMetadata: a.CustomClientMetadata,
			CustomData: a.CustomData, IsThirdParty: a.IsThirdParty,
			AppLevelAccessControlEnabled: a.AppLevelAccessControlEnabled, CreatedAt: a.CreatedAt}
	}
}

// applicationCreateRequest is the body of POST /api/applications.
type applicationCreateRequest struct {
	Name                 *string                     `json:"name"`
	Description          *string                     `json:"description"`
	Type                 *string                     `json:"type"`
	OIDCClientMetadata   *store.OIDCClientMetadata   `json:"oidcClientMetadata"`
	CustomClientMetadata *store.CustomClientMetadata `json:"customClientMetadata"`
	CustomData           map[string]any              `json:"customData"`
	IsThirdParty         *bool                       `json:"isThirdParty"`
	ProtectedAppMetadata json.RawMessage             `json:"protectedAppMetadata"`
}

func (s *Server) handleApplicationCreate(w http.ResponseWriter, r *request) error {
	var req applicationCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.Name != nil, "name"), requireField(req.Type != nil, "type")); err != nil {
		return err
	}
	tenant := r.tenant
	in := store.ApplicationCreate{Name: *req.Name, Description: req.Description, Type: *req.Type,
		OIDCClientMetadata: req.OIDCClientMetadata, CustomClientMetadata: req.CustomClientMetadata,
		CustomData: req.CustomData, IsThirdParty: req.IsThirdParty != nil && *req.IsThirdParty,
		HasProtectedAppMetadata: len(req.ProtectedAppMetadata) > 0 && string(req.ProtectedAppMetadata) != "null"}
	app, secret, err := s.store.CreateApplication(r.Context(), tenant, in)
	if err != nil {
		return err
	}
	out := toApplicationResponse(tenant)(app)
	out.Secret = secret
	// Logto answers this create with 200, not 201.
	s.writeSecretJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleApplicationList(w http.ResponseWriter, r *request) error {
	opts := store.ApplicationSearchOptions()
	lq, err := parseList(r, pagedOnRequest, &opts)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.ApplicationFilter{Search: lq.search, ExcludeRoleID: q.Get("excludeRoleId")}
	for _, t := range q["types"] {
		for _, t := range strings.Split(t, ",") {
			if !store.ValidAppType(t) {
				return fieldErr("types", "must be Native, SPA, Traditional, MachineToMachine, Protected or SAML")
			}
			f.Types = append(f.Types, t)
		}
	}
	if f.IsThirdParty, err = parseBool(q, "isThirdParty"); err != nil {
		return err
	}
	f.ExcludeOrganizationID = q.Get("excludeOrganizationId")
	tenant := r.tenant
	apps, total, err := s.store.FindApplications(r.Context(), tenant, f, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(apps, toApplicationResponse(tenant)))
	return nil
}

// parseBool reads an optional "true" or "false" query parameter.
func parseBool(q map[string][]string, name string) (*bool, error) {
	v, ok := q[name]
	if !ok {
		return nil, nil
	}
	if len(v) != 1 || (v[0] != "true" && v[0] != "false") {
		return nil, fieldErr(name, `must be "true" or "false"`)
	}
	b := v[0] == "true"
	return &b, nil
}

func (s *Server) handleApplicationGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	app, err := s.store.FindApplicationByID(r.Context(), tenant, r.param("applicationId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, applicationDetail{applicationResponse: toApplicationResponse(tenant)(app), IsAdmin: app.IsAdmin})
	return nil
}

// applicationUpdateRequest is the body of PATCH /api/applications/{id}.
type applicationUpdateRequest struct {
	Name                         store.Field[string]         `json:"name"`
	Description                  store.Field[string]         `json:"description"`
	OIDCClientMetadata           *store.OIDCClientMetadata   `json:"oidcClientMetadata"`
	CustomClientMetadata         *store.CustomClientMetadata `json:"customClientMetadata"`
	CustomData                   map[string]any              `json:"customData"`
	AppLevelAccessControlEnabled *bool                       `json:"appLevelAccessControlEnabled"`
	IsAdmin                      *bool                       `json:"isAdmin"`
	ProtectedAppMetadata         json.RawMessage             `json:"protectedAppMetadata"`
}

func (s *Server) handleApplicationUpdate(w http.ResponseWriter, r *request) error {
	var req applicationUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.ProtectedAppMetadata) > 0 && string(req.ProtectedAppMetadata) != "null" {
		return &store.Error{Code: store.EINVALID, Detail: "application.protected_application_only",
			Message: "The feature is only available for protected applications, which idbolt does not support."}
	}
	if req.Name.Set && req.Name.Value == nil {
		return fieldErr("name", "must be a string, not null")
	}
	tenant := r.tenant
	app, err := s.store.UpdateApplication(r.Context(), tenant, r.param("applicationId"), store.ApplicationUpdate{
		Name: req.Name.Value, Description: req.Description, OIDCClientMetadata: req.OIDCClientMetadata,
		CustomClientMetadata: req.CustomClientMetadata, CustomData: req.CustomData,
		AppLevelAccessControlEnabled: req.AppLevelAccessControlEnabled, IsAdmin: req.IsAdmin,
	})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toApplicationResponse(tenant)(app))
	return nil
}

func (s *Server) handleApplicationDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteApplication(r.Context(), r.tenant, r.param("applicationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleApplicationCustomDataGet(w http.ResponseWriter, r *request) error {
	app, err := s.store.FindApplicationByID(r.Context(), r.tenant, r.param("applicationId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, app.CustomData)
	return nil
}

// handleApplicationCustomDataUpdate merges the body, a JSON object, into the
// application's custom data, as Logto does.
func (s *Server) handleApplicationCustomDataUpdate(w http.ResponseWriter, r *request) error {
	patch := map[string]any{}
	if err := decodeJSON(w, r, &patch); err != nil {
		return err
	}
	app, err := s.store.UpdateApplication(r.Context(), r.tenant, r.param("applicationId"),
		store.ApplicationUpdate{MergeCustomData: patch})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, app.CustomData)
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
