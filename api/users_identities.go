package api

import (
	"encoding/json"
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// socialIdentity is one identity on the wire, Logto's {userId, details}.
type socialIdentity struct {
	UserID  string         `json:"userId"`
	Details map[string]any `json:"details,omitempty"`
}

// userIdentityResponse is the answer of GET /api/users/{userId}/identities/{target}.
// Logto adds tokenSecret when a social connector stores the provider's
// tokens; idbolt has no social connector, so it never does.
type userIdentityResponse struct {
	Identity socialIdentity `json:"identity"`
}

// targetedIdentity is one of a user's social identities in all-identities.
type targetedIdentity struct {
	Identity socialIdentity `json:"identity"`
	Target   string         `json:"target"`
}

// allIdentitiesResponse is the answer of GET /api/users/{userId}/all-identities.
// idbolt has no enterprise SSO, so ssoIdentities is always empty.
type allIdentitiesResponse struct {
	SocialIdentities []targetedIdentity `json:"socialIdentities"`
	SSOIdentities    []struct{}         `json:"ssoIdentities"`
}

// identitiesMap is a user's identities by target, as PUT answers them.
type identitiesMap map[string]socialIdentity

// identityPutRequest is the body of PUT /api/users/{userId}/identities/{target}.
type identityPutRequest struct {
	UserID  *string         `json:"userId"`
	Details json.RawMessage `json:"details" openapi:"object"`
}

func (s *Server) handleUserIdentityPut(w http.ResponseWriter, r *request) error {
	var req identityPutRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.UserID != nil, "userId"); err != nil {
		return err
	}
	ident := store.UserIdentity{UserID: *req.UserID}
	if len(req.Details) > 0 && string(req.Details) != "null" {
		if err := json.Unmarshal(req.Details, &ident.Details); err != nil || ident.Details == nil {
			return fieldErr("details", "must be a JSON object")
		}
	}
	identities, created, err := s.store.SetUserIdentity(r.Context(), r.tenant, r.param("userId"), r.param("target"), ident)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeJSON(w, r, status, identities)
	return nil
}

func (s *Server) handleUserIdentityGet(w http.ResponseWriter, r *request) error {
	ident, err := s.store.FindUserIdentity(r.Context(), r.tenant, r.param("userId"), r.param("target"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, userIdentityResponse{Identity: socialIdentity(ident)})
	return nil
}

func (s *Server) handleUserIdentityDelete(w http.ResponseWriter, r *request) error {
	u, err := s.store.DeleteUserIdentity(r.Context(), r.tenant, r.param("userId"), r.param("target"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toUserResponse(u))
	return nil
}

func (s *Server) handleUserAllIdentities(w http.ResponseWriter, r *request) error {
	list, err := s.store.FindUserIdentities(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	out := allIdentitiesResponse{SocialIdentities: []targetedIdentity{}, SSOIdentities: []struct{}{}}
	for _, ti := range list {
		out.SocialIdentities = append(out.SocialIdentities, targetedIdentity{Identity: socialIdentity(ti.UserIdentity), Target: ti.Target})
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// identityLinkRequest is the body of POST /api/users/{userId}/identities.
type identityLinkRequest struct {
	ConnectorID   *string         `json:"connectorId"`
	ConnectorData *map[string]any `json:"connectorData"`
}

// handleUserIdentityLink serves POST /api/users/{userId}/identities, which
// in Logto signs in to a social connector with connectorData to link what
// it returns. idbolt has no social connectors, so, after the body and the
// user are checked, an email or SMS connector's id is 422
// session.invalid_connector_id and any other 404 entity.not_found, as Logto
// answers a connector that is not social and an unknown one. PUT
// .../identities/{target} links an identity a caller already knows.
func (s *Server) handleUserIdentityLink(w http.ResponseWriter, r *request) error {
	var req identityLinkRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := firstError(requireField(req.ConnectorID != nil, "connectorId"), requireField(req.ConnectorData != nil, "connectorData")); err != nil {
		return err
	}
	if _, err := s.store.FindUserByID(r.Context(), r.tenant, r.param("userId")); err != nil {
		return err
	}
	if _, err := s.store.FindConnectorByID(r.Context(), r.tenant, *req.ConnectorID); err == nil {
		// An email or SMS connector, as Logto answers a connector that is not social.
		return &store.Error{Code: store.EUNPROCESSABLE, Detail: "session.invalid_connector_id",
			Message: "The connector is not a social connector; idbolt has none."}
	} else if store.ErrorCode(err) != store.ENOTFOUND {
		return err
	}
	return &store.Error{Code: store.ENOTFOUND, Detail: "entity.not_found",
		Message: "No such social connector: idbolt has none; link a known identity with PUT /api/users/{userId}/identities/{target}."}
}
