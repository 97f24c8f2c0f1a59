package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// managerResponse is one manager's roles at one scope on the wire.
type managerResponse struct {
	UserID         string   `json:"userId"`
	Roles          []string `json:"roles"`
	OrganizationID *string  `json:"organizationId,omitempty"`
	ResourceID     *string  `json:"resourceId,omitempty"`
	CreatedAt      int64    `json:"createdAt"`
	UpdatedAt      int64    `json:"updatedAt"`
}

func toManagerResponse(m *store.Manager) managerResponse {
	out := managerResponse{UserID: m.UserID, Roles: m.Roles, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
	if m.OrganizationID != "" {
		out.OrganizationID = &m.OrganizationID
	}
	if m.ResourceID != "" {
		out.ResourceID = &m.ResourceID
	}
	return out
}

// managerScope reads the scope of a managers route: the tenant, the
// organization of the route, or the resource of the route, optionally
// within the organization given by organizationId (a resource grant).
type managerScope func(r *request, organizationID string) store.ManagerScope

func tenantManagers(*request, string) store.ManagerScope {
	return store.ManagerScope{}
}

func organizationManagers(r *request, _ string) store.ManagerScope {
	return store.ManagerScope{OrganizationID: r.param("organizationId")}
}

func resourceManagers(r *request, organizationID string) store.ManagerScope {
	return store.ManagerScope{ResourceID: r.param("resourceId"), OrganizationID: organizationID}
}

// managerListHandler serves GET .../managers.
func (s *Server) managerListHandler(scope managerScope) handler {
	return func(w http.ResponseWriter, r *request) error {
		lq, err := parseList(r, pagedAlways, nil)
		if err != nil {
			return err
		}
		list, total, err := s.store.FindManagers(r.Context(), r.tenant, scope(r, ""), lq.page)
		if err != nil {
			return err
		}
		s.writeList(w, r, lq, total, mapSlice(list, toManagerResponse))
		return nil
	}
}

// managerSetRequest is the body of POST of a managers list.
type managerSetRequest struct {
	UserID         *string   `json:"userId"`
	ClientID       *string   `json:"clientId"`
	Roles          *[]string `json:"roles"`
	OrganizationID *string   `json:"organizationId"`
}

// managerSetHandler serves POST .../managers {userId | clientId, roles,
// organizationId}: it sets the roles of a user, or of an API client's user,
// at the scope (201 when new, 200 when replaced).
func (s *Server) managerSetHandler(scope managerScope) handler {
	return func(w http.ResponseWriter, r *request) error {
		var req managerSetRequest
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if (req.UserID == nil) == (req.ClientID == nil) {
			return fieldErr("userId", "give exactly one of userId and clientId")
		}
		if err := requireField(req.Roles != nil && len(*req.Roles) > 0, "roles"); err != nil {
			return err
		}
		ctx, tenant := r.Context(), r.tenant
		sc := scope(r, "")
		if req.OrganizationID != nil {
			if sc.ResourceID == "" || *req.OrganizationID == "" {
				return fieldErr("organizationId", "is only for a resource's managers, to grant the resource within an organization")
			}
			sc = scope(r, *req.OrganizationID)
		}
		userID := ""
		if req.UserID != nil {
			userID = *req.UserID
		} else {
			c, err := s.store.FindAPIClient(ctx, tenant, *req.ClientID)
			if err != nil {
				return err
			}
			userID = c.UserID
		}
		m, created, err := s.store.SetManager(ctx, tenant, sc, userID, *req.Roles)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		s.writeJSON(w, r, status, toManagerResponse(m))
		return nil
	}
}

// managerRemoveHandler serves DELETE .../managers/{userId}; for a
// resource, ?organizationId= removes a resource grant.
func (s *Server) managerRemoveHandler(scope managerScope) handler {
	return func(w http.ResponseWriter, r *request) error {
		org := r.URL.Query().Get("organizationId")
		sc := scope(r, org)
		if org != "" && sc.ResourceID == "" {
			return fieldErr("organizationId", "is only for a resource's managers")
		}
		if err := s.store.RemoveManager(r.Context(), r.tenant, sc, r.param("userId")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
