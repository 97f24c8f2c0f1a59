package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/idbolt/idbolt/store"
)

// maxBody is the largest request body the Management API accepts.
const maxBody = 1 << 20

// maxPooledJSON is the largest buffer writeJSON keeps for the next answer,
// so that one large answer does not hold memory for good.
const maxPooledJSON = 16 << 10

// writeJSON marshals v before it touches the response, so a marshal failure
// can still become a clean 500.
func (s *Server) writeJSON(w http.ResponseWriter, r *request, status int, v any) {
	var data []byte
	var err error
	if a, ok := v.(jsonAppender); ok {
		// A hand-written answer is appended to a buffer of an earlier one:
		// the response writers copy what they are given (net/http's and
		// HTTP/2's buffers), so it is free again once Write returns.
		buf, _ := s.jsonBuffers.Get().(*[]byte)
		if buf == nil {
			buf = new([]byte)
		}
		data, err = a.appendJSON((*buf)[:0])
		defer func() {
			if cap(data) <= maxPooledJSON {
				*buf = data[:0]
				s.jsonBuffers.Put(buf)
			}
		}()
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		s.logger.ErrorContext(r.Context(), "encode response", "path", r.URL.Path, "err", err)
		status, data = http.StatusInternalServerError, []byte(`{"code":"internal_server_error","message":"Internal error."}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}

// writeSecretJSON is writeJSON for a response that carries a secret (a
// client secret, private key or signing key, shown once): no cache or proxy
// may keep it (RFC 9111 no-store; Pragma for HTTP/1.0 caches, as RFC 6749
// asks of token responses).
func (s *Server) writeSecretJSON(w http.ResponseWriter, r *request, status int, v any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	s.writeJSON(w, r, status, v)
}

// decodeJSON reads a JSON object from the request body into v. An empty body
// counts as {}. Every failure is EINVALID naming what is wrong, or ETOOLARGE.
func decodeJSON(w http.ResponseWriter, r *request, v any) error {
	return decodeJSONMax(w, r, v, maxBody)
}

// decodeJSONMax is decodeJSON with a body limit of its own.
func decodeJSONMax(w http.ResponseWriter, r *request, v any, limit int64) error {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &store.Error{Code: store.ETOOLARGE, Detail: "request.body_too_large",
			Message: fmt.Sprintf("The request body exceeds %d bytes.", limit)}
	} else if err != nil {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "The request body could not be read."}
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		data = []byte("{}")
	}
	if data[0] != '{' {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "The request body must be a JSON object."}
	}
	if mayHaveBadText(data) {
		if path, ok := badTextPath(data); ok {
			return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: path,
				Message: path + ": must be valid UTF-8 text (no invalid bytes or unpaired surrogates)"}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "The request body has data after the JSON object."}
	}
	return nil
}

// jsonError turns a decode error into a client message that names the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: field,
			Message: fmt.Sprintf("%s: expected %s, received %s", field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input",
			Message: fmt.Sprintf("Malformed JSON at byte %d: %s.", syntaxErr.Offset, syntaxErr.Error())}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "Malformed JSON: unexpected end of input."}
	}
	return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Message: "Malformed JSON: " + err.Error()}
}

func jsonTypeName(kind string) string {
	switch {
	case kind == "map" || kind == "struct":
		return "object"
	case kind == "slice":
		return "array"
	case strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "float") || strings.HasPrefix(kind, "uint"):
		return "number"
	case kind == "ptr":
		return "value"
	}
	return kind
}

// requireField returns EINVALID naming field when present is false.
func requireField(present bool, field string) error {
	if present {
		return nil
	}
	return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: field, Message: field + ": required"}
}

// fieldErr returns EINVALID naming field.
func fieldErr(field, message string) error {
	return &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: field, Message: field + ": " + message}
}
