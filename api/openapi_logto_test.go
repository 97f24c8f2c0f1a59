package api_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// logtoDTS is Logto's Management API schema (shared/reference/README.md);
// -update reads it to rewrite logtoExtract.
var logtoDTS = flag.String("logto-dts", "../../shared/reference/logto-management-api.d.ts",
	"Logto's management.d.ts, read by -update to rewrite "+logtoExtract)

// logtoExtract holds, for every operation of Logto's schema, its success
// status and the top-level fields of its JSON answer (of an array's items),
// so that the comparison runs without the schema at hand.
const logtoExtract = "../testdata/logto-openapi-responses.json"

// logtoOperation is one operation of the extract.
type logtoOperation struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	// Array is true when the answer is an array of objects with Fields.
	Array  bool                  `json:"array,omitempty"`
	Fields map[string]logtoField `json:"fields,omitempty"`
}

// logtoField is a top-level field of an answer.
type logtoField struct {
	Required bool `json:"required"`
	Nullable bool `json:"nullable"`
}

// logtoDifferences are the deliberate differences between idbolt's answers
// and Logto's, by operation (path parameters as {}) and field; the README's
// "Deliberate differences" section states them. A difference that is not
// listed, or one listed that is gone, fails TestOpenAPI_LogtoSchemas.
var logtoDifferences = map[string]string{
	"GET /api/applications/{}/secrets optional value":                               whySecretValue,
	"DELETE /api/users/{}/identities/{} missing hasSecurityVerificationMethod":      whyNoMFA,
	"DELETE /api/users/{}/identities/{} missing ssoIdentities":                      whyIncludes,
	"DELETE /api/users/{}/identities/{} required hasPassword":                       whyHasPassword,
	"GET /api/users/{}/personal-access-tokens optional value":                       whyPATValue,
	"PATCH /api/users/{}/personal-access-tokens optional value":                     whyPATValue,
	"PATCH /api/users/{}/personal-access-tokens/{} optional value":                  whyPATValue,
	"GET /api/users/{}/identities/{} missing tokenSecret":                           whyNoTokenSecret,
	"GET /api/one-time-tokens optional token":                                       whyOneTimeTokenValue,
	"GET /api/one-time-tokens/{} optional token":                                    whyOneTimeTokenValue,
	"PUT /api/one-time-tokens/{}/status optional token":                             whyOneTimeTokenValue,
	"GET /api/configs/oidc/{} missing effectiveAt":                                  whyEffectiveAt,
	"GET /api/roles/{}/users missing hasSecurityVerificationMethod":                 whyNoMFA,
	"GET /api/roles/{}/users missing ssoIdentities":                                 whyIncludes,
	"GET /api/roles/{}/users required hasPassword":                                  whyHasPassword,
	"GET /api/users missing hasSecurityVerificationMethod":                          whyNoMFA,
	"GET /api/users required hasPassword":                                           whyHasPassword,
	"GET /api/users/{} missing hasSecurityVerificationMethod":                       whyNoMFA,
	"GET /api/users/{} required hasPassword":                                        whyHasPassword,
	"PATCH /api/applications/{}/secrets/{} optional value":                          whySecretValue,
	"PATCH /api/users/{} missing hasSecurityVerificationMethod":                     whyNoMFA,
	"PATCH /api/users/{} missing passwordAlgorithm":                                 whyIncludes,
	"PATCH /api/users/{} missing passwordDigest":                                    whyIncludes,
	"PATCH /api/users/{} missing ssoIdentities":                                     whyIncludes,
	"PATCH /api/users/{} required hasPassword":                                      whyHasPassword,
	"PATCH /api/users/{}/is-suspended missing hasSecurityVerificationMethod":        whyNoMFA,
	"PATCH /api/users/{}/is-suspended missing passwordAlgorithm":                    whyIncludes,
	"PATCH /api/users/{}/is-suspended missing passwordDigest":                       whyIncludes,
	"PATCH /api/users/{}/is-suspended missing ssoIdentities":                        whyIncludes,
	"PATCH /api/users/{}/is-suspended required hasPassword":                         whyHasPassword,
	"PATCH /api/users/{}/password missing hasSecurityVerificationMethod":            whyNoMFA,
	"PATCH /api/users/{}/password missing passwordAlgorithm":                        whyIncludes,
	"PATCH /api/users/{}/password missing passwordDigest":                           whyIncludes,
	"PATCH /api/users/{}/password missing ssoIdentities":                            whyIncludes,
	"PATCH /api/users/{}/password required hasPassword":                             whyHasPassword,
	"PATCH /api/users/{}/password/expiration missing hasSecurityVerificationMethod": whyNoMFA,
	"PATCH /api/users/{}/password/expiration missing passwordAlgorithm":             whyIncludes,
	"PATCH /api/users/{}/password/expiration missing passwordDigest":                whyIncludes,
	"PATCH /api/users/{}/password/expiration missing ssoIdentities":                 whyIncludes,
	"PATCH /api/users/{}/password/expiration required hasPassword":                  whyHasPassword,
	"POST /api/configs/oidc/{}/rotate missing effectiveAt":                          whyEffectiveAt,
	"POST /api/users missing hasSecurityVerificationMethod":                         whyNoMFA,
	"POST /api/users missing passwordAlgorithm":                                     whyIncludes,
	"POST /api/users missing passwordDigest":                                        whyIncludes,
	"POST /api/users missing ssoIdentities":                                         whyIncludes,
	"POST /api/users required hasPassword":                                          whyHasPassword,
}

// Why idbolt differs from Logto (the values of logtoDifferences).
const (
	whyNoMFA       = "idbolt has no MFA or other verification methods, so a user answer has no hasSecurityVerificationMethod."
	whyHasPassword = "idbolt sends hasPassword in every user answer; Logto's schema makes it optional."
	whyIncludes    = "passwordDigest, passwordAlgorithm and ssoIdentities come only in GET /api/users and GET /api/users/{userId}, " +
		"with includePasswordHash and includeSsoIdentities; Logto's schema admits them in every user answer."
	whySecretValue = "idbolt keeps a hash of an application secret, so only the answer that creates it holds its value " +
		"(or, with the tenant's readableApplicationSecrets switch, a list); Logto returns it on every read."
	whyPATValue          = "idbolt keeps a personal access token's keyed hash, not its value, so only the creation shows the value."
	whyNoTokenSecret     = "idbolt has no social connectors, so it stores no provider tokens and an identity has no tokenSecret."
	whyOneTimeTokenValue = "idbolt keeps a one-time token's keyed hash, not its value, so only the creation (and a verification, which was given it) shows the value."
	whyEffectiveAt       = "idbolt's keys take effect when they are made, so a key has no effectiveAt."
)

// logtoAndIdbolt returns Logto's operations from the extract, by
// "METHOD /path" with path parameters as {}, and idbolt's OpenAPI document.
func logtoAndIdbolt(t *testing.T) (map[string]logtoOperation, *openapi3.T) {
	t.Helper()
	data, err := os.ReadFile(logtoExtract)
	if err != nil {
		t.Fatal(err)
	}
	var logto map[string]logtoOperation
	if err := json.Unmarshal(data, &logto); err != nil {
		t.Fatal(err)
	}
	doc, err := openAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	return logto, doc
}

// TestOpenAPI_LogtoSchemas compares, for every route idbolt shares with
// Logto, the success status and the fields of the answer (their names,
// whether they are always present, whether they may be null) with Logto's
// schema, and fails on any difference not in logtoDifferences.
func TestOpenAPI_LogtoSchemas(t *testing.T) {
	if *update {
		writeLogtoExtract(t)
	}
	logto, doc := logtoAndIdbolt(t)
	found := map[string]bool{}
	shared := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + anyParams(path)
			lo, ok := logto[key]
			if !ok {
				continue
			}
			shared++
			for _, d := range compareWithLogto(op, lo) {
				k := key + " " + d
				found[k] = true
				if _, ok := logtoDifferences[k]; !ok {
					t.Errorf("differs from Logto, and not in logtoDifferences: %q", k)
				}
			}
		}
	}
	for k := range logtoDifferences {
		if !found[k] {
			t.Errorf("logtoDifferences lists %q, which is no longer a difference", k)
		}
	}
	t.Logf("%d operations shared with Logto", shared)
	if shared < 100 {
		t.Errorf("only %d operations shared with Logto; the extract or the matching is broken", shared)
	}
}

// compareWithLogto lists how idbolt's operation op differs from Logto's:
// "status 201" (idbolt has no such success status), "no body", and per
// field "missing F", "extra F", "optional F", "required F", "nullable F",
// "not nullable F".
func compareWithLogto(op *openapi3.Operation, lo logtoOperation) []string {
	resp := op.Responses.Status(lo.Status)
	if resp == nil {
		return []string{"status " + strconv.Itoa(lo.Status)}
	}
	if lo.Fields == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return []string{"no body"}
	}
	s := unwrap(mt.Schema.Value)
	if lo.Array {
		if s.Type == nil || !s.Type.Is("array") {
			return []string{"not an array"}
		}
		s = unwrap(s.Items.Value)
	}
	if len(s.Properties) == 0 {
		return nil // a map (custom data): no fields to compare
	}
	var out []string
	for name, lf := range lo.Fields {
		p, ok := s.Properties[name]
		if !ok {
			out = append(out, "missing "+name)
			continue
		}
		required := slices.Contains(s.Required, name)
		switch {
		case lf.Required && !required:
			out = append(out, "optional "+name)
		case !lf.Required && required:
			out = append(out, "required "+name)
		}
		switch nullable := p.Value.Nullable; {
		case lf.Nullable && !nullable:
			out = append(out, "not nullable "+name)
		case !lf.Nullable && nullable:
			out = append(out, "nullable "+name)
		}
	}
	for name := range s.Properties {
		if _, ok := lo.Fields[name]; !ok {
			out = append(out, "extra "+name)
		}
	}
	return out
}

// unwrap returns the schema an allOf of one wraps (a nullable reference).
func unwrap(s *openapi3.Schema) *openapi3.Schema {
	for len(s.AllOf) == 1 && len(s.Properties) == 0 {
		s = s.AllOf[0].Value
	}
	return s
}

var pathParamRE = regexp.MustCompile(`\{[^}]*\}`)

// anyParams writes every path parameter as {}: Logto names the id of
// /api/applications/{id} what idbolt calls {applicationId}.
func anyParams(path string) string { return pathParamRE.ReplaceAllString(path, "{}") }

// writeLogtoExtract rewrites logtoExtract from *logtoDTS.
func writeLogtoExtract(t *testing.T) {
	src, err := os.ReadFile(*logtoDTS)
	if err != nil {
		t.Fatalf("-update needs Logto's schema (-logto-dts): %v", err)
	}
	ops, err := parseLogtoDTS(string(src))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(ops, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logtoExtract, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

var (
	dtsPathRE   = regexp.MustCompile(`^    "(/[^"]*)": \{$`)
	dtsMethodRE = regexp.MustCompile(`^        (get|put|post|delete|patch): operations\["(\w+)"\];$`)
	dtsOpRE     = regexp.MustCompile(`^    (\w+): \{$`)
	dtsStatusRE = regexp.MustCompile(`^            (\d{3}): \{$`)
)

// parseLogtoDTS reads the paths and operations of Logto's management.d.ts
// (openapi-typescript output) into the extract, keyed "METHOD path".
func parseLogtoDTS(src string) (map[string]logtoOperation, error) {
	lines := strings.Split(src, "\n")
	opStart := slices.Index(lines, "export interface operations {")
	if opStart < 0 {
		return nil, fmt.Errorf("no operations interface")
	}
	byID := map[string]string{} // operation id -> "METHOD path"
	path := ""
	for _, l := range lines[:opStart] {
		if m := dtsPathRE.FindStringSubmatch(l); m != nil {
			path = m[1]
		} else if m := dtsMethodRE.FindStringSubmatch(l); m != nil && path != "" {
			byID[m[2]] = strings.ToUpper(m[1]) + " " + anyParams(path)
		}
	}
	// Byte offset of every line, to start the type parser mid-text.
	offsets := make([]int, len(lines)+1)
	for i, l := range lines {
		offsets[i+1] = offsets[i] + len(l) + 1
	}
	out := map[string]logtoOperation{}
	for i := opStart + 1; i < len(lines); i++ {
		m := dtsOpRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		key, ok := byID[m[1]]
		if !ok {
			continue
		}
		op := logtoOperation{ID: m[1]}
		// The first 2xx answer with JSON content, or else the first 2xx.
		for j := i + 1; j < len(lines) && lines[j] != "    };"; j++ {
			sm := dtsStatusRE.FindStringSubmatch(lines[j])
			if sm == nil || sm[1][0] != '2' {
				continue
			}
			if op.Status == 0 || op.Fields == nil {
				op.Status, _ = strconv.Atoi(sm[1])
			}
			for k := j + 1; k < len(lines) && lines[k] != "            };"; k++ {
				const ct = `"application/json": `
				if c := strings.Index(lines[k], ct); c >= 0 {
					p := &tsParser{src: src, pos: offsets[k] + c + len(ct)}
					typ, err := p.parseType()
					if err != nil {
						return nil, fmt.Errorf("%s: %v", m[1], err)
					}
					op.Array, op.Fields = typ.fields()
					break
				}
			}
			if op.Fields != nil {
				break
			}
		}
		out[key] = op
	}
	return out, nil
}

// tsType is a TypeScript type, as much of it as the extract needs.
type tsType struct {
	props    map[string]tsProp // an object's members; nil for other types
	elem     *tsType           // an array's element
	null     bool              // the type is null
	nullable bool              // a union with null
}

type tsProp struct {
	typ      *tsType
	optional bool
}

// fields returns the top-level fields of an answer of type t.
func (t *tsType) fields() (array bool, fields map[string]logtoField) {
	if t.elem != nil {
		array, t = true, t.elem
	}
	if t.props == nil {
		return false, nil
	}
	fields = map[string]logtoField{}
	for name, p := range t.props {
		fields[name] = logtoField{Required: !p.optional, Nullable: p.typ.nullable || p.typ.null}
	}
	return array, fields
}

// tsParser parses a TypeScript type expression of openapi-typescript's
// output: object literals, unions, arrays, tuples, parentheses, literals,
// named types, Record<...> and components["..."]["..."] references.
type tsParser struct {
	src string
	pos int
}

// next returns the next token: an identifier, a string or number literal,
// or one punctuation character; comments are skipped.
func (p *tsParser) next() string {
	tok, end := p.peekAt(p.pos)
	p.pos = end
	return tok
}

func (p *tsParser) peek() string {
	tok, _ := p.peekAt(p.pos)
	return tok
}

func (p *tsParser) peekAt(pos int) (string, int) {
	s := p.src
	for pos < len(s) {
		switch {
		case s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\t' || s[pos] == '\r':
			pos++
		case strings.HasPrefix(s[pos:], "/*"):
			end := strings.Index(s[pos+2:], "*/")
			if end < 0 {
				return "", len(s)
			}
			pos += end + 4
		case strings.HasPrefix(s[pos:], "//"):
			end := strings.IndexByte(s[pos:], '\n')
			if end < 0 {
				return "", len(s)
			}
			pos += end
		default:
			goto token
		}
	}
	return "", pos
token:
	start := pos
	c := s[pos]
	switch {
	case c == '"' || c == '\'':
		pos++
		for pos < len(s) && s[pos] != c {
			if s[pos] == '\\' {
				pos++
			}
			pos++
		}
		return s[start : pos+1], pos + 1
	case c == '_' || c == '$' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		pos++
		for pos < len(s) && (s[pos] == '_' || s[pos] == '$' || s[pos] == '.' || s[pos] >= '0' && s[pos] <= '9' ||
			s[pos] >= 'a' && s[pos] <= 'z' || s[pos] >= 'A' && s[pos] <= 'Z') {
			pos++
		}
		return s[start:pos], pos
	}
	return s[start : pos+1], pos + 1
}

func (p *tsParser) expect(tok string) error {
	if got := p.next(); got != tok {
		return fmt.Errorf("at %d: want %q, got %q", p.pos, tok, got)
	}
	return nil
}

// parseType parses a union.
func (p *tsParser) parseType() (*tsType, error) {
	if p.peek() == "|" {
		p.next()
	}
	var out *tsType
	for {
		t, err := p.parseIntersection()
		if err != nil {
			return nil, err
		}
		switch {
		case out == nil:
			out = t
		case t.null:
			out.nullable = true
		case out.null:
			t.nullable = true
			out = t
		case out.props != nil && t.props != nil:
			// A union of objects: a member not in both is optional.
			for name, pr := range out.props {
				if _, ok := t.props[name]; !ok {
					pr.optional = true
					out.props[name] = pr
				}
			}
			for name, pr := range t.props {
				if _, ok := out.props[name]; !ok {
					pr.optional = true
					out.props[name] = pr
				}
			}
		}
		if p.peek() != "|" {
			return out, nil
		}
		p.next()
	}
}

// parseIntersection parses A & B: an object with the members of both.
func (p *tsParser) parseIntersection() (*tsType, error) {
	t, err := p.parsePostfix()
	if err != nil {
		return nil, err
	}
	for p.peek() == "&" {
		p.next()
		u, err := p.parsePostfix()
		if err != nil {
			return nil, err
		}
		if t.props == nil {
			t = u
			continue
		}
		for name, pr := range u.props {
			t.props[name] = pr
		}
	}
	return t, nil
}

func (p *tsParser) parsePostfix() (*tsType, error) {
	t, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		tok, end := p.peekAt(p.pos)
		if tok != "[" {
			break
		}
		if tok, _ := p.peekAt(end); tok != "]" {
			break
		}
		p.next()
		p.next()
		t = &tsType{elem: t}
	}
	return t, nil
}

func (p *tsParser) parsePrimary() (*tsType, error) {
	tok := p.next()
	switch {
	case tok == "{":
		return p.parseMembers()
	case tok == "(":
		t, err := p.parseType()
		if err != nil {
			return nil, err
		}
		return t, p.expect(")")
	case tok == "[": // a tuple: an array of its first element's type
		var first *tsType
		for p.peek() != "]" {
			t, err := p.parseType()
			if err != nil {
				return nil, err
			}
			if first == nil {
				first = t
			}
			if p.peek() == "," {
				p.next()
			}
		}
		p.next()
		return &tsType{elem: first}, nil
	case tok == "null":
		return &tsType{null: true}, nil
	case tok == "components":
		for p.peek() == "[" { // components["schemas"]["X"]
			p.next()
			p.next()
			if err := p.expect("]"); err != nil {
				return nil, err
			}
		}
		return &tsType{}, nil
	case tok == "Record":
		if err := p.skipGeneric(); err != nil {
			return nil, err
		}
		return &tsType{}, nil
	case tok == "" || strings.ContainsAny(tok[:1], "})];:,|"):
		return nil, fmt.Errorf("at %d: unexpected %q", p.pos, tok)
	}
	return &tsType{}, nil // a literal or a named scalar type
}

// skipGeneric skips <...>.
func (p *tsParser) skipGeneric() error {
	if err := p.expect("<"); err != nil {
		return err
	}
	for depth := 1; depth > 0; {
		switch p.next() {
		case "<":
			depth++
		case ">":
			depth--
		case "":
			return fmt.Errorf("unterminated generic")
		}
	}
	return nil
}

// parseMembers parses an object literal after its {.
func (p *tsParser) parseMembers() (*tsType, error) {
	t := &tsType{props: map[string]tsProp{}}
	for {
		tok := p.next()
		switch tok {
		case "}":
			return t, nil
		case ";", ",":
			continue
		case "":
			return nil, fmt.Errorf("unterminated object")
		case "[": // an index signature: [key: string]: T
			for p.next() != "]" {
			}
			if err := p.expect(":"); err != nil {
				return nil, err
			}
			if _, err := p.parseType(); err != nil {
				return nil, err
			}
			continue
		}
		name := tok
		if uq, err := strconv.Unquote(tok); err == nil {
			name = uq
		}
		optional := false
		if p.peek() == "?" {
			p.next()
			optional = true
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		typ, err := p.parseType()
		if err != nil {
			return nil, err
		}
		t.props[name] = tsProp{typ: typ, optional: optional}
	}
}
