package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// systemAdminResponse is an instance administrator on the wire of the
// system API.
type systemAdminResponse struct {
	ApplicationID string `json:"applicationId"`
	Name          string `json:"name"`
	CreatedAt     int64  `json:"createdAt"`
}

func toSystemAdminResponse(a *store.SystemAdmin) systemAdminResponse {
	return systemAdminResponse{ApplicationID: a.ApplicationID, Name: a.Name, CreatedAt: a.CreatedAt}
}

// handleSystemAdminList serves GET /system/admins, paged, in application
// id order.
func (s *Server) handleSystemAdminList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	admins, total, err := s.store.FindSystemAdmins(r.Context(), lq.page)
	if err != nil {
		return err
	}
	out := make([]systemAdminResponse, len(admins))
	for i, a := range admins {
		out[i] = toSystemAdminResponse(a)
	}
	s.writeList(w, r, lq, total, out)
	return nil
}

// systemAdminCreateRequest is the body of POST /system/admins.
type systemAdminCreateRequest struct {
	ApplicationID *string `json:"applicationId"`
}

// handleSystemAdminCreate serves POST /system/admins {"applicationId"}: a
// machine-to-machine application of tenant default becomes an instance
// administrator.
func (s *Server) handleSystemAdminCreate(w http.ResponseWriter, r *request) error {
	var req systemAdminCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.ApplicationID != nil, "applicationId"); err != nil {
		return err
	}
	a, err := s.store.AddSystemAdmin(r.Context(), *req.ApplicationID)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, toSystemAdminResponse(a))
	return nil
}

// handleSystemAdminDelete serves DELETE /system/admins/{applicationId}; the
// application stays, its system tokens stop working.
func (s *Server) handleSystemAdminDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.RemoveSystemAdmin(r.Context(), r.param("applicationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
