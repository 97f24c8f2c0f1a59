package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/idbolt/idbolt/store"
)

// maxBatchBody bounds the body of POST /api/users/batch: 8 KiB per user on
// average, where one POST /api/users may take 1 MiB.
const maxBatchBody = 8 << 20

// handleUserPost serves POST /api/users/:userId. httprouter v1.3.0 cannot
// hold the static route POST /api/users/batch next to
// POST /api/users/:userId/password/verify, so the batch route is this
// parameter route, and every other id is answered as an unknown route.
func (s *Server) handleUserPost(w http.ResponseWriter, r *request) error {
	if r.param("userId") != "batch" {
		return errRouteNotFound(r)
	}
	return s.handleUserBatchCreate(w, r)
}

// errRouteNotFound is the answer of a parameter route that stands in for a
// static one to a parameter that is not that static segment.
func errRouteNotFound(r *request) error {
	return &store.Error{Code: store.ENOTFOUND, Detail: "guard.route_not_found",
		Message: fmt.Sprintf("No route matches %s %s.", r.Method, r.URL.Path)}
}

// userBatchRequest is the body of POST /api/users/batch.
type userBatchRequest struct {
	Users []json.RawMessage `json:"users"`
}

// handleUserBatchCreate serves POST /api/users/batch (ours, not Logto's):
// {"users":[...]} with 1 to 1,000 bodies of POST /api/users, created all or
// none; 201 with the users in input order.
func (s *Server) handleUserBatchCreate(w http.ResponseWriter, r *request) error {
	var req userBatchRequest
	if err := decodeJSONMax(w, r, &req, maxBatchBody); err != nil {
		return err
	}
	if err := requireField(req.Users != nil, "users"); err != nil {
		return err
	}
	if err := store.CheckUserBatchSize(len(req.Users)); err != nil {
		return err
	}
	ins := make([]store.UserCreate, len(req.Users))
	for i, raw := range req.Users {
		var u userCreateRequest
		if err := decodeEntry(raw, &u); err != nil {
			return store.PrefixError(fmt.Sprintf("users[%d]", i), err)
		}
		ins[i] = u.toStore()
	}
	users, err := s.store.CreateUsers(r.Context(), r.tenant, ins)
	if err != nil {
		return err
	}
	out := make([]userResponse, len(users))
	for i, u := range users {
		out[i] = toUserResponse(u)
	}
	s.writeJSON(w, r, http.StatusCreated, out)
	return nil
}

// decodeEntry decodes one entry of a list, which must be a JSON object.
func decodeEntry(raw json.RawMessage, v any) error {
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "must be a JSON object"}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonError(err)
	}
	return nil
}
