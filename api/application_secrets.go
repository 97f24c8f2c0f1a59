package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// secretResponse is an application secret on the wire. Value is set in the
// response that creates the secret, and in lists only for secrets made while
// the tenant's readableApplicationSecrets switch was on, if it still is:
// otherwise idbolt keeps a hash, never the value.
type secretResponse struct {
	TenantID      string `json:"tenantId"`
	ApplicationID string `json:"applicationId"`
	Name          string `json:"name"`
	Value         string `json:"value,omitempty"`
	CreatedAt     int64  `json:"createdAt"`
	ExpiresAt     *int64 `json:"expiresAt"`
}

// createdSecretResponse is the answer of a secret's creation, which always
// holds its value.
type createdSecretResponse struct {
	secretResponse
	Value string `json:"value"`
}

func toSecretResponse(tenant string) func(s store.AppSecret) secretResponse {
	return func(s store.AppSecret) secretResponse {
		return secretResponse{TenantID: tenant, ApplicationID: s.ApplicationID, Name: s.Name,
			Value: s.Value, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
}

func (s *Server) handleApplicationSecretList(w http.ResponseWriter, r *request) error {
	tenant := r.tenant
	secrets, err := s.store.FindApplicationSecrets(r.Context(), tenant, r.param("applicationId"))
	if err != nil {
		return err
	}
	// Every list goes out as a secret: whether one holds a value depends on
	// the tenant's switch, which a cache must not have to know.
	s.writeSecretJSON(w, r, http.StatusOK, mapSlice(secrets, toSecretResponse(tenant)))
	return nil
}

// applicationSecretCreateRequest is the body of POST /api/applications/{applicationId}/secrets.
type applicationSecretCreateRequest struct {
	Name      *string `json:"name"`
	ExpiresAt *int64  `json:"expiresAt"`
}

func (s *Server) handleApplicationSecretCreate(w http.ResponseWriter, r *request) error {
	var req applicationSecretCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	tenant := r.tenant
	secret, value, err := s.store.CreateApplicationSecret(r.Context(), tenant, r.param("applicationId"), *req.Name, req.ExpiresAt)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, createdSecretResponse{secretResponse: toSecretResponse(tenant)(*secret), Value: value})
	return nil
}

// applicationSecretUpdateRequest is the body of PATCH /api/applications/{applicationId}/secrets/{name}.
type applicationSecretUpdateRequest struct {
	Name *string `json:"name"`
}

func (s *Server) handleApplicationSecretUpdate(w http.ResponseWriter, r *request) error {
	var req applicationSecretUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	tenant := r.tenant
	secret, err := s.store.RenameApplicationSecret(r.Context(), tenant, r.param("applicationId"), r.param("name"), *req.Name)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toSecretResponse(tenant)(*secret))
	return nil
}

func (s *Server) handleApplicationSecretDelete(w http.ResponseWriter, r *request) error {
	err := s.store.DeleteApplicationSecret(r.Context(), r.tenant, r.param("applicationId"), r.param("name"))
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleApplicationLegacySecretDelete serves DELETE
// /api/applications/{id}/legacy-secret. Logto keeps a legacy secret only
// for applications made before an application had named secrets; an
// idbolt application's secrets are all named ones (.../secrets), so it is
// answered as Logto answers an application without a legacy secret.
func (s *Server) handleApplicationLegacySecretDelete(_ http.ResponseWriter, r *request) error {
	if _, err := s.store.FindApplicationByID(r.Context(), r.tenant, r.param("applicationId")); err != nil {
		return err
	}
	return &store.Error{Code: store.EINVALID, Detail: "application.no_legacy_secret_found",
		Message: "The application has no legacy secret: its secrets are the named ones of /api/applications/{id}/secrets."}
}
