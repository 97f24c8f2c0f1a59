package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// userKeyResponse is a service user's key on the wire: metadata only.
type userKeyResponse struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	Type      string `json:"type"`
	CreatedAt int64  `json:"createdAt"`
	ExpiresAt *int64 `json:"expiresAt"`
}

func toUserKeyResponse(k *store.ServiceKey) userKeyResponse {
	return userKeyResponse{KeyID: k.ID, Algorithm: k.Algorithm, Type: k.Type, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
}

// keyFileResponse is a generated key, shown once, in the shape of ZITADEL's
// key files so that ZITADEL clients read it as it is.
type keyFileResponse struct {
	Type      string `json:"type"` // always "serviceaccount"
	KeyID     string `json:"keyId"`
	Key       string `json:"key"` // the private key, PEM
	UserID    string `json:"userId"`
	ClientID  string `json:"clientId"`
	ExpiresAt *int64 `json:"expiresAt"`
}

// userKeyCreateRequest is the body of POST /api/users/{userId}/keys.
type userKeyCreateRequest struct {
	Type      *string `json:"type"`
	Algorithm *string `json:"algorithm"`
	PublicKey *string `json:"publicKey"`
	ExpiresAt *int64  `json:"expiresAt"`
}

// decodeUserKeyCreate reads POST /api/users/{id}/keys: {"type":"json"} with
// an optional algorithm to generate a key pair, or {"publicKey": PEM} to
// upload one, and an optional expiresAt.
func decodeUserKeyCreate(w http.ResponseWriter, r *request) (store.ServiceKeyCreate, error) {
	var req userKeyCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return store.ServiceKeyCreate{}, err
	}
	in := store.ServiceKeyCreate{ExpiresAt: req.ExpiresAt}
	switch {
	case req.Type != nil && req.PublicKey != nil:
		return in, fieldErr("publicKey", `send either "type": "json" or publicKey, not both`)
	case req.PublicKey != nil:
		if req.Algorithm != nil {
			return in, fieldErr("algorithm", "is taken from the uploaded key")
		}
		in.PublicKey = *req.PublicKey
		if in.PublicKey == "" {
			return in, fieldErr("publicKey", "must not be empty")
		}
	case req.Type != nil:
		if *req.Type != "json" {
			return in, fieldErr("type", `must be "json"`)
		}
		in.Algorithm = "RS256"
		if req.Algorithm != nil {
			in.Algorithm = *req.Algorithm // checked by the store
		}
	default:
		return in, fieldErr("type", `required: "json" to generate a key, or send publicKey`)
	}
	return in, nil
}

// handleUserKeyCreate adds a key to a service user. A generated key's
// private half is in the response, once, and is never stored.
func (s *Server) handleUserKeyCreate(w http.ResponseWriter, r *request) error {
	in, err := decodeUserKeyCreate(w, r)
	if err != nil {
		return err
	}
	k, private, err := s.store.CreateServiceKey(r.Context(), r.tenant, r.param("userId"), in)
	if err != nil {
		return err
	}
	if private == "" {
		s.writeJSON(w, r, http.StatusCreated, toUserKeyResponse(k))
		return nil
	}
	s.writeSecretJSON(w, r, http.StatusCreated, keyFileResponse{Type: "serviceaccount", KeyID: k.ID, Key: private,
		UserID: k.UserID, ClientID: k.ClientID, ExpiresAt: k.ExpiresAt})
	return nil
}

func (s *Server) handleUserKeyList(w http.ResponseWriter, r *request) error {
	keys, err := s.store.FindServiceKeys(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, mapSlice(keys, toUserKeyResponse))
	return nil
}

func (s *Server) handleUserKeyDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteServiceKey(r.Context(), r.tenant, r.param("userId"), r.param("keyId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
