package api

import (
	"net/http"
	"strings"

	"github.com/idbolt/idbolt/store"
)

// organizationResponse is an organization on the wire.
type organizationResponse struct {
	TenantID      string                     `json:"tenantId"`
	ID            string                     `json:"id"`
	Name          string                     `json:"name"`
	Description   *string                    `json:"description"`
	CustomData    map[string]any             `json:"customData"`
	IsMfaRequired bool                       `json:"isMfaRequired"`
	Color         store.OrganizationColor    `json:"color"`
	Branding      store.OrganizationBranding `json:"branding"`
	CustomCSS     *string                    `json:"customCss"`
	CreatedAt     int64                      `json:"createdAt"`
}

// organizationListItem adds showFeatured's fields.
type organizationListItem struct {
	organizationResponse
	UsersCount    *int            `json:"usersCount,omitempty"`
	FeaturedUsers *[]featuredUser `json:"featuredUsers,omitempty"`
}

// organizationWithRoles is an organization with a member's roles in it.
type organizationWithRoles struct {
	organizationResponse
	OrganizationRoles []roleRef `json:"organizationRoles"`
}

// roleRef is an organization role beside a member or an organization.
type roleRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func toRoleRefs(refs []store.OrganizationRoleRef) []roleRef {
	return mapSlice(refs, func(r store.OrganizationRoleRef) roleRef { return roleRef{ID: r.ID, Name: r.Name} })
}

func toOrganizationResponse(tenant string) func(o *store.Organization) organizationResponse {
	return func(o *store.Organization) organizationResponse {
		return organizationResponse{TenantID: tenant, ID: o.ID, Name: o.Name, Description: o.Description,
			CustomData: o.CustomData, IsMfaRequired: o.IsMfaRequired, Color: o.Color, Branding: o.Branding,
			CustomCSS: o.CustomCSS, CreatedAt: o.CreatedAt}
	}
}

func toOrganizationsWithRoles(tenant string, orgs []*store.OrganizationWithRoles) []organizationWithRoles {
	return mapSlice(orgs, func(o *store.OrganizationWithRoles) organizationWithRoles {
		return organizationWithRoles{organizationResponse: toOrganizationResponse(tenant)(o.Organization),
			OrganizationRoles: toRoleRefs(o.Roles)}
	})
}

// truthy is how Logto reads flags such as showFeatured.
func truthy(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "y":
		return true
	}
	return false
}

func (s *Server) handleOrganizationList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.OrganizationFilter{Keyword: q.Get("q"), Featured: truthy(q.Get("showFeatured")),
		IDs: r.visibleOrganizations()}
	tenant := r.tenant
	orgs, total, err := s.store.FindOrganizations(r.Context(), tenant, f, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(orgs, func(o *store.OrganizationWithFeatured) organizationListItem {
		item := organizationListItem{organizationResponse: toOrganizationResponse(tenant)(o.Organization)}
		if f.Featured {
			users := mapSlice(o.FeaturedUsers, func(u store.FeaturedUser) featuredUser {
				return featuredUser{ID: u.ID, Avatar: u.Avatar, Name: u.Name}
			})
			item.UsersCount, item.FeaturedUsers = &o.UsersCount, &users
		}
		return item
	}))
	return nil
}

// organizationBody is the body of POST and PATCH /api/organizations. id,
// tenantId and createdAt are accepted, as by Logto's guard, and ignored.
type organizationBody struct {
	TenantID      *string                     `json:"tenantId"`
	ID            *string                     `json:"id"`
	Name          *string                     `json:"name"`
	Description   store.Field[string]         `json:"description"`
	CustomData    store.Field[map[string]any] `json:"customData"`
	IsMfaRequired *bool                       `json:"isMfaRequired"`
	Color         *store.OrganizationColor    `json:"color"`
	Branding      *store.OrganizationBranding `json:"branding"`
	CustomCSS     store.Field[string]         `json:"customCss"`
	CreatedAt     *int64                      `json:"createdAt"`
}

func (s *Server) handleOrganizationCreate(w http.ResponseWriter, r *request) error {
	var req organizationBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	in := store.OrganizationCreate{Name: *req.Name, Description: req.Description.Value,
		Color: req.Color, Branding: req.Branding, CustomCSS: req.CustomCSS.Value}
	if req.CustomData.Set {
		if req.CustomData.Value == nil { // "customData": null
			return fieldErr("customData", "must be an object")
		}
		in.CustomData = *req.CustomData.Value
	}
	if req.IsMfaRequired != nil {
		in.IsMfaRequired = *req.IsMfaRequired
	}
	tenant := r.tenant
	org, err := s.store.CreateOrganization(r.Context(), tenant, in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, toOrganizationResponse(tenant)(org))
	return nil
}

func (s *Server) handleOrganizationGet(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	org, err := s.store.FindOrganizationByID(r.Context(), tenant, r.param("organizationId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationResponse(tenant)(org))
	return nil
}

func (s *Server) handleOrganizationUpdate(w http.ResponseWriter, r *request) error {
	var req organizationBody
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	upd := store.OrganizationUpdate{Name: req.Name, Description: req.Description, IsMfaRequired: req.IsMfaRequired,
		Color: req.Color, Branding: req.Branding, CustomCSS: req.CustomCSS}
	if req.CustomData.Set {
		if req.CustomData.Value == nil { // "customData": null
			return fieldErr("customData", "must be an object")
		}
		upd.CustomData = *req.CustomData.Value
	}
	tenant := r.tenant
	org, err := s.store.UpdateOrganization(r.Context(), tenant, r.param("organizationId"), upd)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationResponse(tenant)(org))
	return nil
}

func (s *Server) handleOrganizationDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteOrganization(r.Context(), r.tenant, r.param("organizationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserOrganizationList(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	orgs, err := s.store.FindUserOrganizations(r.Context(), tenant, r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOrganizationsWithRoles(tenant, orgs))
	return nil
}

func (s *Server) handleApplicationOrganizationList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	tenant := r.tenant
	orgs, total, err := s.store.FindApplicationOrganizations(r.Context(), tenant, r.param("applicationId"), lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, toOrganizationsWithRoles(tenant, orgs))
	return nil
}
