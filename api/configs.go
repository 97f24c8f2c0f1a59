package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/idbolt/idbolt/store"
)

// oidcKeyResponse is one signing key as Logto lists it; never key material.
type oidcKeyResponse struct {
	ID                  string `json:"id"`
	CreatedAt           int64  `json:"createdAt"`
	SigningKeyAlgorithm string `json:"signingKeyAlgorithm,omitempty"`
	Status              string `json:"status"`
}

// defaultRotationGrace is how long a rotated-out key keeps verifying when the
// request does not say: long enough for every token it signed to expire.
const defaultRotationGrace = 24 * time.Hour

func toOIDCKeys(keys []store.SigningKey) []oidcKeyResponse {
	out := make([]oidcKeyResponse, len(keys))
	for i, k := range keys {
		status := "Previous"
		if i == 0 {
			status = "Current"
		}
		family := ""
		switch {
		case strings.HasPrefix(k.Alg, "ES"):
			family = "EC"
		case strings.HasPrefix(k.Alg, "RS"):
			family = "RSA"
		}
		out[i] = oidcKeyResponse{ID: k.ID, CreatedAt: k.CreatedAt, SigningKeyAlgorithm: family, Status: status}
	}
	return out
}

// checkKeyType accepts Logto's key types; idbolt has no cookies, so it has
// no cookie keys.
func checkKeyType(keyType string) (cookies bool, err error) {
	switch keyType {
	case "private-keys":
		return false, nil
	case "cookie-keys":
		return true, nil
	}
	return false, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "keyType",
		Message: "keyType: must be private-keys or cookie-keys"}
}

func (s *Server) handleOIDCKeysGet(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r.param("keyType"))
	if err != nil {
		return err
	}
	if cookies {
		s.writeJSON(w, r, http.StatusOK, []oidcKeyResponse{})
		return nil
	}
	keys, err := s.store.SigningKeys(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOIDCKeys(keys))
	return nil
}

func (s *Server) handleOIDCKeysRotate(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r.param("keyType"))
	if err != nil {
		return err
	}
	var req struct {
		SigningKeyAlgorithm *string `json:"signingKeyAlgorithm"`
		RotationGracePeriod *int64  `json:"rotationGracePeriod"` // seconds
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if cookies {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "keyType",
			Message: "keyType: idbolt has no cookie keys to rotate"}
	}
	grace := defaultRotationGrace
	if req.RotationGracePeriod != nil {
		if *req.RotationGracePeriod < 0 || *req.RotationGracePeriod > 30*86400 {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "rotationGracePeriod",
				Message: "rotationGracePeriod: must be 0 to 2592000 seconds"}
		}
		grace = time.Duration(*req.RotationGracePeriod) * time.Second
	}
	key, err := s.newKey(req.SigningKeyAlgorithm)
	if err != nil {
		return err
	}
	tenant := r.tenant
	keys, err := s.store.RotateSigningKey(r.Context(), tenant, key, grace)
	if err != nil {
		return err
	}
	s.auth.ForgetTenant(tenant)
	s.writeJSON(w, r, http.StatusOK, toOIDCKeys(keys))
	return nil
}

// newKey makes a key of Logto's requested family: EC is P-256 (or P-384 when
// the server signs with ES384), RSA is RS256; none means the server's own.
func (s *Server) newKey(family *string) (store.SigningKey, error) {
	if family == nil {
		return s.auth.NewSigningKey()
	}
	switch *family {
	case "EC":
		if s.auth.Alg() == "ES384" {
			return s.auth.GenerateKey("ES384")
		}
		return s.auth.GenerateKey("ES256")
	case "RSA":
		return s.auth.GenerateKey("RS256")
	}
	return store.SigningKey{}, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "signingKeyAlgorithm",
		Message: "signingKeyAlgorithm: must be RSA or EC"}
}

func (s *Server) handleOIDCKeyDelete(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r.param("keyType"))
	if err != nil {
		return err
	}
	if cookies {
		return &store.Error{Code: store.ENOTFOUND, Detail: "entity.not_found", Message: "idbolt has no cookie keys."}
	}
	tenant := r.tenant
	if err := s.store.DeleteSigningKey(r.Context(), tenant, r.param("keyId")); err != nil {
		return err
	}
	s.auth.ForgetTenant(tenant)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
