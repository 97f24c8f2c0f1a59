package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// verificationCodeRequest is the body of POST /api/verification-codes and,
// with VerificationCode, of POST /api/verification-codes/verify.
type verificationCodeRequest struct {
	Email            *string `json:"email"`
	Phone            *string `json:"phone"`
	VerificationCode *string `json:"verificationCode,omitempty"`
}

// target returns the recipient, refusing a body with neither an email nor a
// phone as Logto's guard does.
func (req verificationCodeRequest) target() (store.VerificationTarget, error) {
	if req.Email == nil && req.Phone == nil {
		return store.VerificationTarget{}, fieldErr("email", "give an email or a phone")
	}
	var t store.VerificationTarget
	if req.Email != nil {
		t.Email = *req.Email
		if t.Email == "" {
			return t, fieldErr("email", "must be an email address")
		}
	}
	if req.Phone != nil {
		t.Phone = *req.Phone
		if t.Phone == "" {
			return t, fieldErr("phone", "must be a phone number")
		}
	}
	return t, nil
}

// handleVerificationCodeCreate makes a code for the recipient and sends it
// through the tenant's connector of its kind.
func (s *Server) handleVerificationCodeCreate(w http.ResponseWriter, r *request) error {
	var req verificationCodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.VerificationCode != nil {
		return fieldErr("verificationCode", "is for /api/verification-codes/verify")
	}
	to, err := req.target()
	if err != nil {
		return err
	}
	code, c, err := s.store.CreateVerificationCode(r.Context(), r.tenant, to)
	if err != nil {
		return err
	}
	recipient := to.Email + to.Phone // one of them is empty
	msg := connectorMessage{To: recipient, Type: messageGeneric, Payload: map[string]any{payloadCode: code}}
	if err := s.messenger.send(r.Context(), c, msg); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleVerificationCodeVerify checks a code, which verifies once.
func (s *Server) handleVerificationCodeVerify(w http.ResponseWriter, r *request) error {
	var req verificationCodeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	to, err := req.target()
	if err != nil {
		return err
	}
	if err := requireField(req.VerificationCode != nil, "verificationCode"); err != nil {
		return err
	}
	if err := s.store.VerifyVerificationCode(r.Context(), r.tenant, to, *req.VerificationCode); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
