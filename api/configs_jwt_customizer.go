package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/idbolt/idbolt/auth/jwtcustom"
	"github.com/idbolt/idbolt/store"
)

// Custom JWT claims (Logto's jwt-customizer configs): one script per token
// type, run when a token of that type is issued (auth/custom_claims.go).
// The answers carry the scripts' environment variables, where API keys
// live, so they are sent no-store and are not for viewers.

// jwtCustomizerResponse is a customizer as Logto answers it.
type jwtCustomizerResponse struct {
	Script               string            `json:"script"`
	EnvironmentVariables map[string]string `json:"environmentVariables,omitempty"`
	ContextSample        json.RawMessage   `json:"contextSample,omitempty" openapi:"object"`
	BlockIssuanceOnError *bool             `json:"blockIssuanceOnError,omitempty"`
	TokenSample          json.RawMessage   `json:"tokenSample,omitempty" openapi:"object"`
}

// jwtCustomizerListItem is one entry of GET /api/configs/jwt-customizer.
type jwtCustomizerListItem struct {
	Key   string                `json:"key"` // jwt.accessToken or jwt.clientCredentials
	Value jwtCustomizerResponse `json:"value"`
}

func toJWTCustomizerResponse(c *store.JWTCustomizer) jwtCustomizerResponse {
	return jwtCustomizerResponse{Script: c.Script, EnvironmentVariables: c.EnvironmentVariables,
		ContextSample: c.ContextSample, BlockIssuanceOnError: c.BlockIssuanceOnError, TokenSample: c.TokenSample}
}

// jwtCustomizerRequest is the body of PUT and PATCH
// /api/configs/jwt-customizer/{tokenTypePath}. As in Logto, both need the
// script, and any other field is refused.
type jwtCustomizerRequest struct {
	Script               *string           `json:"script"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	ContextSample        json.RawMessage   `json:"contextSample" openapi:"object"`
	TokenSample          json.RawMessage   `json:"tokenSample" openapi:"object"`
	BlockIssuanceOnError *bool             `json:"blockIssuanceOnError"`
}

// jwtCustomizerTestRequest is the body of POST
// /api/configs/jwt-customizer/test.
type jwtCustomizerTestRequest struct {
	TokenType            string            `json:"tokenType"`
	Script               *string           `json:"script"`
	EnvironmentVariables map[string]string `json:"environmentVariables"`
	Token                json.RawMessage   `json:"token" openapi:"object"`
	Context              json.RawMessage   `json:"context" openapi:"object"`
}

// contextSampleKeys are the top-level keys Logto's guard allows in a
// context sample, by token type.
var contextSampleKeys = map[string][]string{
	store.JWTAccessToken:       {"user", "grant", "interaction", "application", "organization"},
	store.JWTClientCredentials: {"application"},
}

// Environment variables are copied into every run of the script: they are
// bounded, where Logto does not bound them.
const (
	maxEnvironmentVariables     = 100
	maxEnvironmentVariableBytes = 64 << 10 // names and values together
)

// checkEnvironmentVariables refuses more variables, or larger ones, than a
// run should copy.
func checkEnvironmentVariables(env map[string]string) error {
	total := 0
	for k, v := range env {
		total += len(k) + len(v)
	}
	if len(env) > maxEnvironmentVariables || total > maxEnvironmentVariableBytes {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "environmentVariables",
			Message: fmt.Sprintf("environmentVariables: at most %d variables of %d bytes in all", maxEnvironmentVariables, maxEnvironmentVariableBytes)}
	}
	return nil
}

// checkTokenTypePath accepts Logto's two token types.
func checkTokenTypePath(tokenType string) error {
	if store.JWTCustomizerKey(tokenType) == "" {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "tokenTypePath",
			Message: "tokenTypePath: must be access-token or client-credentials"}
	}
	return nil
}

// decodeStrictJSON decodes the body into v, refusing a field v does not
// have, as Logto's strict guards do.
func decodeStrictJSON(w http.ResponseWriter, r *request, v any) error {
	var fields map[string]json.RawMessage
	if err := decodeJSON(w, r, &fields); err != nil {
		return err
	}
	data, _ := json.Marshal(fields)
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: name,
				Message: name + ": unrecognized key"}
		}
		return jsonError(err)
	}
	return nil
}

// checkJSONObject refuses a sample that is not a JSON object (null is absent).
func checkJSONObject(field string, raw json.RawMessage, allowed []string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: field,
			Message: field + ": expected object"}
	}
	for k := range obj {
		if allowed != nil && !slices.Contains(allowed, k) {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: field + "." + k,
				Message: field + "." + k + ": unrecognized key"}
		}
	}
	return nil
}

// nonNull returns raw, or nil for JSON null: an absent sample.
func nonNull(raw json.RawMessage) json.RawMessage {
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// checkScript refuses a script that is too long or does not compile.
func (s *Server) checkScript(script string) error {
	if err := s.auth.CheckCustomClaimsScript(script); err != nil {
		var se *jwtcustom.Error
		if errors.As(err, &se) {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "script", Message: "script: " + se.Message}
		}
		return err
	}
	return nil
}

// decodeJWTCustomizer reads and checks the body of PUT and PATCH.
func (s *Server) decodeJWTCustomizer(w http.ResponseWriter, r *request) (string, *jwtCustomizerRequest, error) {
	tokenType := r.param("tokenTypePath")
	if err := checkTokenTypePath(tokenType); err != nil {
		return "", nil, err
	}
	var req jwtCustomizerRequest
	if err := decodeStrictJSON(w, r, &req); err != nil {
		return "", nil, err
	}
	if req.Script == nil {
		return "", nil, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "script", Message: "script: Required"}
	}
	if err := s.checkScript(*req.Script); err != nil {
		return "", nil, err
	}
	if err := checkEnvironmentVariables(req.EnvironmentVariables); err != nil {
		return "", nil, err
	}
	if err := checkJSONObject("contextSample", req.ContextSample, contextSampleKeys[tokenType]); err != nil {
		return "", nil, err
	}
	if err := checkJSONObject("tokenSample", req.TokenSample, nil); err != nil {
		return "", nil, err
	}
	if tokenType == store.JWTAccessToken && len(nonNull(req.ContextSample)) > 0 {
		var sample map[string]json.RawMessage
		_ = json.Unmarshal(req.ContextSample, &sample)
		if _, ok := sample["user"]; !ok {
			return "", nil, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "contextSample.user",
				Message: "contextSample.user: Required"}
		}
	}
	return tokenType, &req, nil
}

func (s *Server) handleJWTCustomizerList(w http.ResponseWriter, r *request) error {
	list, err := s.store.JWTCustomizers(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	out := make([]jwtCustomizerListItem, len(list))
	for i, c := range list {
		out[i] = jwtCustomizerListItem{Key: store.JWTCustomizerKey(c.TokenType), Value: toJWTCustomizerResponse(c)}
	}
	s.writeSecretJSON(w, r, http.StatusOK, out)
	return nil
}

func (s *Server) handleJWTCustomizerGet(w http.ResponseWriter, r *request) error {
	tokenType := r.param("tokenTypePath")
	if err := checkTokenTypePath(tokenType); err != nil {
		return err
	}
	c, err := s.store.FindJWTCustomizer(r.Context(), r.tenant, tokenType)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, toJWTCustomizerResponse(c))
	return nil
}

// handleJWTCustomizerPut creates (201) or replaces (200) a customizer.
func (s *Server) handleJWTCustomizerPut(w http.ResponseWriter, r *request) error {
	tokenType, req, err := s.decodeJWTCustomizer(w, r)
	if err != nil {
		return err
	}
	c := &store.JWTCustomizer{TokenType: tokenType, Script: *req.Script, EnvironmentVariables: req.EnvironmentVariables,
		ContextSample: nonNull(req.ContextSample), TokenSample: nonNull(req.TokenSample), BlockIssuanceOnError: req.BlockIssuanceOnError}
	created, err := s.store.PutJWTCustomizer(r.Context(), r.tenant, c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeSecretJSON(w, r, status, toJWTCustomizerResponse(c))
	return nil
}

// handleJWTCustomizerPatch changes the fields sent, as Logto's merge.
func (s *Server) handleJWTCustomizerPatch(w http.ResponseWriter, r *request) error {
	tokenType, req, err := s.decodeJWTCustomizer(w, r)
	if err != nil {
		return err
	}
	c, err := s.store.UpdateJWTCustomizer(r.Context(), r.tenant, tokenType, store.JWTCustomizerUpdate{Script: req.Script,
		EnvironmentVariables: req.EnvironmentVariables, ContextSample: nonNull(req.ContextSample),
		TokenSample: nonNull(req.TokenSample), BlockIssuanceOnError: req.BlockIssuanceOnError}, nil)
	if err != nil {
		return err
	}
	s.writeSecretJSON(w, r, http.StatusOK, toJWTCustomizerResponse(c))
	return nil
}

func (s *Server) handleJWTCustomizerDelete(w http.ResponseWriter, r *request) error {
	tokenType := r.param("tokenTypePath")
	if err := checkTokenTypePath(tokenType); err != nil {
		return err
	}
	if err := s.store.DeleteJWTCustomizer(r.Context(), r.tenant, tokenType); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleJWTCustomizerTest runs a script against a sample token and context
// without storing anything, and answers the claims it returns. A failing
// script is 422 jwt_customizer.general with the script's message; a
// denial is 403, as in Logto.
func (s *Server) handleJWTCustomizerTest(w http.ResponseWriter, r *request) error {
	var req jwtCustomizerTestRequest
	if err := decodeStrictJSON(w, r, &req); err != nil {
		return err
	}
	if store.JWTCustomizerKey(req.TokenType) == "" {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "tokenType",
			Message: "tokenType: must be access-token or client-credentials"}
	}
	if req.Script == nil {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "script", Message: "script: Required"}
	}
	if err := checkEnvironmentVariables(req.EnvironmentVariables); err != nil {
		return err
	}
	var token, context map[string]any
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		into *map[string]any
	}{{"token", req.Token, &token}, {"context", req.Context, &context}} {
		if len(nonNull(f.raw)) == 0 {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: f.name, Message: f.name + ": Required"}
		}
		if err := json.Unmarshal(f.raw, f.into); err != nil {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: f.name, Message: f.name + ": expected object"}
		}
	}
	if err := checkJSONObject("context", req.Context, contextSampleKeys[req.TokenType]); err != nil {
		return err
	}
	if _, ok := context["user"]; req.TokenType == store.JWTAccessToken && !ok {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: "context.user", Message: "context.user: Required"}
	}
	claims, err := s.auth.RunCustomClaimsScript(r.Context(), r.tenant, req.TokenType, *req.Script, req.EnvironmentVariables, token, context)
	var failed *jwtcustom.Error
	if errors.As(err, &failed) {
		code := store.EUNPROCESSABLE
		if failed.Kind == jwtcustom.KindDenied {
			code = store.EFORBIDDEN
		}
		return &store.Error{Code: code, Detail: "jwt_customizer.general", Message: failed.Message}
	} else if err != nil {
		return err
	}
	out := make(map[string]json.RawMessage, len(claims))
	for _, c := range claims {
		out[c.Name] = c.Value
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}
