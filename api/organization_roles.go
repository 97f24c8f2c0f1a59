package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// organizationRoleResponse is an organization role on the wire.
type organizationRoleResponse struct {
	TenantID    string  `json:"tenantId"`
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Type        string  `json:"type"`
}

// organizationRoleListItem is an organization role as the list shows it.
type organizationRoleListItem struct {
	organizationRoleResponse
	Scopes         []roleRef               `json:"scopes"`
	ResourceScopes []resourceScopeListItem `json:"resourceScopes"`
}

type resourceScopeListItem struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Resource roleRef `json:"resource"`
}

func toOrganizationRoleResponse(tenant string) func(r *store.OrganizationRole) organizationRoleResponse {
	return func(r *store.OrganizationRole) organizationRoleResponse {
		return organizationRoleResponse{TenantID: tenant, ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type}
	}
}

func (s *Server) handleOrganizationRoleList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	roles, total, err := s.store.FindOrganizationRoles(r.Context(), tenant, r.URL.Query().Get("q"), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(roles, func(rs *store.OrganizationRoleWithScopes) organizationRoleListItem {
		return organizationRoleListItem{organizationRoleResponse: toOrganizationRoleResponse(tenant)(rs.OrganizationRole),
			Scopes: toRoleRefs(rs.Scopes),
			ResourceScopes: mapSlice(rs.ResourceScopes, func(sc store.ScopeWithResource) resourceScopeListItem {
				return resourceScopeListItem{ID: sc.ID, Name: sc.Name, Resource: roleRef{ID: sc.Resource.ID, Name: sc.Resource.Name}}
			})}
	}))
	return nil
}

// organizationRoleCreateRequest is the body of POST /api/organization-roles.
type organizationRoleCreateRequest struct {
	TenantID             *string   `json:"tenantId"`
	Name                 *string   `json:"name"`
	Description          *string   `json:"description"`
	Type                 *string   `json:"type"`
	OrganizationScopeIDs *[]string `json:"organizationScopeIds"`
	ResourceScopeIDs     *[]string `json:"resourceScopeIds"`
}

func (s *Server) handleOrganizationRoleCreate(w http.ResponseWriter, r *request) error {
	var req organizationRoleCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	in := store.OrganizationRoleCreate{Name: *req.Name, Description: req.Description}
	if req.Type != nil {
		if *req.Type == "" {
			return fieldErr("type", "must be User or MachineToMachine")
		}
		in.Type = *req.Type
	}
	var err error
	if req.OrganizationScopeIDs != nil {
		if in.OrganizationScopeIDs, err = checkIDs("organizationScopeIds", *req.OrganizationScopeIDs); err != nil {
			return err
		}
	}
	if req.ResourceScopeIDs != nil {
		if in.ResourceScopeIDs, err = checkIDs("resourceScopeIds", *req.ResourceScopeIDs); err != nil {
			return err
		}
	}
	tenant := r.tenant
	role, err := s.store.CreateOrganizationRole(r.Context(), tenant, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, toOrganizationRoleResponse(tenant)(role))
	return nil
}

func (s *Server) handleOrganizationRoleGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	role, err := s.store.FindOrganizationRoleByID(r.Context(), tenant, r.param("organizationRoleId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationRoleResponse(tenant)(role))
	return nil
}

// organizationRoleUpdateRequest is the body of PATCH /api/organization-roles/{organizationRoleId}.
type organizationRoleUpdateRequest struct {
	TenantID    *string             `json:"tenantId"`
	ID          *string             `json:"id"`
	Name        *string             `json:"name"`
	Description store.Field[string] `json:"description"`
	Type        *string             `json:"type"`
}

func (s *Server) handleOrganizationRoleUpdate(w http.ResponseWriter, r *request) error {
	var req organizationRoleUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	role, err := s.store.UpdateOrganizationRole(r.Context(), tenant, r.param("organizationRoleId"),
		store.OrganizationRoleUpdate{Name: req.Name, Description: req.Description, Type: req.Type})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationRoleResponse(tenant)(role))
	return nil
}

func (s *Server) handleOrganizationRoleDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteOrganizationRole(r.Context(), r.tenant, r.param("organizationRoleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleOrganizationRoleScopeList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	scopes, total, err := s.store.FindOrganizationRoleScopes(r.Context(), tenant, r.param("organizationRoleId"), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(scopes, toOrganizationScopeResponse(tenant)))
	return nil
}

func (s *Server) handleOrganizationRoleResourceScopeList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	scopes, total, err := s.store.FindOrganizationRoleResourceScopes(r.Context(), tenant, r.param("organizationRoleId"), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(scopes, toScopeResponse(tenant)))
	return nil
}

func (s *Server) handleOrganizationRoleScopeRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveOrganizationRoleScope(r.Context(), r.tenant,
		r.param("organizationRoleId"), r.param("organizationScopeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleOrganizationRoleResourceScopeRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveOrganizationRoleResourceScope(r.Context(), r.tenant,
		r.param("organizationRoleId"), r.param("scopeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
