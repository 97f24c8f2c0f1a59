package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// resourceResponse is an API resource on the wire.
type resourceResponse struct {
	TenantID       string `json:"tenantId"`
	ID             string `json:"id"`
	Name           string `json:"name"`
	Indicator      string `json:"indicator"`
	IsDefault      bool   `json:"isDefault"`
	AccessTokenTTL int    `json:"accessTokenTtl"`
}

// resourceListItem is a resource in the list, with its scopes when the list
// is asked to include them, and in the create response, with [].
type resourceListItem struct {
	resourceResponse
	Scopes *[]scopeResponse `json:"scopes,omitempty"`
}

// scopeResponse is a scope on the wire.
type scopeResponse struct {
	TenantID    string  `json:"tenantId"`
	ID          string  `json:"id"`
	ResourceID  string  `json:"resourceId"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	CreatedAt   int64   `json:"createdAt"`
}

func toResourceResponse(tenant string) func(r *store.Resource) resourceResponse {
	return func(r *store.Resource) resourceResponse {
		return resourceResponse{TenantID: tenant, ID: r.ID, Name: r.Name, Indicator: r.Indicator,
			IsDefault: r.IsDefault, AccessTokenTTL: r.AccessTokenTTL}
	}
}

func toScopeResponse(tenant string) func(s *store.Scope) scopeResponse {
	return func(s *store.Scope) scopeResponse {
		return scopeResponse{TenantID: tenant, ID: s.ID, ResourceID: s.ResourceID, Name: s.Name,
			Description: s.Description, CreatedAt: s.CreatedAt}
	}
}

func (s *Server) handleResourceList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	// Logto reads includeScopes with its yes() helper: true, 1 and yes.
	include := false
	switch r.URL.Query().Get("includeScopes") {
	case "true", "1", "yes", "y":
		include = true
	}
	tenant := r.tenant
	resources, total, err := s.store.FindResources(r.Context(), tenant, lq.page, include, r.visibleResources())
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(resources, func(rs store.ResourceWithScopes) resourceListItem {
		out := resourceListItem{resourceResponse: toResourceResponse(tenant)(rs.Resource)}
		if include {
			scopes := mapSlice(rs.Scopes, toScopeResponse(tenant))
			out.Scopes = &scopes
		}
		return out
	}))
	return nil
}

// resourceCreateRequest is the body of POST /api/resources.
type resourceCreateRequest struct {
	Name           *string `json:"name"`
	Indicator      *string `json:"indicator"`
	AccessTokenTTL *int    `json:"accessTokenTtl"`
}

func (s *Server) handleResourceCreate(w http.ResponseWriter, r *request) error {
	var req resourceCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.Name != nil, "name"), requireField(req.Indicator != nil, "indicator")); err != nil {
		return err
	}
	tenant := r.tenant
	res, err := s.store.CreateResource(r.Context(), tenant, store.ResourceCreate{Name: *req.Name,
		Indicator: *req.Indicator, AccessTokenTTL: req.AccessTokenTTL})
	if err != nil {
		return err
	}
	out := resourceListItem{resourceResponse: toResourceResponse(tenant)(res), Scopes: &[]scopeResponse{}}
	s.writeJSON(w, r, http.StatusCreated, out)
	return nil
}

func (s *Server) handleResourceGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	res, err := s.store.FindResourceByID(r.Context(), tenant, r.param("resourceId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toResourceResponse(tenant)(res))
	return nil
}

// resourceUpdateRequest is the body of PATCH /api/resources/{resourceId}.
type resourceUpdateRequest struct {
	Name           *string `json:"name"`
	AccessTokenTTL *int    `json:"accessTokenTtl"`
}

func (s *Server) handleResourceUpdate(w http.ResponseWriter, r *request) error {
	var req resourceUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	res, err := s.store.UpdateResource(r.Context(), tenant, r.param("resourceId"),
		store.ResourceUpdate{Name: req.Name, AccessTokenTTL: req.AccessTokenTTL})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toResourceResponse(tenant)(res))
	return nil
}

// resourceIsDefaultRequest is the body of PATCH /api/resources/{resourceId}/is-default.
type resourceIsDefaultRequest struct {
	IsDefault *bool `json:"isDefault"`
}

func (s *Server) handleResourceIsDefault(w http.ResponseWriter, r *request) error {
	var req resourceIsDefaultRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.IsDefault != nil, "isDefault"); err != nil {
		return err
	}
	tenant := r.tenant
	res, err := s.store.SetResourceDefault(r.Context(), tenant, r.param("resourceId"), *req.IsDefault)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toResourceResponse(tenant)(res))
	return nil
}

func (s *Server) handleResourceDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteResource(r.Context(), r.tenant, r.param("resourceId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleScopeList(w http.ResponseWriter, r *request) error {
	opts := store.ScopeSearchOptions()
	lq, err := parseList(r, pagedOnRequest, &opts)
	if err != nil {
		return err
	}
	tenant := r.tenant
	scopes, total, err := s.store.FindResourceScopes(r.Context(), tenant, r.param("resourceId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(scopes, toScopeResponse(tenant)))
	return nil
}

// scopeRequest is the body of the scope create and update routes.
type scopeRequest struct {
	Name        *string             `json:"name"`
	Description store.Field[string] `json:"description"`
}

func (s *Server) handleScopeCreate(w http.ResponseWriter, r *request) error {
	var req scopeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	tenant := r.tenant
	scope, err := s.store.CreateScope(r.Context(), tenant, r.param("resourceId"), *req.Name, req.Description.Value)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, toScopeResponse(tenant)(scope))
	return nil
}

func (s *Server) handleScopeUpdate(w http.ResponseWriter, r *request) error {
	var req scopeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	scope, err := s.store.UpdateScope(r.Context(), tenant, r.param("resourceId"), r.param("scopeId"), req.Name, req.Description)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toScopeResponse(tenant)(scope))
	return nil
}

func (s *Server) handleScopeDelete(w http.ResponseWriter, r *request) error {
	err := s.store.DeleteScope(r.Context(), r.tenant, r.param("resourceId"), r.param("scopeId"))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
