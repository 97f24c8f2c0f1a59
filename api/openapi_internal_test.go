package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/idbolt/idbolt/store"
)

// TestOpenAPI_CoversEveryRoute walks the routes New registers on the real
// router and the operations of the document it serves: every registered
// route has a description and is in the document, every description
// belongs to a registered route, and every documented operation is
// answered by the router, at the root and under a tenant's prefix.
func TestOpenAPI_CoversEveryRoute(t *testing.T) {
	s := newServer(Config{BaseURL: "http://idbolt.test"})
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(s.openapi.forTenant("http://idbolt.test"), &doc); err != nil {
		t.Fatal(err)
	}

	registered := map[string]bool{}
	for _, rt := range s.registered {
		key := rt.method + " " + rt.path
		op, ok := operations[key]
		if !ok {
			t.Errorf("route %s %s%s has no entry in operations (openapi_routes.go)", rt.method, rt.prefix, rt.path)
			continue
		}
		registered[key] = true
		path := rt.path
		if op.path != "" {
			path = op.path
		}
		if _, ok := doc.Paths[openAPIPath(path)][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s is not in the document", rt.method, rt.path)
		}
	}
	for key, op := range operations {
		if !registered[key] {
			t.Errorf("operations describes %s, which no route serves", key)
		}
		if op.summary == "" || len(op.replies) == 0 {
			t.Errorf("operations[%q] needs a summary and its success replies", key)
		}
	}

	n := 0
	for path, item := range doc.Paths {
		concrete := strings.NewReplacer("{", "", "}", "").Replace(path) // {userId} -> userId
		prefixes := []string{"", "/t/acme"}
		if _, rootOnly := item["servers"]; rootOnly {
			prefixes = prefixes[:1]
		}
		for method := range item {
			if method == "servers" || method == "parameters" {
				continue
			}
			n++
			for _, prefix := range prefixes {
				if h, _, _ := s.router.Lookup(strings.ToUpper(method), prefix+concrete); h == nil {
					t.Errorf("the document names %s %s, which the router does not serve", strings.ToUpper(method), prefix+concrete)
				}
			}
		}
	}
	if n != len(operations) {
		t.Errorf("the document has %d operations; operations describes %d", n, len(operations))
	}
}

// TestSchema_FromGoTypes checks the reflection rules: json names,
// omitempty, pointers, PATCH fields, embedding, maps, raw JSON and the
// openapi tags, for answers (closed objects) and requests (open ones).
func TestSchema_FromGoTypes(t *testing.T) {
	type inner struct {
		A string `json:"a"`
		B string `json:"b"`
	}
	type sample struct {
		inner
		B        *int                `json:"b,omitempty"` // shadows inner.B
		Name     *string             `json:"name"`
		Opt      *bool               `json:"opt,omitempty"`
		Digest   **string            `json:"digest,omitempty"`
		Tags     []string            `json:"tags"`
		Data     map[string]any      `json:"data"`
		Count    int64               `json:"count"`
		Patch    store.Field[string] `json:"patch"`
		Hidden   *bool               `json:"hidden,omitempty" openapi:"-"`
		Payload  json.RawMessage     `json:"payload" openapi:"object"`
		Skipped  string              `json:"-"`
		internal string
	}
	ss := newSchemaSet()
	ref := ss.of(reflect.TypeFor[sample](), responseSchema)
	if ref.Ref != "#/components/schemas/Sample" {
		t.Fatalf("ref %q", ref.Ref)
	}
	got, err := json.Marshal(ss.components["Sample"])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer","format":"int32"},` +
		`"count":{"type":"integer","format":"int64"},"data":{"type":"object","additionalProperties":{"description":"Any JSON value.","nullable":true}},` +
		`"digest":{"type":"string","nullable":true},"name":{"type":"string","nullable":true},"opt":{"type":"boolean"},` +
		`"patch":{"type":"string","nullable":true},"payload":{"type":"object"},"tags":{"type":"array","items":{"type":"string"}}},` +
		`"required":["a","count","data","name","patch","payload","tags"],"additionalProperties":false}`
	if string(got) != want {
		t.Errorf("answer schema\n got %s\nwant %s", got, want)
	}

	req, err := json.Marshal(newSchemaSet().of(reflect.TypeFor[sample](), requestSchema))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(req), "$ref") || strings.Contains(string(req), "additionalProperties\":false") ||
		strings.Contains(string(req), "required") || !strings.Contains(string(req), `"opt":{"type":"boolean","nullable":true}`) {
		t.Errorf("request schema: want inline, open, nothing required, pointers nullable: %s", req)
	}
}

// TestOpenAPI_Metrics: /metrics, served by main beside the API only with a
// metrics token, is in the document exactly then, at the root.
func TestOpenAPI_Metrics(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := newServer(Config{BaseURL: "http://idbolt.test", MetricsOnListener: on})
		var doc struct {
			Paths map[string]struct {
				Servers []struct{ URL string } `json:"servers"`
			} `json:"paths"`
		}
		data := s.openapi.forTenant("http://idbolt.test/t/acme")
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		loader := openapi3.NewLoader()
		if spec, err := loader.LoadFromData(data); err != nil {
			t.Fatal(err)
		} else if err := spec.Validate(loader.Context); err != nil {
			t.Errorf("MetricsOnListener %v: %v", on, err)
		}
		m, ok := doc.Paths["/metrics"]
		if ok != on || (on && (len(m.Servers) != 1 || m.Servers[0].URL != "http://idbolt.test")) {
			t.Errorf("MetricsOnListener %v: /metrics in the document %v, servers %+v", on, ok, m.Servers)
		}
	}
}
