package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// apiClientResponse is an API client on the wire. ClientSecret is set only
// in the responses that create a secret.
type apiClientResponse struct {
	ClientID      string   `json:"clientId"`
	ApplicationID string   `json:"applicationId"`
	UserID        string   `json:"userId"`
	Username      string   `json:"username"`
	Description   *string  `json:"description"`
	FirstName     string   `json:"firstName"`
	LastName      string   `json:"lastName"`
	Name          string   `json:"name"`
	RoleIDs       []string `json:"roleIds"`
	IsDisabled    bool     `json:"isDisabled"`
	CreatedAt     int64    `json:"createdAt"`
	UpdatedAt     int64    `json:"updatedAt"`
	ClientSecret  string   `json:"clientSecret,omitempty"`
}

func toAPIClientResponse(c *store.APIClient) apiClientResponse {
	roleIDs := c.RoleIDs
	if roleIDs == nil {
		roleIDs = []string{} // a client without roles has [], not null
	}
	return apiClientResponse{ClientID: c.ClientID, ApplicationID: c.ClientID, UserID: c.UserID,
		Username: store.ServiceAccountPrefix + c.ClientID, Description: c.Description,
		FirstName: c.FirstName, LastName: c.LastName, Name: c.Name(), RoleIDs: roleIDs,
		IsDisabled: c.IsDisabled, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// apiClientCreateRequest is the body of POST /api/api-clients.
type apiClientCreateRequest struct {
	ClientID    *string  `json:"clientId"`
	RoleIDs     []string `json:"roleIds"`
	FirstName   string   `json:"firstName"`
	LastName    string   `json:"lastName"`
	Description *string  `json:"description"`
}

func (s *Server) handleAPIClientCreate(w http.ResponseWriter, r *request) error {
	var req apiClientCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.ClientID != nil, "clientId"); err != nil {
		return err
	}
	c, secret, err := s.store.CreateAPIClient(r.Context(), r.tenant, store.APIClientCreate{
		ClientID: *req.ClientID, RoleIDs: req.RoleIDs, FirstName: req.FirstName, LastName: req.LastName,
		Description: req.Description})
	if err != nil {
		return err
	}
	out := toAPIClientResponse(c)
	out.ClientSecret = secret
	s.writeSecretJSON(w, r, http.StatusCreated, out)
	return nil
}

func (s *Server) handleAPIClientList(w http.ResponseWriter, r *request) error {
	opts := store.APIClientSearchOptions()
	lq, err := parseList(r, pagedAlways, &opts)
	if err != nil {
		return err
	}
	clients, total, err := s.store.FindAPIClients(r.Context(), r.tenant, lq.search, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(clients, toAPIClientResponse))
	return nil
}

func (s *Server) handleAPIClientGet(w http.ResponseWriter, r *request) error {
	c, err := s.store.FindAPIClient(r.Context(), r.tenant, r.param("clientId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toAPIClientResponse(c))
	return nil
}

// apiClientUpdateRequest is the body of PATCH /api/api-clients/{clientId}.
type apiClientUpdateRequest struct {
	Description store.Field[string] `json:"description"`
	FirstName   *string             `json:"firstName"`
	LastName    *string             `json:"lastName"`
	RoleIDs     *[]string           `json:"roleIds"`
	ClientID    *string             `json:"clientId"`
}

func (s *Server) handleAPIClientUpdate(w http.ResponseWriter, r *request) error {
	var req apiClientUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.ClientID != nil && *req.ClientID != r.param("clientId") {
		return fieldErr("clientId", "cannot change; create a new API client instead")
	}
	upd := store.APIClientUpdate{Description: req.Description, FirstName: req.FirstName, LastName: req.LastName}
	if req.RoleIDs != nil {
		upd.RoleIDs = *req.RoleIDs
		if upd.RoleIDs == nil {
			upd.RoleIDs = []string{} // "roleIds": null clears, as []
		}
	}
	c, err := s.store.UpdateAPIClient(r.Context(), r.tenant, r.param("clientId"), upd)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toAPIClientResponse(c))
	return nil
}

// apiClientSecretRequest is the body of POST /api/api-clients/{clientId}/secret.
type apiClientSecretRequest struct {
	GraceSeconds int64 `json:"graceSeconds"`
}

// handleAPIClientSecret rotates the secret: the new one is in the response,
// once; the old ones stop working now or after graceSeconds.
func (s *Server) handleAPIClientSecret(w http.ResponseWriter, r *request) error {
	var req apiClientSecretRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	id := r.param("clientId")
	secret, oldUntil, err := s.store.RotateAPIClientSecret(r.Context(), r.tenant, id, req.GraceSeconds)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, apiClientSecretResponse{id, secret, oldUntil})
	return nil
}

// apiClientSecretResponse is the answer of a secret rotation: the new
// secret, shown once.
type apiClientSecretResponse struct {
	ClientID                string `json:"clientId"`
	ClientSecret            string `json:"clientSecret"`
	PreviousSecretExpiresAt *int64 `json:"previousSecretExpiresAt"`
}

// apiClientDisabledHandler serves .../disable and .../enable.
func (s *Server) apiClientDisabledHandler(disabled bool) handler {
	return func(w http.ResponseWriter, r *request) error {
		c, err := s.store.SetAPIClientDisabled(r.Context(), r.tenant, r.param("clientId"), disabled)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, toAPIClientResponse(c))
		return nil
	}
}

func (s *Server) handleAPIClientDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteAPIClient(r.Context(), r.tenant, r.param("clientId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
