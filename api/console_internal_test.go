package api

import (
	"bytes"
	"strings"
	"testing"
)

// TestConsole_OutsideOpenAPI: the console's routes are served beside the
// router on purpose (console.go), so the OpenAPI document, which lists the
// Management API, has none of them and the router itself answers 404.
func TestConsole_OutsideOpenAPI(t *testing.T) {
	s := newServer(Config{BaseURL: "http://idbolt.test"})
	for _, rt := range s.registered {
		if strings.HasPrefix(rt.path, "/console") {
			t.Errorf("route %s %s is registered through handle", rt.method, rt.path)
		}
	}
	if bytes.Contains(s.openapi.forTenant("http://idbolt.test"), []byte(`"/console`)) {
		t.Error("the OpenAPI document names a console path")
	}
	if h, _, _ := s.router.Lookup("POST", "/console/session"); h != nil {
		t.Error("the router serves /console/session")
	}
}
