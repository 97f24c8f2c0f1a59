package api

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"slices"

	"github.com/idbolt/idbolt/store"
)

// Manager roles (README "Manager roles" has the table). A Management API
// token with scope all may call every route. A token without it may call a
// route only when its holder's manager roles allow it, as the policy on the
// route's line (server.go, allow) decides; otherwise it answers 403
// auth.forbidden. Routes without a policy of their own (management) need
// tenant access: IAM_OWNER_VIEWER to read, IAM_OWNER to write.

// policy decides whether a caller with manager access a may call a route.
// It may read the request's body; it leaves it for the handler.
type policy func(s *Server, r *request, a *store.ManagerAccess) (bool, error)

const (
	read  = store.ReadAccess
	write = store.WriteAccess
)

func anyOf(ps ...policy) policy {
	return func(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
		for _, p := range ps {
			if ok, err := p(s, r, a); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
}

func tenantAccess(need store.Access) policy {
	return func(_ *Server, _ *request, a *store.ManagerAccess) (bool, error) {
		return a.Tenant >= need, nil
	}
}

// anyOrganization allows a caller with access to some organization; the
// handler shows only those.
func anyOrganization(_ *Server, _ *request, a *store.ManagerAccess) (bool, error) {
	return len(a.Organizations)+len(a.Grants) > 0, nil
}

// anyOrganizationManager allows an ORG_OWNER(_VIEWER) of some organization.
func anyOrganizationManager(_ *Server, _ *request, a *store.ManagerAccess) (bool, error) {
	return len(a.Organizations) > 0, nil
}

func anyResource(_ *Server, _ *request, a *store.ManagerAccess) (bool, error) {
	return len(a.Resources)+len(a.Grants) > 0, nil
}

// memberUser allows reading a user who is a member of an organization the
// caller can read.
func memberUser(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
	orgs := a.OrganizationIDs()
	if len(orgs) == 0 {
		return false, nil
	}
	return s.store.IsMemberOfAny(r.Context(), r.tenant, r.param("userId"), orgs)
}

// organization needs access to the organization of the route: a
// PROJECT_GRANT_OWNER in it reads it.
func organization(need store.Access) policy {
	return func(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
		return a.Organization(r.param("organizationId")) >= need, nil
	}
}

// organizationManager needs tenant or ORG_OWNER(_VIEWER) access: managing
// managers is not part of a resource grant.
func organizationManager(need store.Access) policy {
	return func(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
		return max(a.Tenant, a.Organizations[r.param("organizationId")]) >= need, nil
	}
}

func resource(need store.Access) policy {
	return func(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
		return a.Resource(r.param("resourceId")) >= need, nil
	}
}

// resourceRename allows a PROJECT_OWNER to change its resource's name and
// nothing else: accessTokenTtl (and any field added later) needs tenant
// write access, as the manager roles table says.
func resourceRename(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
	if ok, err := resource(write)(s, r, a); err != nil || !ok {
		return false, err
	}
	var body map[string]json.RawMessage
	if err := peekJSON(r, &body); err != nil {
		return false, nil
	}
	for field := range body {
		if field != "name" {
			return false, nil
		}
	}
	return true, nil
}

func resourceManager(need store.Access) policy {
	return func(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
		return max(a.Tenant, a.Resources[r.param("resourceId")]) >= need, nil
	}
}

// resourceManagerSet allows setting a resource's managers to its
// PROJECT_OWNER; a resource grant (organizationId in the body) also needs
// write access to that organization, so that no one grants a resource
// into an organization they do not manage, themselves included.
func resourceManagerSet(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
	var body struct {
		OrganizationID *string `json:"organizationId"`
	}
	if err := peekJSON(r, &body); err != nil {
		return false, nil
	}
	return resourceGrantAccess(a, r.param("resourceId"), body.OrganizationID), nil
}

// resourceManagerRemove is resourceManagerSet for DELETE, whose grant
// organization is the query's organizationId.
func resourceManagerRemove(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
	var org *string
	if q := r.URL.Query(); q.Has("organizationId") {
		v := q.Get("organizationId")
		org = &v
	}
	return resourceGrantAccess(a, r.param("resourceId"), org), nil
}

func resourceGrantAccess(a *store.ManagerAccess, resourceID string, org *string) bool {
	if max(a.Tenant, a.Resources[resourceID]) < write {
		return false
	}
	return org == nil || max(a.Tenant, a.Organizations[*org]) >= write
}

// memberRoles allows writing an organization's member roles to whoever may
// write the organization, and to a PROJECT_GRANT_OWNER in it for roles
// that carry only the granted resources' scopes. The roles are in the body
// (inBody) or the route's organizationRoleId.
func memberRoles(inBody bool) policy {
	return func(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
		org := r.param("organizationId")
		if a.Organization(org) >= write {
			return true, nil
		}
		if !a.GrantOwner(org) {
			return false, nil
		}
		var roles struct {
			IDs   []string `json:"organizationRoleIds"`
			Names []string `json:"organizationRoleNames"`
		}
		if inBody {
			if err := peekJSON(r, &roles); err != nil {
				return false, nil // the handler reports the bad body to those allowed to call
			}
		} else {
			roles.IDs = []string{r.param("organizationRoleId")}
		}
		return s.store.OrganizationRolesWithin(r.Context(), r.tenant, roles.IDs, roles.Names, a.Grants[org])
	}
}

// invitationCreate needs write access to the organization in the body.
func invitationCreate(_ *Server, r *request, a *store.ManagerAccess) (bool, error) {
	var body struct {
		OrganizationID string `json:"organizationId"`
	}
	if err := peekJSON(r, &body); err != nil {
		return false, nil
	}
	return max(a.Tenant, a.Organizations[body.OrganizationID]) >= write, nil
}

// invitation needs ORG_OWNER(_VIEWER) access to the invitation's
// organization. An unknown invitation is refused like a foreign one.
func invitation(need store.Access) policy {
	return func(s *Server, r *request, a *store.ManagerAccess) (bool, error) {
		if a.Tenant >= need {
			return true, nil
		}
		inv, err := s.store.FindInvitationByID(r.Context(), r.tenant, r.param("invitationId"))
		if store.ErrorCode(err) == store.ENOTFOUND {
			return false, nil
		} else if err != nil {
			return false, err
		}
		return a.Organizations[inv.OrganizationID] >= need, nil
	}
}

// peekJSON decodes the request body into v and puts the body back for the
// handler.
func peekJSON(r *request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return json.Unmarshal(data, v)
}

// authorizeManager checks a token without scope all against its holder's
// manager roles and returns the access that the route's policy allowed.
func (s *Server) authorizeManager(r *request, pol policy, clientID string) (*store.ManagerAccess, error) {
	a, byUser, err := s.consoleManagerAccess(r) // a user signed in to the console
	if !byUser {
		a, err = s.store.FindManagerAccess(r.Context(), r.tenant, clientID)
	}
	if err != nil {
		return nil, err
	}
	if a.Any() {
		ok, err := pol(s, r, a)
		if err != nil {
			return nil, err
		} else if ok {
			return a, nil
		}
	}
	return nil, &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
		Message: "Forbidden. Please check your user roles and permissions."}
}

// visibleOrganizations returns the organizations a list may show: nil for
// all.
func (r *request) visibleOrganizations() []string {
	if a := r.restricted(); a != nil {
		return a.OrganizationIDs()
	}
	return nil
}

// managedOrganizations returns the organizations whose invitations a list
// may show: nil for all.
func (r *request) managedOrganizations() []string {
	a := r.restricted()
	if a == nil {
		return nil
	}
	return append([]string{}, slices.Sorted(maps.Keys(a.Organizations))...)
}

// visibleResources returns the resources a list may show: nil for all.
func (r *request) visibleResources() []string {
	if a := r.restricted(); a != nil {
		return a.ResourceIDs()
	}
	return nil
}
