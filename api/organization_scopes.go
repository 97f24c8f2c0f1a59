package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// organizationScopeResponse is an organization scope on the wire.
type organizationScopeResponse struct {
	TenantID    string  `json:"tenantId"`
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

func toOrganizationScopeResponse(tenant string) func(s *store.OrganizationScope) organizationScopeResponse {
	return func(s *store.OrganizationScope) organizationScopeResponse {
		return organizationScopeResponse{TenantID: tenant, ID: s.ID, Name: s.Name, Description: s.Description}
	}
}

func (s *Server) handleOrganizationScopeList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	scopes, total, err := s.store.FindOrganizationScopes(r.Context(), tenant, r.URL.Query().Get("q"), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(scopes, toOrganizationScopeResponse(tenant)))
	return nil
}

// organizationScopeBody is the body of POST and PATCH /api/organization-scopes.
type organizationScopeBody struct {
	TenantID    *string             `json:"tenantId"`
	ID          *string             `json:"id"`
	Name        *string             `json:"name"`
	Description store.Field[string] `json:"description"`
}

func (s *Server) handleOrganizationScopeCreate(w http.ResponseWriter, r *request) error {
	var req organizationScopeBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	tenant := r.tenant
	scope, err := s.store.CreateOrganizationScope(r.Context(), tenant, *req.Name, req.Description.Value)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, toOrganizationScopeResponse(tenant)(scope))
	return nil
}

func (s *Server) handleOrganizationScopeGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	scope, err := s.store.FindOrganizationScopeByID(r.Context(), tenant, r.param("organizationScopeId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationScopeResponse(tenant)(scope))
	return nil
}

func (s *Server) handleOrganizationScopeUpdate(w http.ResponseWriter, r *request) error {
	var req organizationScopeBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	scope, err := s.store.UpdateOrganizationScope(r.Context(), tenant, r.param("organizationScopeId"), req.Name, req.Description)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationScopeResponse(tenant)(scope))
	return nil
}

func (s *Server) handleOrganizationScopeDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteOrganizationScope(r.Context(), r.tenant, r.param("organizationScopeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
