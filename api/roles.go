package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// roleResponse is a role on the wire.
type roleResponse struct {
	TenantID    string `json:"tenantId"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	IsDefault   bool   `json:"isDefault"`
}

// roleListItem is a role as GET /api/roles lists it, with Logto's counts.
type roleListItem struct {
	roleResponse
	UsersCount           int                   `json:"usersCount"`
	FeaturedUsers        []featuredUser        `json:"featuredUsers"`
	ApplicationsCount    int                   `json:"applicationsCount"`
	FeaturedApplications []featuredApplication `json:"featuredApplications"`
}

type featuredUser struct {
	ID     string  `json:"id"`
	Avatar *string `json:"avatar"`
	Name   *string `json:"name"`
}

type featuredApplication struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

func toRoleResponse(tenant string) func(r *store.Role) roleResponse {
	return func(r *store.Role) roleResponse {
		return roleResponse{TenantID: tenant, ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type, IsDefault: r.IsDefault}
	}
}

func (s *Server) handleRoleList(w http.ResponseWriter, r *request) error {
	opts := store.RoleSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.RoleFilter{Search: lq.search, ExcludeUserID: q.Get("excludeUserId"),
		ExcludeApplicationID: q.Get("excludeApplicationId"), Type: q.Get("type")}
	if f.Type != "" && f.Type != store.RoleUser && f.Type != store.RoleMachineToMachine {
		return fieldErr("type", "must be User or MachineToMachine")
	}
	tenant := r.tenant
	roles, total, err := s.store.FindRoles(r.Context(), tenant, f, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(roles, func(rc *store.RoleWithCounts) roleListItem {
		return roleListItem{roleResponse: toRoleResponse(tenant)(rc.Role),
			UsersCount: rc.UsersCount, ApplicationsCount: rc.ApplicationsCount,
			FeaturedUsers: mapSlice(rc.FeaturedUsers, func(u store.FeaturedUser) featuredUser {
				return featuredUser{ID: u.ID, Avatar: u.Avatar, Name: u.Name}
			}),
			FeaturedApplications: mapSlice(rc.FeaturedApplications, func(a store.FeaturedApplication) featuredApplication {
				return featuredApplication{ID: a.ID, Name: a.Name, Type: a.Type}
			}),
		}
	}))
	return nil
}

// roleCreateRequest is the body of POST /api/roles.
type roleCreateRequest struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Type        *string   `json:"type"`
	IsDefault   *bool     `json:"isDefault"`
	ScopeIDs    *[]string `json:"scopeIds"`
}

func (s *Server) handleRoleCreate(w http.ResponseWriter, r *request) error {
	var req roleCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.Name != nil, "name"), requireField(req.Description != nil, "description")); err != nil {
		return err
	}
	in := store.RoleCreate{Name: *req.Name, Description: *req.Description}
	if req.Type != nil {
		if *req.Type == "" {
			return fieldErr("type", "must be User or MachineToMachine")
		}
		in.Type = *req.Type
	}
	if req.IsDefault != nil {
		in.IsDefault = *req.IsDefault
	}
	if req.ScopeIDs != nil {
		ids, err := checkIDs("scopeIds", *req.ScopeIDs)
		if err != nil {
			return err
		}
		in.ScopeIDs = ids
	}
	tenant := r.tenant
	role, err := s.store.CreateRole(r.Context(), tenant, in)
	if err != nil {
		return err
	}
	// Logto answers this create with 200, not 201.
	s.writeJSON(w, r, http.StatusOK, toRoleResponse(tenant)(role))
	return nil
}

func (s *Server) handleRoleGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	role, err := s.store.FindRoleByID(r.Context(), tenant, r.param("roleId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toRoleResponse(tenant)(role))
	return nil
}

// roleUpdateRequest is the body of PATCH /api/roles/{roleId}.
type roleUpdateRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	IsDefault   *bool   `json:"isDefault"`
}

func (s *Server) handleRoleUpdate(w http.ResponseWriter, r *request) error {
	var req roleUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	role, err := s.store.UpdateRole(r.Context(), tenant, r.param("roleId"),
		store.RoleUpdate{Name: req.Name, Description: req.Description, IsDefault: req.IsDefault})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toRoleResponse(tenant)(role))
	return nil
}

func (s *Server) handleRoleDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteRole(r.Context(), r.tenant, r.param("roleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
