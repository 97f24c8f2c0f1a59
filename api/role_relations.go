package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// roleScopeResponse is a scope of a role, with its resource.
type roleScopeResponse struct {
	scopeResponse
	Resource resourceResponse `json:"resource"`
}

// assignResponse answers the POST routes that add roles to a user or an
// app; their PUT answers with roleIDsBody.
type assignResponse struct {
	RoleIDs      []string `json:"roleIds"`
	AddedRoleIDs []string `json:"addedRoleIds"`
}

func (s *Server) handleRoleScopeList(w http.ResponseWriter, r *request) error {
	opts := store.ScopeSearchOptions()
	lq, err := parseList(r, pagedOnRequest, &opts)
	if err != nil {
		return err
	}
	tenant := r.tenant
	scopes, total, err := s.store.FindRoleScopes(r.Context(), tenant, r.param("roleId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(scopes, func(sr store.ScopeWithResource) roleScopeResponse {
		return roleScopeResponse{scopeResponse: toScopeResponse(tenant)(sr.Scope), Resource: toResourceResponse(tenant)(sr.Resource)}
	}))
	return nil
}

func (s *Server) handleRoleScopeAssign(w http.ResponseWriter, r *request) error {
	ids, err := decodeIDs(w, r, "scopeIds")
	if err != nil {
		return err
	}
	if len(ids) == 0 { // Logto: scopeIds must be non-empty
		return fieldErr("scopeIds", "must hold at least one id")
	}
	tenant := r.tenant
	scopes, err := s.store.AssignRoleScopes(r.Context(), tenant, r.param("roleId"), ids)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, mapSlice(scopes, toScopeResponse(tenant)))
	return nil
}

func (s *Server) handleRoleScopeRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveRoleScope(r.Context(), r.tenant, r.param("roleId"), r.param("scopeId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRoleUserList(w http.ResponseWriter, r *request) error {
	opts := store.UserSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	users, total, err := s.store.FindRoleUsers(r.Context(), r.tenant, r.param("roleId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(users, toUserResponse))
	return nil
}

func (s *Server) handleRoleUserAssign(w http.ResponseWriter, r *request) error {
	ids, err := decodeIDs(w, r, "userIds")
	if err != nil {
		return err
	}
	if len(ids) == 0 { // Logto's guard: a nonempty array
		return fieldErr("userIds", "must hold at least one id")
	}
	if err := s.store.AssignRoleUsers(r.Context(), r.tenant, r.param("roleId"), ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) handleRoleUserRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveRoleUser(r.Context(), r.tenant, r.param("roleId"), r.param("userId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleRoleApplicationList(w http.ResponseWriter, r *request) error {
	opts := store.ApplicationSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	tenant := r.tenant
	apps, total, err := s.store.FindRoleApplications(r.Context(), tenant, r.param("roleId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(apps, toApplicationResponse(tenant)))
	return nil
}

func (s *Server) handleRoleApplicationAssign(w http.ResponseWriter, r *request) error {
	ids, err := decodeIDs(w, r, "applicationIds")
	if err != nil {
		return err
	}
	if len(ids) == 0 { // Logto's guard: a nonempty array
		return fieldErr("applicationIds", "must hold at least one id")
	}
	if err := s.store.AssignRoleApplications(r.Context(), r.tenant, r.param("roleId"), ids); err != nil {
		return err
	}
	w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) handleRoleApplicationRemove(w http.ResponseWriter, r *request) error {
	err := s.store.RemoveRoleApplication(r.Context(), r.tenant, r.param("roleId"), r.param("applicationId"))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserRoleList(w http.ResponseWriter, r *request) error {
	opts := store.RoleSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	tenant := r.tenant
	roles, total, err := s.store.FindUserRoles(r.Context(), tenant, r.param("userId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(roles, toRoleResponse(tenant)))
	return nil
}

// assignRoles serves POST (add) and PUT (replace) of a user's or an app's
// roles through assign.
func (s *Server) assignRoles(w http.ResponseWriter, r *request, owner string,
	assign func(tenant, owner string, ids []string, replace bool) ([]string, error)) error {
	ids, err := decodeIDs(w, r, "roleIds")
	if err != nil {
		return err
	}
	replace := r.Method == http.MethodPut
	added, err := assign(r.tenant, owner, ids, replace)
	if err != nil {
		return err
	}
	if replace {
		s.writeJSON(w, r, http.StatusOK, roleIDsBody{RoleIDs: ids})
		return nil
	}
	if added == nil {
		added = []string{}
	}
	s.writeJSON(w, r, http.StatusCreated, assignResponse{RoleIDs: ids, AddedRoleIDs: added})
	return nil
}

func (s *Server) handleUserRoleAssign(w http.ResponseWriter, r *request) error {
	return s.assignRoles(w, r, r.param("userId"), func(tenant, owner string, ids []string, replace bool) ([]string, error) {
		return s.store.AssignUserRoles(r.Context(), tenant, owner, ids, replace)
	})
}

func (s *Server) handleUserRoleRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveUserRole(r.Context(), r.tenant, r.param("userId"), r.param("roleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleApplicationRoleList(w http.ResponseWriter, r *request) error {
	opts := store.RoleSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	tenant := r.tenant
	roles, total, err := s.store.FindApplicationRoles(r.Context(), tenant, r.param("applicationId"), lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(roles, toRoleResponse(tenant)))
	return nil
}

func (s *Server) handleApplicationRoleAssign(w http.ResponseWriter, r *request) error {
	return s.assignRoles(w, r, r.param("applicationId"), func(tenant, owner string, ids []string, replace bool) ([]string, error) {
		return s.store.AssignApplicationRoles(r.Context(), tenant, owner, ids, replace)
	})
}

func (s *Server) handleApplicationRoleRemove(w http.ResponseWriter, r *request) error {
	err := s.store.RemoveApplicationRole(r.Context(), r.tenant, r.param("applicationId"), r.param("roleId"))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
