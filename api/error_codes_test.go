package api_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// codeSite is where the server's source makes an error code.
type codeSite struct {
	file, fn string
}

// codeSource is what the source makes: the codes written as literals where
// an error is built, and the sites that build one from an expression.
type codeSource struct {
	codes   map[string][]codeSite
	dynamic map[codeSite]string // site -> the expression
}

// dynamicCodeSites are the places that build a code from an expression, with
// the codes each can produce. A new such site fails the test until it is
// listed here.
var dynamicCodeSites = map[codeSite][]string{
	// The constructor itself: its callers' literals are collected.
	{"store/errors.go", "detailErrorf"}: nil,
	// userIndexes' detail field.
	{"store/users.go", "checkUserUnique"}:          {"user.username_already_in_use", "user.email_already_in_use", "user.phone_already_in_use"},
	{"store/users_batch.go", "checkEntriesUnique"}: {"user.username_already_in_use", "user.email_already_in_use", "user.phone_already_in_use"},
	{"store/users_batch.go", "checkBatchUnique"}:   {"user.username_already_in_use", "user.email_already_in_use", "user.phone_already_in_use"},
	// Called with "user" and "application".
	{"store/api_clients.go", "errManagedByAPIClient"}: {"user.managed_by_api_client", "application.managed_by_api_client"},
	// The audit entry of a refused password check names its error.
	{"store/users_password.go", "checkUserPassword"}: {"session.invalid_credentials", "password.expired"},
	// "oidc." + the type of a newOAuthError, whose literals are collected.
	{"auth/errors.go", "writeOAuthError"}: nil,
}

// codeRE is the shape of an error code: dotted snake_case words.
var codeRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// jsonCodeRE finds a code written inside a JSON literal.
var jsonCodeRE = regexp.MustCompile(`"code"\s*:\s*"([^"]+)"`)

// collectCodes parses every non-test Go file of the server (the root
// package, api, auth and store with its packages) and returns the error
// codes it can answer.
func collectCodes(t *testing.T) codeSource {
	t.Helper()
	src := codeSource{codes: map[string][]codeSite{}, dynamic: map[codeSite]string{}}
	fset := token.NewFileSet()
	var files []string
	for _, dir := range []string{"..", "../api", "../auth", "../store"} {
		recursive := dir == "../store"
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != dir && (!recursive || d.Name() == "testdata") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(filepath.ToSlash(path), "../")
		for _, decl := range f.Decls {
			fn := ""
			if d, ok := decl.(*ast.FuncDecl); ok {
				fn = d.Name.Name
			}
			collectDecl(decl, codeSite{rel, fn}, &src)
		}
	}
	return src
}

// collectDecl adds the codes made in decl to src.
func collectDecl(decl ast.Decl, site codeSite, src *codeSource) {
	add := func(code string) { src.codes[code] = append(src.codes[code], site) }
	// expr is where a code goes: a literal is one, anything else a dynamic
	// site.
	expr := func(e ast.Expr) {
		if s, ok := stringLit(e); ok {
			add(s)
			return
		}
		src.dynamic[site] = exprText(e)
	}
	ast.Inspect(decl, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			switch callName(n) {
			case "detailErrorf":
				if len(n.Args) > 1 {
					expr(n.Args[1])
				}
			case "newOAuthError":
				if s, ok := stringLit(n.Args[0]); ok {
					add("oidc." + s)
				}
			}
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Detail" {
				expr(n.Value)
			}
			if id, ok := n.Key.(*ast.Ident); ok && id.Name == "Code" {
				if s, ok := stringLit(n.Value); ok { // store's Code is an E* constant
					add(s)
				}
			}
			if s, ok := stringLit(n.Key); ok && s == "code" {
				expr(n.Value)
			}
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if name.Name != "defaultLogtoCode" || i >= len(n.Values) {
					continue
				}
				for _, elt := range n.Values[i].(*ast.CompositeLit).Elts {
					expr(elt.(*ast.KeyValueExpr).Value)
				}
			}
		case *ast.BasicLit:
			if s, ok := stringLit(n); ok {
				for _, m := range jsonCodeRE.FindAllStringSubmatch(s, -1) {
					add(m[1])
				}
			}
		}
		return true
	})
}

// exprText renders the names and literals of e, for a message.
func exprText(e ast.Expr) string {
	var sb strings.Builder
	ast.Inspect(e, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			sb.WriteString(n.Name + " ")
		case *ast.BasicLit:
			sb.WriteString(n.Value + " ")
		}
		return true
	})
	return strings.TrimSpace(sb.String())
}

func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// readLogtoCodes reads testdata/logto-error-codes.txt.
func readLogtoCodes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("../testdata/logto-error-codes.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	codes := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			codes[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(codes) < 300 || !codes["entity.not_exists_with_id"] || !codes["guard.invalid_input"] {
		t.Fatalf("testdata/logto-error-codes.txt holds %d codes; is it complete?", len(codes))
	}
	return codes
}

// ownCodesLine starts the README's list of idbolt's own error codes in
// "Deliberate differences".
const ownCodesLine = "- idbolt's own error codes"

// readOwnCodes reads the codes the README documents as idbolt's own: the
// backquoted codes of the bullet that starts with ownCodesLine, continuation
// lines included.
func readOwnCodes(t *testing.T) map[string]bool {
	t.Helper()
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var bullet strings.Builder
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, ownCodesLine):
			in = true
		case in && (line == "" || strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "#")):
			in = false
		}
		if in {
			bullet.WriteString(line + "\n")
		}
	}
	own := map[string]bool{}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(bullet.String(), -1) {
		if codeRE.MatchString(m[1]) || m[1] == "internal_server_error" {
			own[m[1]] = true
		}
	}
	if len(own) == 0 {
		t.Fatalf("README.md has no line starting %q listing idbolt's own codes", ownCodesLine)
	}
	return own
}

// TestErrorCodes_AreLogtos collects every error code the server's source
// can answer (the Detail of store errors, the code of the envelopes api and
// auth write, the defaults of api.writeError) and fails on any that Logto
// does not have (testdata/logto-error-codes.txt, from Logto's phrases)
// unless the README documents it as idbolt's own. A code built from an
// expression must be listed in dynamicCodeSites with what it can be.
func TestErrorCodes_AreLogtos(t *testing.T) {
	logto := readLogtoCodes(t)
	own := readOwnCodes(t)
	src := collectCodes(t)

	for site, e := range src.dynamic {
		codes, ok := dynamicCodeSites[site]
		if !ok {
			t.Errorf("%s (%s) makes an error code from an expression (%s): list what it can be in dynamicCodeSites", site.file, site.fn, e)
			continue
		}
		for _, c := range codes {
			src.codes[c] = append(src.codes[c], site)
		}
	}
	for site := range dynamicCodeSites {
		if _, ok := src.dynamic[site]; !ok {
			t.Errorf("dynamicCodeSites lists %s (%s), which makes no code from an expression any more", site.file, site.fn)
		}
	}
	if len(src.codes) < 50 {
		t.Fatalf("found only %d codes: the collector misses where the server makes them", len(src.codes))
	}

	var unknown []string
	for code, sites := range src.codes {
		if !logto[code] && !own[code] {
			unknown = append(unknown, code+" ("+sites[0].file+", "+sites[0].fn+")")
		}
	}
	sort.Strings(unknown)
	for _, u := range unknown {
		t.Errorf("code %s is not Logto's: use Logto's code, or document it in README.md (%q)", u, ownCodesLine)
	}
	for code := range own {
		if logto[code] {
			t.Errorf("README.md lists %s as idbolt's own, but Logto has it", code)
		}
		if _, ok := src.codes[code]; !ok {
			t.Errorf("README.md lists %s as idbolt's own, but the server no longer answers it", code)
		}
	}
}
