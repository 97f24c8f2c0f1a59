package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// personalAccessTokenResponse is a personal access token on the wire. value
// is only in the answer that creates it: idbolt keeps a keyed hash (Logto
// lists the values).
type personalAccessTokenResponse struct {
	TenantID  string `json:"tenantId"`
	UserID    string `json:"userId"`
	Name      string `json:"name"`
	Value     string `json:"value,omitempty"`
	CreatedAt int64  `json:"createdAt"`
	ExpiresAt *int64 `json:"expiresAt"`
}

// createdPersonalAccessToken is the answer of a creation, value always set.
type createdPersonalAccessToken struct {
	personalAccessTokenResponse
	Value string `json:"value"`
}

func toPersonalAccessTokenResponse(tenant string) func(t *store.PersonalAccessToken) personalAccessTokenResponse {
	return func(t *store.PersonalAccessToken) personalAccessTokenResponse {
		return personalAccessTokenResponse{TenantID: tenant, UserID: t.UserID, Name: t.Name, Value: t.Value,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	}
}

func (s *Server) handlePATList(w http.ResponseWriter, r *request) error {
	list, err := s.store.FindPersonalAccessTokens(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, mapSlice(list, toPersonalAccessTokenResponse(r.tenant)))
	return nil
}

// patCreateRequest is the body of POST /api/users/{userId}/personal-access-tokens.
type patCreateRequest struct {
	Name      *string `json:"name"`
	ExpiresAt *int64  `json:"expiresAt"`
}

func (s *Server) handlePATCreate(w http.ResponseWriter, r *request) error {
	var req patCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	t, err := s.store.CreatePersonalAccessToken(r.Context(), r.tenant, r.param("userId"), *req.Name, req.ExpiresAt)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, createdPersonalAccessToken{
		personalAccessTokenResponse: toPersonalAccessTokenResponse(r.tenant)(t), Value: t.Value})
	return nil
}

// patRenameRequest is the body of PATCH /api/users/{userId}/personal-access-tokens
// (currentName names the token) and of PATCH .../personal-access-tokens/{name}.
type patRenameRequest struct {
	Name        *string `json:"name"`
	CurrentName *string `json:"currentName"`
}

// handlePATRename serves both renames: the token is named by the path, or
// by currentName in the body of the route without one.
func (s *Server) handlePATRename(w http.ResponseWriter, r *request) error {
	var req patRenameRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	current := r.param("name")
	if current == "" {
		if err := requireField(req.CurrentName != nil, "currentName"); err != nil {
			return err
		}
		current = *req.CurrentName
	}
	if err := requireField(req.Name != nil, "name"); err != nil {
		return err
	}
	t, err := s.store.RenamePersonalAccessToken(r.Context(), r.tenant, r.param("userId"), current, *req.Name)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toPersonalAccessTokenResponse(r.tenant)(t))
	return nil
}

// patDeleteRequest is the body of POST /api/users/{userId}/personal-access-tokens/delete.
type patDeleteRequest struct {
	Name *string `json:"name"`
}

// handlePATDelete serves both deletes: the token is named by the path, or
// by the body of POST .../delete.
func (s *Server) handlePATDelete(w http.ResponseWriter, r *request) error {
	name := r.param("name")
	if r.Method == http.MethodPost {
		var req patDeleteRequest
		if err := decodeJSON(w, r, &req); err != nil {
			return err
		}
		if err := requireField(req.Name != nil, "name"); err != nil {
			return err
		}
		name = *req.Name
	}
	if err := s.store.DeletePersonalAccessToken(r.Context(), r.tenant, r.param("userId"), name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
