package api

import (
	"context"
	"net/http"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
)

// organizationUserItem is a member as GET /api/organizations/{id}/users
// lists it: the user without hasPassword, with its roles there.
type organizationUserItem struct {
	userResponse
	HasPassword       *bool     `json:"hasPassword,omitempty" openapi:"-"` // shadows userResponse's: Logto's list has none
	OrganizationRoles []roleRef `json:"organizationRoles"`
}

// organizationApplicationItem is an application member with its roles.
type organizationApplicationItem struct {
	applicationResponse
	OrganizationRoles []roleRef `json:"organizationRoles"`
}

func memberFilter(r *request) store.MemberFilter {
	q := r.URL.Query()
	return store.MemberFilter{Keyword: q.Get("q"), RoleID: q.Get("organizationRoleId")}
}

func (s *Server) handleOrganizationUserList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	users, total, err := s.store.FindOrganizationUsers(r.Context(), r.tenant,
		r.param("organizationId"), memberFilter(r), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(users, func(u *store.UserWithOrganizationRoles) organizationUserItem {
		return organizationUserItem{userResponse: toUserResponse(u.User), OrganizationRoles: toRoleRefs(u.Roles)}
	}))
	return nil
}

func (s *Server) handleOrganizationApplicationList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	apps, total, err := s.store.FindOrganizationApplications(r.Context(), tenant, r.param("organizationId"), memberFilter(r), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(apps, func(a *store.ApplicationWithOrganizationRoles) organizationApplicationItem {
		return organizationApplicationItem{applicationResponse: toApplicationResponse(tenant)(a.Application),
			OrganizationRoles: toRoleRefs(a.Roles)}
	}))
	return nil
}

// removeMemberHandler serves DELETE of one member; param names its id.
func (s *Server) removeMemberHandler(param string, remove func(ctx context.Context, tenant, orgID, id string) error) handler {
	return func(w http.ResponseWriter, r *request) error {
		if err := remove(r.Context(), r.tenant, r.param("organizationId"), r.param(param)); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

// bulkRolesHandler serves POST /api/organizations/{id}/users/roles and
// .../applications/roles, which give every listed member every listed
// role. httprouter cannot hold the static "roles" beside the member id
// parameter, so it is registered as POST .../users/:userId and any other
// id is an unknown route.
func (s *Server) bulkRolesHandler(param, field string,
	assign func(ctx context.Context, tenant, orgID string, memberIDs, roleIDs []string) error) handler {
	return func(w http.ResponseWriter, r *request) error {
		if r.param(param) != "roles" {
			return errRouteNotFound(r)
		}
		var req idsRequest
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		members := map[string]*[]string{"userIds": req.UserIDs, "applicationIds": req.ApplicationIDs}[field]
		if err := firstError(requireField(members != nil && len(*members) > 0, field),
			requireField(req.OrganizationRoleIDs != nil && len(*req.OrganizationRoleIDs) > 0, "organizationRoleIds")); err != nil {
			return err
		}
		memberIDs, err := checkIDs(field, *members)
		if err != nil {
			return err
		}
		roleIDs, err := checkIDs("organizationRoleIds", *req.OrganizationRoleIDs)
		if err != nil {
			return err
		}
		if err := assign(r.Context(), r.tenant, r.param("organizationId"), memberIDs, roleIDs); err != nil {
			return err
		}
		w.WriteHeader(http.StatusCreated)
		return nil
	}
}

func (s *Server) handleOrganizationUserRoleList(w http.ResponseWriter, r *request) error {
	return s.listMemberRoles(w, r, r.param("organizationId"), r.param("userId"), s.store.FindOrganizationUserRoles)
}

func (s *Server) handleOrganizationApplicationRoleList(w http.ResponseWriter, r *request) error {
	return s.listMemberRoles(w, r, r.param("organizationId"), r.param("applicationId"), s.store.FindOrganizationApplicationRoles)
}

func (s *Server) listMemberRoles(w http.ResponseWriter, r *request, orgID, memberID string,
	find func(ctx context.Context, tenant, orgID, memberID string, p pagination.Params) ([]*store.OrganizationRole, int, error)) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	roles, total, err := find(r.Context(), tenant, orgID, memberID, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(roles, toOrganizationRoleResponse(tenant)))
	return nil
}

// organizationUserRolesRequest is the body of POST and PUT /api/organizations/{organizationId}/users/{userId}/roles.
type organizationUserRolesRequest struct {
	OrganizationRoleIDs   []string `json:"organizationRoleIds"`
	OrganizationRoleNames []string `json:"organizationRoleNames"`
}

// handleOrganizationUserRoleAssign serves POST (201 with the ids) and PUT
// (204) of a member's roles, named by id or by name.
func (s *Server) handleOrganizationUserRoleAssign(w http.ResponseWriter, r *request) error {
	var req organizationUserRolesRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	ids, err := checkIDs("organizationRoleIds", req.OrganizationRoleIDs)
	if err != nil {
		return err
	}
	if _, err := checkIDs("organizationRoleNames", req.OrganizationRoleNames); err != nil {
		return err
	}
	replace := r.Method == http.MethodPut
	ids, err = s.store.AssignOrganizationUserRoles(r.Context(), r.tenant,
		r.param("organizationId"), r.param("userId"), ids, req.OrganizationRoleNames, replace)
	if err != nil {
		return err
	}
	if replace {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	s.writeJSON(w, r, http.StatusCreated, map[string][]string{"organizationRoleIds": ids})
	return nil
}

// handleOrganizationApplicationRoleAssign serves POST (201) and PUT (204)
// of an application member's roles; Logto requires at least one id in both.
func (s *Server) handleOrganizationApplicationRoleAssign(w http.ResponseWriter, r *request) error {
	ids, err := decodeIDs(w, r, "organizationRoleIds")
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return fieldErr("organizationRoleIds", "must hold at least one id")
	}
	replace := r.Method == http.MethodPut
	if err := s.store.AssignOrganizationApplicationRoles(r.Context(), r.tenant,
		r.param("organizationId"), r.param("applicationId"), ids, replace); err != nil {
		return err
	}
	if replace {
		w.WriteHeader(http.StatusNoContent)
	} else {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}

func (s *Server) handleOrganizationUserRoleRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveOrganizationUserRole(r.Context(), r.tenant,
		r.param("organizationId"), r.param("userId"), r.param("organizationRoleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleOrganizationApplicationRoleRemove(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveOrganizationApplicationRole(r.Context(), r.tenant,
		r.param("organizationId"), r.param("applicationId"), r.param("organizationRoleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleOrganizationUserScopeList(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	scopes, err := s.store.FindOrganizationUserScopes(r.Context(), tenant, r.param("organizationId"), r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, mapSlice(scopes, toOrganizationScopeResponse(tenant)))
	return nil
}
