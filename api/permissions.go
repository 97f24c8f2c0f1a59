package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/julienschmidt/httprouter"

	"github.com/idbolt/idbolt/store"
)

// Manager roles (README "Manager roles" has the table). A Management API
// token with scope all may call every route. A token without it may call a
// route only when its holder's manager roles allow it, as the route's policy
// below decides; every other route answers 403 auth.forbidden. Routes with
// no entry need tenant access: IAM_OWNER_VIEWER to read, IAM_OWNER to write.

// policy decides whether a caller with manager access a may call a route.
// It may read the request's body; it leaves it for the handler.
type policy func(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error)

const (
	read  = store.ReadAccess
	write = store.WriteAccess
)

// managerPolicies lists the routes that organization and resource managers
// may call, and the tenant routes that need more than read access to read.
func managerPolicies() map[string]policy {
	return map[string]policy{
		// Secrets and signing keys are not for viewers.
		"GET /api/applications/:applicationId/secrets": tenantAccess(write),
		"GET /api/configs/oidc/:keyType":               tenantAccess(write),

		// Lists that show only what the grant covers (see the list handlers).
		"GET /api/users":                    anyOf(tenantAccess(read), anyOrganization),
		"GET /api/users/:userId":            anyOf(tenantAccess(read), memberUser),
		"GET /api/organizations":            anyOf(tenantAccess(read), anyOrganization),
		"GET /api/resources":                anyOf(tenantAccess(read), anyResource),
		"GET /api/organization-invitations": anyOf(tenantAccess(read), anyOrganizationManager),

		// The organization template, to pick member roles from.
		"GET /api/organization-roles":                                     anyOf(tenantAccess(read), anyOrganization),
		"GET /api/organization-roles/:organizationRoleId":                 anyOf(tenantAccess(read), anyOrganization),
		"GET /api/organization-roles/:organizationRoleId/scopes":          anyOf(tenantAccess(read), anyOrganization),
		"GET /api/organization-roles/:organizationRoleId/resource-scopes": anyOf(tenantAccess(read), anyOrganization),
		"GET /api/organization-scopes":                                    anyOf(tenantAccess(read), anyOrganization),
		"GET /api/organization-scopes/:organizationScopeId":               anyOf(tenantAccess(read), anyOrganization),

		// One organization: its members, their roles, its managers.
		"GET /api/organizations/:organizationId":                      organization(read),
		"GET /api/organizations/:organizationId/users":                organization(read),
		"POST /api/organizations/:organizationId/users":               organization(write),
		"PUT /api/organizations/:organizationId/users":                organization(write),
		"DELETE /api/organizations/:organizationId/users/:userId":     organization(write),
		"GET /api/organizations/:organizationId/users/:userId/roles":  organization(read),
		"GET /api/organizations/:organizationId/users/:userId/scopes": organization(read),
		"POST /api/organizations/:organizationId/users/:userId":       memberRoles(true), // .../users/roles
		"POST /api/organizations/:organizationId/users/:userId/roles": memberRoles(true),
		"PUT /api/organizations/:organizationId/users/:userId/roles":  organization(write), // replaces roles outside a grant

		"GET /api/organizations/:organizationId/applications":                       organization(read),
		"POST /api/organizations/:organizationId/applications":                      organization(write),
		"PUT /api/organizations/:organizationId/applications":                       organization(write),
		"DELETE /api/organizations/:organizationId/applications/:applicationId":     organization(write),
		"GET /api/organizations/:organizationId/applications/:applicationId/roles":  organization(read),
		"POST /api/organizations/:organizationId/applications/:applicationId":       memberRoles(true), // .../applications/roles
		"POST /api/organizations/:organizationId/applications/:applicationId/roles": memberRoles(true),
		"PUT /api/organizations/:organizationId/applications/:applicationId/roles":  organization(write),

		"DELETE /api/organizations/:organizationId/users/:userId/roles/:organizationRoleId":               memberRoles(false),
		"DELETE /api/organizations/:organizationId/applications/:applicationId/roles/:organizationRoleId": memberRoles(false),

		"GET /api/organizations/:organizationId/managers":            organizationManager(read),
		"POST /api/organizations/:organizationId/managers":           organizationManager(write),
		"DELETE /api/organizations/:organizationId/managers/:userId": organizationManager(write),

		// Invitations of one organization.
		"POST /api/organization-invitations":                       invitationCreate,
		"GET /api/organization-invitations/:invitationId":          invitation(read),
		"DELETE /api/organization-invitations/:invitationId":       invitation(write),
		"PUT /api/organization-invitations/:invitationId/status":   invitation(write),
		"POST /api/organization-invitations/:invitationId/message": invitation(write),

		// One API resource: its scopes and managers.
		"GET /api/resources/:resourceId":                     resource(read),
		"PATCH /api/resources/:resourceId":                   anyOf(tenantAccess(write), resourceRename),
		"GET /api/resources/:resourceId/scopes":              resource(read),
		"POST /api/resources/:resourceId/scopes":             resource(write),
		"PATCH /api/resources/:resourceId/scopes/:scopeId":   resource(write),
		"DELETE /api/resources/:resourceId/scopes/:scopeId":  resource(write),
		"GET /api/resources/:resourceId/managers":            resourceManager(read),
		"POST /api/resources/:resourceId/managers":           resourceManagerSet,
		"DELETE /api/resources/:resourceId/managers/:userId": resourceManagerRemove,
	}
}

// policyFor returns the policy of a route.
func (s *Server) policyFor(method, path string) policy {
	if p, ok := s.policies[method+" "+path]; ok {
		return p
	}
	if method == http.MethodGet {
		return tenantAccess(read)
	}
	return tenantAccess(write)
}

func anyOf(ps ...policy) policy {
	return func(s *Server, r *http.Request, params httprouter.Params, a *store.ManagerAccess) (bool, error) {
		for _, p := range ps {
			if ok, err := p(s, r, params, a); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
}

func tenantAccess(need store.Access) policy {
	return func(_ *Server, _ *http.Request, _ httprouter.Params, a *store.ManagerAccess) (bool, error) {
		return a.Tenant >= need, nil
	}
}

// anyOrganization allows a caller with access to some organization; the
// handler shows only those.
func anyOrganization(_ *Server, _ *http.Request, _ httprouter.Params, a *store.ManagerAccess) (bool, error) {
	return len(a.Organizations)+len(a.Grants) > 0, nil
}

// anyOrganizationManager allows an ORG_OWNER(_VIEWER) of some organization.
func anyOrganizationManager(_ *Server, _ *http.Request, _ httprouter.Params, a *store.ManagerAccess) (bool, error) {
	return len(a.Organizations) > 0, nil
}

func anyResource(_ *Server, _ *http.Request, _ httprouter.Params, a *store.ManagerAccess) (bool, error) {
	return len(a.Resources)+len(a.Grants) > 0, nil
}

// memberUser allows reading a user who is a member of an organization the
// caller can read.
func memberUser(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
	orgs := a.OrganizationIDs()
	if len(orgs) == 0 {
		return false, nil
	}
	return s.store.IsMemberOfAny(r.Context(), tenantFromContext(r.Context()), ps.ByName("userId"), orgs)
}

// organization needs access to the organization of the route: a
// PROJECT_GRANT_OWNER in it reads it.
func organization(need store.Access) policy {
	return func(_ *Server, _ *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		return a.Organization(ps.ByName("organizationId")) >= need, nil
	}
}

// organizationManager needs tenant or ORG_OWNER(_VIEWER) access: managing
// managers is not part of a resource grant.
func organizationManager(need store.Access) policy {
	return func(_ *Server, _ *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		return max(a.Tenant, a.Organizations[ps.ByName("organizationId")]) >= need, nil
	}
}

func resource(need store.Access) policy {
	return func(_ *Server, _ *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		return a.Resource(ps.ByName("resourceId")) >= need, nil
	}
}

// resourceRename allows a PROJECT_OWNER to change its resource's name and
// nothing else: accessTokenTtl (and any field added later) needs tenant
// write access, as the manager roles table says.
func resourceRename(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
	if ok, err := resource(write)(s, r, ps, a); err != nil || !ok {
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
	return func(_ *Server, _ *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		return max(a.Tenant, a.Resources[ps.ByName("resourceId")]) >= need, nil
	}
}

// resourceManagerSet allows setting a resource's managers to its
// PROJECT_OWNER; a resource grant (organizationId in the body) also needs
// write access to that organization, so that no one grants a resource
// into an organization they do not manage, themselves included.
func resourceManagerSet(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
	var body struct {
		OrganizationID *string `json:"organizationId"`
	}
	if err := peekJSON(r, &body); err != nil {
		return false, nil
	}
	return resourceGrantAccess(a, ps.ByName("resourceId"), body.OrganizationID), nil
}

// resourceManagerRemove is resourceManagerSet for DELETE, whose grant
// organization is the query's organizationId.
func resourceManagerRemove(_ *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
	var org *string
	if q := r.URL.Query(); q.Has("organizationId") {
		v := q.Get("organizationId")
		org = &v
	}
	return resourceGrantAccess(a, ps.ByName("resourceId"), org), nil
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
	return func(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		org := ps.ByName("organizationId")
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
			roles.IDs = []string{ps.ByName("organizationRoleId")}
		}
		return s.store.OrganizationRolesWithin(r.Context(), tenantFromContext(r.Context()), roles.IDs, roles.Names, a.Grants[org])
	}
}

// invitationCreate needs write access to the organization in the body.
func invitationCreate(_ *Server, r *http.Request, _ httprouter.Params, a *store.ManagerAccess) (bool, error) {
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
	return func(s *Server, r *http.Request, ps httprouter.Params, a *store.ManagerAccess) (bool, error) {
		if a.Tenant >= need {
			return true, nil
		}
		inv, err := s.store.FindInvitationByID(r.Context(), tenantFromContext(r.Context()), ps.ByName("invitationId"))
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
func peekJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	return json.Unmarshal(data, v)
}

// authorizeManager checks a token without scope all against its holder's
// manager roles and returns the context the handler runs with.
func (s *Server) authorizeManager(r *http.Request, ps httprouter.Params, pol policy, clientID string) (context.Context, error) {
	ctx := r.Context()
	a, err := s.store.FindManagerAccess(ctx, tenantFromContext(ctx), clientID)
	if err != nil {
		return nil, err
	}
	if a.Any() {
		ok, err := pol(s, r, ps, a)
		if err != nil {
			return nil, err
		} else if ok {
			return context.WithValue(ctx, managerAccessKey, a), nil
		}
	}
	return nil, &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden",
		Message: "Forbidden. Please check your user roles and permissions."}
}

// managerAccessFrom returns the manager access of a caller without tenant
// read access, or nil when the caller sees the whole tenant.
func managerAccessFrom(ctx context.Context) *store.ManagerAccess {
	a, _ := ctx.Value(managerAccessKey).(*store.ManagerAccess)
	if a == nil || a.Tenant >= read {
		return nil
	}
	return a
}

// visibleOrganizations returns the organizations a list may show: nil for
// all.
func visibleOrganizations(ctx context.Context) []string {
	if a := managerAccessFrom(ctx); a != nil {
		return a.OrganizationIDs()
	}
	return nil
}

// managedOrganizations returns the organizations whose invitations a list
// may show: nil for all.
func managedOrganizations(ctx context.Context) []string {
	a := managerAccessFrom(ctx)
	if a == nil {
		return nil
	}
	return append([]string{}, slices.Sorted(maps.Keys(a.Organizations))...)
}

// visibleResources returns the resources a list may show: nil for all.
func visibleResources(ctx context.Context) []string {
	if a := managerAccessFrom(ctx); a != nil {
		return a.ResourceIDs()
	}
	return nil
}
