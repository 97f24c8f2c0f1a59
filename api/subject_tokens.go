package api

import (
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// subjectTokenRequest is the body of POST /api/subject-tokens.
type subjectTokenRequest struct {
	UserID  *string        `json:"userId"`
	Context map[string]any `json:"context"`
}

// subjectTokenResponse is its answer: the token, shown once, and its life
// in seconds.
type subjectTokenResponse struct {
	SubjectToken string `json:"subjectToken"`
	ExpiresIn    int    `json:"expiresIn"`
}

// handleSubjectTokenCreate serves POST /api/subject-tokens: a token that an
// application allowing token exchange trades once for an access token as
// the user (impersonation). The caller is audited as its creator.
func (s *Server) handleSubjectTokenCreate(w http.ResponseWriter, r *request) error {
	var req subjectTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.UserID != nil, "userId"); err != nil {
		return err
	}
	token, err := s.store.CreateSubjectToken(r.Context(), r.tenant, *req.UserID, req.Context)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusCreated, subjectTokenResponse{SubjectToken: token, ExpiresIn: store.SubjectTokenTTL})
	return nil
}
