package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/idbolt/idbolt/store"
)

// oidcKeyResponse is one signing or cookie key as Logto lists it; never key
// material. Cookie keys have only an id and a creation time, as in Logto.
type oidcKeyResponse struct {
	ID string `json:"id"`
	// CreatedAt is in seconds since the epoch, as Logto stamps its OIDC
	// keys (unlike its other createdAt fields, in milliseconds).
	CreatedAt           int64  `json:"createdAt"`
	SigningKeyAlgorithm string `json:"signingKeyAlgorithm,omitempty"`
	Status              string `json:"status,omitempty"`
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
		out[i] = oidcKeyResponse{ID: k.ID, CreatedAt: k.CreatedAt / 1000, SigningKeyAlgorithm: family, Status: status}
	}
	return out
}

func toCookieKeys(keys []store.CookieKey) []oidcKeyResponse {
	out := make([]oidcKeyResponse, len(keys))
	for i, k := range keys {
		out[i] = oidcKeyResponse{ID: k.ID, CreatedAt: k.CreatedAt / 1000}
	}
	return out
}

// checkKeyType accepts Logto's key types, the request's keyType. Logto's
// /api/configs/oidc/session is a route of its own, for sign-in sessions,
// which idbolt does not have: it is answered as any missing route.
func checkKeyType(r *request) (cookies bool, err error) {
	switch r.param("keyType") {
	case "private-keys":
		return false, nil
	case "cookie-keys":
		return true, nil
	case "session":
		return false, errRouteNotFound(r)
	}
	return false, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "keyType",
		Message: "keyType: must be private-keys or cookie-keys"}
}

func (s *Server) handleOIDCKeysGet(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r)
	if err != nil {
		return err
	}
	if cookies {
		keys, err := s.store.CookieKeys(r.Context(), r.tenant)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, toCookieKeys(keys))
		return nil
	}
	keys, err := s.store.SigningKeys(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOIDCKeys(keys))
	return nil
}

// oidcKeysRotateRequest is the body of POST /api/configs/oidc/{keyType}/rotate.
type oidcKeysRotateRequest struct {
	SigningKeyAlgorithm *string `json:"signingKeyAlgorithm"`
	RotationGracePeriod *int64  `json:"rotationGracePeriod"` // seconds
	// DropPreviousKey confirms a rotation that deletes a previous key
	// whose tokens may still be live (idbolt's own field).
	DropPreviousKey *bool `json:"dropPreviousKey"`
}

func (s *Server) handleOIDCKeysRotate(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r)
	if err != nil {
		return err
	}
	var req oidcKeysRotateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	tenant := r.tenant
	if cookies {
		// Nothing is signed with cookie keys yet, so nothing live is cut
		// off: a rotation needs no confirmation.
		keys, err := s.store.RotateCookieKeys(r.Context(), tenant)
		if err != nil {
			return err
		}
		s.writeJSON(w, r, http.StatusOK, toCookieKeys(keys))
		return nil
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
	rot := store.KeyRotation{Next: key, Grace: grace, DropPrevious: req.DropPreviousKey != nil && *req.DropPreviousKey}
	keys, err := s.store.RotateSigningKey(r.Context(), tenant, rot)
	if err != nil {
		return err
	}
	s.auth.ForgetTenant(tenant)
	s.writeJSON(w, r, http.StatusOK, toOIDCKeys(keys))
	return nil
}

// newKey makes a key of Logto's requested family: EC is P-256 (or P-384 when
// the server signs with ES384), RSA is RS256; none means the server's own.
// A JWS algorithm name (ES256, ES384, RS256, EdDSA) asks for exactly that,
// an idbolt extension.
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
	case "ES256", "ES384", "RS256", "EdDSA":
		return s.auth.GenerateKey(*family)
	}
	return store.SigningKey{}, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "signingKeyAlgorithm",
		Message: "signingKeyAlgorithm: must be RSA or EC (or one of ES256, ES384, RS256, EdDSA)"}
}

func (s *Server) handleOIDCKeyDelete(w http.ResponseWriter, r *request) error {
	cookies, err := checkKeyType(r)
	if err != nil {
		return err
	}
	tenant := r.tenant
	if cookies {
		if err := s.store.DeleteCookieKey(r.Context(), tenant, r.param("keyId")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := s.store.DeleteSigningKey(r.Context(), tenant, r.param("keyId")); err != nil {
		return err
	}
	s.auth.ForgetTenant(tenant)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
