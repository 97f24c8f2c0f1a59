package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/idbolt/idbolt/store"
)

// schema is an OpenAPI 3.0 schema object, as much of it as the document
// needs.
type schema struct {
	Ref         string             `json:"$ref,omitempty"`
	Type        string             `json:"type,omitempty"`
	Format      string             `json:"format,omitempty"`
	Description string             `json:"description,omitempty"`
	Nullable    bool               `json:"nullable,omitempty"`
	Enum        []string           `json:"enum,omitempty"`
	Items       *schema            `json:"items,omitempty"`
	Properties  map[string]*schema `json:"properties,omitempty"`
	Required    []string           `json:"required,omitempty"`
	// AdditionalProperties is false (a closed object: a response lists
	// every field it may hold) or a *schema (a map).
	AdditionalProperties any       `json:"additionalProperties,omitempty"`
	AllOf                []*schema `json:"allOf,omitempty"`
	AnyOf                []*schema `json:"anyOf,omitempty"`
}

// schemaMode says whether a schema describes what idbolt writes (closed
// objects, named components) or what it reads (open objects, inline: the
// decoder ignores fields it does not know, as Logto's guards strip them).
type schemaMode int

const (
	responseSchema schemaMode = iota
	requestSchema
)

// schemaSet derives JSON schemas from Go types by reflection, as
// encoding/json writes them: json tags name the fields, omitempty makes a
// field optional, a pointer makes it nullable, an embedded struct's fields
// are the outer struct's. Named struct types of responses become components.
//
// A struct tag openapi:"-" leaves a field out (one that only hides an
// embedded field of the same name); openapi:"object" says a json.RawMessage
// always holds an object.
type schemaSet struct {
	components map[string]*schema
	names      map[string]reflect.Type // component name -> the type it describes
}

func newSchemaSet() *schemaSet {
	return &schemaSet{components: map[string]*schema{}, names: map[string]reflect.Type{}}
}

// Types whose JSON is not their Go shape.
var (
	rawMessageType = reflect.TypeFor[json.RawMessage]()
	anyType        = reflect.TypeFor[any]()
)

// of returns the schema of t.
func (ss *schemaSet) of(t reflect.Type, mode schemaMode) *schema {
	if t == nil || t == anyType || t == rawMessageType {
		return &schema{Nullable: true, Description: "Any JSON value."}
	}
	if inner, ok := fieldValueType(t); ok {
		// store.Field[T] is a PATCH field: absent, null (clear) or a value.
		s := ss.of(reflect.PointerTo(inner), mode)
		return s
	}
	switch t.Kind() {
	case reflect.Pointer:
		inner := ss.of(t.Elem(), mode)
		return nullable(inner)
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return &schema{Type: "integer", Format: "int32"}
	case reflect.Int64, reflect.Uint64:
		return &schema{Type: "integer", Format: "int64"}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &schema{Type: "string", Format: "byte"}
		}
		return &schema{Type: "array", Items: ss.of(t.Elem(), mode)}
	case reflect.Map:
		return &schema{Type: "object", AdditionalProperties: ss.of(t.Elem(), mode)}
	case reflect.Interface:
		return &schema{Nullable: true, Description: "Any JSON value."}
	case reflect.Struct:
		if mode == requestSchema || t.Name() == "" {
			return ss.object(t, mode)
		}
		name := componentName(t)
		if prev, ok := ss.names[name]; ok {
			if prev != t {
				panic(fmt.Sprintf("openapi: component %s names both %v and %v", name, prev, t))
			}
		} else {
			ss.names[name] = t
			ss.components[name] = nil // a recursive type refers to itself
			ss.components[name] = ss.object(t, mode)
		}
		return &schema{Ref: "#/components/schemas/" + name}
	}
	panic(fmt.Sprintf("openapi: no schema for %v", t))
}

// nullable returns s accepting null too; a reference is wrapped, since
// OpenAPI 3.0 ignores the siblings of $ref.
func nullable(s *schema) *schema {
	if s.Ref != "" {
		return &schema{Nullable: true, AllOf: []*schema{s}}
	}
	out := *s
	out.Nullable = true
	return &out
}

// object returns the schema of struct type t.
func (ss *schemaSet) object(t reflect.Type, mode schemaMode) *schema {
	s := &schema{Type: "object", Properties: map[string]*schema{}}
	if mode == responseSchema {
		s.AdditionalProperties = false
	}
	fields := map[string]jsonField{}
	ss.collectFields(fields, t, 0, mode)
	for name, f := range fields {
		if f.hidden {
			continue
		}
		s.Properties[name] = f.schema
		if mode == responseSchema && f.required {
			s.Required = append(s.Required, name)
		}
	}
	slices.Sort(s.Required)
	return s
}

// jsonField is a field as encoding/json writes it.
type jsonField struct {
	schema   *schema
	required bool // not omitempty
	depth    int  // of embedding: the shallowest field of a name wins
	hidden   bool // tagged openapi:"-"
}

// collectFields adds the JSON fields of struct type t, embedded depth
// levels deep, to fields, as encoding/json writes them.
func (ss *schemaSet) collectFields(fields map[string]jsonField, t reflect.Type, depth int, mode schemaMode) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				ss.collectFields(fields, ft, depth+1, mode)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if prev, ok := fields[name]; ok && prev.depth <= depth {
			continue
		}
		omitempty := strings.Contains(opts, "omitempty")
		ft := f.Type
		if omitempty && ft.Kind() == reflect.Pointer && mode == responseSchema {
			// A nil pointer is left out, never written as null: the
			// pointer only says whether the field is there.
			ft = ft.Elem()
		}
		var fs *schema
		switch f.Tag.Get("openapi") {
		case "-":
			// Never written: the field only hides an embedded one.
			fields[name] = jsonField{depth: depth, hidden: true}
			continue
		case "object":
			fs = &schema{Type: "object"} // raw JSON that is always an object
		default:
			fs = ss.of(ft, mode)
		}
		if d := f.Tag.Get("doc"); d != "" {
			if fs.Ref != "" {
				fs = &schema{AllOf: []*schema{fs}}
			}
			fs.Description = d
		}
		fields[name] = jsonField{schema: fs, required: !omitempty, depth: depth}
	}
}

// fieldValueType reports whether t is a store.Field[T], and T.
func fieldValueType(t reflect.Type) (reflect.Type, bool) {
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[store.Field[string]]().PkgPath() ||
		!strings.HasPrefix(t.Name(), "Field[") {
		return nil, false
	}
	v, ok := t.FieldByName("Value")
	if !ok || v.Type.Kind() != reflect.Pointer {
		return nil, false
	}
	return v.Type.Elem(), true
}

// componentName is the schema name of a named Go type: exported, without a
// Response or Body suffix (userResponse is User), and prefixed with its package
// when that is not api (store.Profile is StoreProfile).
func componentName(t reflect.Type) string {
	name := strings.TrimSuffix(strings.TrimSuffix(t.Name(), "Response"), "Body")
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	name = string(r)
	pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
	if pkg != "api" {
		p := []rune(pkg)
		p[0] = unicode.ToUpper(p[0])
		name = string(p) + name
	}
	return name
}
