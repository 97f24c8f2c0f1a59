package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// oneTimeTokenContext is a token's context on the wire, as Logto has it.
type oneTimeTokenContext struct {
	JITOrganizationIDs []string `json:"jitOrganizationIds,omitempty"`
	InteractionEvent   string   `json:"interactionEvent,omitempty"`
}

// oneTimeTokenResponse is a one-time token on the wire. token is left out
// of lists and reads: idbolt keeps only its keyed hash, so the value is
// shown once, when the token is made (Logto shows it every time).
type oneTimeTokenResponse struct {
	TenantID  string              `json:"tenantId"`
	ID        string              `json:"id"`
	Email     string              `json:"email"`
	Token     string              `json:"token,omitempty"`
	Context   oneTimeTokenContext `json:"context"`
	Status    string              `json:"status"`
	CreatedAt int64               `json:"createdAt"`
	ExpiresAt int64               `json:"expiresAt"`
}

// oneTimeTokenWithValue is the answer of a creation and of a verification:
// the token's value always present.
type oneTimeTokenWithValue struct {
	oneTimeTokenResponse
	Token string `json:"token"`
}

func toOneTimeTokenResponse(tenant string) func(t *store.OneTimeToken) oneTimeTokenResponse {
	return func(t *store.OneTimeToken) oneTimeTokenResponse {
		return oneTimeTokenResponse{TenantID: tenant, ID: t.ID, Email: t.Email, Token: t.Token,
			Context: oneTimeTokenContext(t.Context), Status: t.Status, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	}
}

// withValue is t's answer with its value, for the creation and verification.
func withValue(tenant string, t *store.OneTimeToken) oneTimeTokenWithValue {
	return oneTimeTokenWithValue{oneTimeTokenResponse: toOneTimeTokenResponse(tenant)(t), Token: t.Token}
}

func (s *Server) handleOneTimeTokenList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedOnRequest, nil)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.OneTimeTokenFilter{Email: q.Get("email"), Status: q.Get("status")}
	if f.Status != "" && !store.IsOneTimeTokenStatus(f.Status) {
		return fieldErr("status", "must be active, consumed, revoked or expired")
	}
	list, total, err := s.store.FindOneTimeTokens(r.Context(), r.tenant, f, lq.page)
	if err != nil {
		return err
	}
	s.writeList(w, r, lq, total, mapSlice(list, toOneTimeTokenResponse(r.tenant)))
	return nil
}

// oneTimeTokenCreateRequest is the body of POST /api/one-time-tokens.
// expiresIn is in seconds.
type oneTimeTokenCreateRequest struct {
	Email     *string              `json:"email"`
	Context   *oneTimeTokenContext `json:"context"`
	ExpiresIn *int64               `json:"expiresIn"`
}

func (s *Server) handleOneTimeTokenCreate(w http.ResponseWriter, r *request) error {
	var req oneTimeTokenCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Email != nil, "email"); err != nil {
		return err
	}
	in := store.OneTimeTokenCreate{Email: *req.Email}
	if req.Context != nil {
		in.Context = store.OneTimeTokenContext(*req.Context)
	}
	if req.ExpiresIn != nil {
		if *req.ExpiresIn < 1 {
			return fieldErr("expiresIn", "must be a positive number of seconds")
		}
		in.ExpiresIn = *req.ExpiresIn
	}
	t, err := s.store.CreateOneTimeToken(r.Context(), r.tenant, in)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, withValue(r.tenant, t))
	return nil
}

func (s *Server) handleOneTimeTokenGet(w http.ResponseWriter, r *request) error {
	t, err := s.store.FindOneTimeTokenByID(r.Context(), r.tenant, r.param("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOneTimeTokenResponse(r.tenant)(t))
	return nil
}

func (s *Server) handleOneTimeTokenDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteOneTimeToken(r.Context(), r.tenant, r.param("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// oneTimeTokenStatusRequest is the body of PUT /api/one-time-tokens/{id}/status.
type oneTimeTokenStatusRequest struct {
	Status *string `json:"status"`
}

func (s *Server) handleOneTimeTokenStatus(w http.ResponseWriter, r *request) error {
	var req oneTimeTokenStatusRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Status != nil, "status"); err != nil {
		return err
	}
	t, err := s.store.SetOneTimeTokenStatus(r.Context(), r.tenant, r.param("id"), *req.Status)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toOneTimeTokenResponse(r.tenant)(t))
	return nil
}

// oneTimeTokenVerifyRequest is the body of POST /api/one-time-tokens/verify.
type oneTimeTokenVerifyRequest struct {
	Token *string `json:"token"`
	Email *string `json:"email"`
}

func (s *Server) handleOneTimeTokenVerify(w http.ResponseWriter, r *request) error {
	var req oneTimeTokenVerifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.Token != nil, "token"), requireField(req.Email != nil, "email")); err != nil {
		return err
	}
	t, err := s.store.VerifyOneTimeToken(r.Context(), r.tenant, *req.Token, *req.Email)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, withValue(r.tenant, t))
	return nil
}
