package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Black-box tests of Logto's organization API: organizations, the
// organization template (roles and scopes) and, in
// organization_members_test.go, their members. Every apitest server checks
// referential integrity when it stops, so each test also proves that its
// writes left no dangling relation behind.

// orgWire is an organization on the wire; the optional parts are set by
// showFeatured and by the member lists of organizations.
type orgWire struct {
	TenantID          string          `json:"tenantId"`
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Description       *string         `json:"description"`
	CustomData        map[string]any  `json:"customData"`
	IsMfaRequired     bool            `json:"isMfaRequired"`
	Color             map[string]any  `json:"color"`
	Branding          map[string]any  `json:"branding"`
	CustomCSS         *string         `json:"customCss"`
	CreatedAt         int64           `json:"createdAt"`
	UsersCount        *int            `json:"usersCount"`
	FeaturedUsers     *[]featuredUser `json:"featuredUsers"`
	OrganizationRoles []orgRef        `json:"organizationRoles"`
}

// orgRef is the {id, name} of an organization role or scope beside another
// object.
type orgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// orgRoleWire is an organization role; the scope lists are set in the list.
type orgRoleWire struct {
	TenantID       string             `json:"tenantId"`
	ID             string             `json:"id"`
	Name           string             `json:"name"`
	Description    *string            `json:"description"`
	Type           string             `json:"type"`
	Scopes         []orgRef           `json:"scopes"`
	ResourceScopes []orgResourceScope `json:"resourceScopes"`
}

type orgResourceScope struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Resource orgRef `json:"resource"`
}

// orgScopeWire is an organization scope.
type orgScopeWire struct {
	TenantID    string  `json:"tenantId"`
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

// Field orders of Logto's answers (logto-samples/10-create-organization.txt
// and the 1.42 typed schema).
const (
	orgFields             = "tenantId,id,name,description,customData,isMfaRequired,color,branding,customCss,createdAt"
	orgFeaturedFields     = orgFields + ",usersCount,featuredUsers"
	orgWithRolesFields    = orgFields + ",organizationRoles"
	orgRoleFields         = "tenantId,id,name,description,type"
	orgRoleListFields     = orgRoleFields + ",scopes,resourceScopes"
	orgScopeFields        = "tenantId,id,name,description"
	orgResourceScopeField = "id,name,resource"
)

// orgIDPattern is Logto's generateStandardId alphabet.
var orgIDPattern = regexp.MustCompile(`^[0-9a-z]+$`)

// orgCreate creates an organization called name in e's tenant.
func (e *env) orgCreate(t testing.TB, name string) orgWire {
	t.Helper()
	var o orgWire
	e.do(t, "POST", "/api/organizations", map[string]any{"name": name}, http.StatusCreated, &o)
	return o
}

// orgCreateScope creates an organization scope.
func (e *env) orgCreateScope(t testing.TB, name string) orgScopeWire {
	t.Helper()
	var s orgScopeWire
	e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": name, "description": name + " scope"}, http.StatusCreated, &s)
	return s
}

// orgCreateRole creates an organization role from body.
func (e *env) orgCreateRole(t testing.TB, body map[string]any) orgRoleWire {
	t.Helper()
	var r orgRoleWire
	e.do(t, "POST", "/api/organization-roles", body, http.StatusCreated, &r)
	return r
}

// orgRole creates an organization role of type typ ("" for the default).
func (e *env) orgRole(t testing.TB, name, typ string) orgRoleWire {
	t.Helper()
	body := map[string]any{"name": name}
	if typ != "" {
		body["type"] = typ
	}
	return e.orgCreateRole(t, body)
}

// orgRoleList lists GET /api/organization-roles with query, keyed by id,
// and returns the ids in answer order.
func (e *env) orgRoleList(t testing.TB, query string) (map[string]orgRoleWire, string, response) {
	t.Helper()
	var list []orgRoleWire
	r := e.do(t, "GET", "/api/organization-roles?"+query, nil, http.StatusOK, &list)
	out := make(map[string]orgRoleWire, len(list))
	ids := make([]string, len(list))
	for i, x := range list {
		out[x.ID] = x
		ids[i] = x.ID
	}
	return out, join(ids...), r
}

// orgRawList decodes a JSON array into its undecoded elements.
func orgRawList(t testing.TB, r response) []json.RawMessage {
	t.Helper()
	var raw []json.RawMessage
	r.JSON(t, &raw)
	return raw
}

// orgSorted returns ids sorted, comma-joined.
func orgSorted(ids ...string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return join(s...)
}

// orgByName returns the ids of items sorted by name (then id), comma-joined.
func orgByName[T any](items []T, id, name func(T) string) string {
	s := slices.Clone(items)
	slices.SortFunc(s, func(a, b T) int {
		if c := strings.Compare(name(a), name(b)); c != 0 {
			return c
		}
		return strings.Compare(id(a), id(b))
	})
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = id(x)
	}
	return join(out...)
}

// orgWantPaging fails the test unless r carries Total-Number total and Link
// headers (total "" means neither).
func orgWantPaging(t testing.TB, what string, r response, total string) {
	t.Helper()
	if got := r.Header.Get("Total-Number"); got != total {
		t.Errorf("%s: Total-Number %q, want %q", what, got, total)
	}
	if hasLink := len(r.Header.Values("Link")) > 0; hasLink != (total != "") {
		t.Errorf("%s: Link %v, want Link headers only when paged", what, r.Header.Values("Link"))
	}
}

// TestOrganizations_CreateShape checks the create answer byte for byte
// against the answer captured from Logto, apart from id and createdAt.
func TestOrganizations_CreateShape(t *testing.T) {
	e := newEnv(t)
	before := time.Now().UnixMilli()
	r := e.do(t, "POST", "/api/organizations", map[string]any{"name": "Org 9761544", "description": "sample org"}, http.StatusCreated, nil)
	var o orgWire
	r.JSON(t, &o)
	if len(o.ID) != 12 || !orgIDPattern.MatchString(o.ID) {
		t.Errorf("id %q, want 12 characters of [0-9a-z]", o.ID)
	}
	if o.CreatedAt < before || o.CreatedAt > time.Now().UnixMilli() {
		t.Errorf("createdAt %d not between %d and now", o.CreatedAt, before)
	}
	// logto-samples/10-create-organization.txt with its id and createdAt.
	want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"Org 9761544","description":"sample org","customData":{},`+
		`"isMfaRequired":false,"color":{},"branding":{},"customCss":null,"createdAt":%d}`, o.ID, o.CreatedAt)
	if string(r.Body) != want {
		t.Errorf("body\n%s\nwant\n%s", r.Body, want)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}

	// GET answers the same object.
	got := e.do(t, "GET", "/api/organizations/"+o.ID, nil, http.StatusOK, nil)
	if string(got.Body) != want {
		t.Errorf("GET body\n%s\nwant\n%s", got.Body, want)
	}

	// Every optional field, echoed in Logto's key order.
	r = e.do(t, "POST", "/api/organizations", map[string]any{
		"name":          "Full",
		"customData":    map[string]any{"plan": "pro", "seats": 5},
		"isMfaRequired": true,
		"color":         map[string]any{"darkPrimaryColor": "#000", "isDarkModeEnabled": true, "primaryColor": "#5D34F2"},
		"branding": map[string]any{"darkFavicon": "https://cdn.example.com/df.ico", "favicon": "https://cdn.example.com/f.ico",
			"darkLogoUrl": "https://cdn.example.com/dark.png", "logoUrl": "http://cdn.example.com/logo.png"},
		"customCss": "body { color: red; }",
		// Accepted by Logto's guard and ignored.
		"tenantId":  "other",
		"createdAt": 1,
		"unknown":   "stripped",
	}, http.StatusCreated, &o)
	want = fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"Full","description":null,"customData":{"plan":"pro","seats":5},`+
		`"isMfaRequired":true,"color":{"primaryColor":"#5D34F2","isDarkModeEnabled":true,"darkPrimaryColor":"#000"},`+
		`"branding":{"logoUrl":"http://cdn.example.com/logo.png","darkLogoUrl":"https://cdn.example.com/dark.png",`+
		`"favicon":"https://cdn.example.com/f.ico","darkFavicon":"https://cdn.example.com/df.ico"},`+
		`"customCss":"body { color: red; }","createdAt":%d}`, o.ID, o.CreatedAt)
	if string(r.Body) != want {
		t.Errorf("full body\n%s\nwant\n%s", r.Body, want)
	}
	if o.CreatedAt == 1 {
		t.Error("createdAt from the body was stored")
	}

	// Names are not unique.
	again := e.orgCreate(t, "Full")
	if again.ID == o.ID {
		t.Error("second organization got the same id")
	}
}

func TestOrganizations_CreateErrors(t *testing.T) {
	e := newEnv(t)
	long := func(n int) string { return strings.Repeat("x", n) }
	e.expectErrors(t, "POST", []errorCase{
		{"NoName", "/api/organizations", map[string]any{"description": "d"}, 400, "guard.invalid_input"},
		// idbolt requires 1 to 128 characters; Logto accepts "".
		{"EmptyName", "/api/organizations", map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"LongName", "/api/organizations", map[string]any{"name": long(129)}, 400, "guard.invalid_input"},
		{"NameNotString", "/api/organizations", map[string]any{"name": 12}, 400, "guard.invalid_input"},
		{"NullName", "/api/organizations", map[string]any{"name": nil}, 400, "guard.invalid_input"},
		{"LongDescription", "/api/organizations", map[string]any{"name": "n", "description": long(257)}, 400, "guard.invalid_input"},
		{"CustomDataString", "/api/organizations", map[string]any{"name": "n", "customData": "b"}, 400, "guard.invalid_input"},
		{"CustomDataNull", "/api/organizations", map[string]any{"name": "n", "customData": nil}, 400, "guard.invalid_input"},
		{"CustomDataArray", "/api/organizations", map[string]any{"name": "n", "customData": []int{1}}, 400, "guard.invalid_input"},
		{"MfaNotBool", "/api/organizations", map[string]any{"name": "n", "isMfaRequired": "yes"}, 400, "guard.invalid_input"},
		{"ColorName", "/api/organizations", map[string]any{"name": "n", "color": map[string]any{"primaryColor": "red"}}, 400, "guard.invalid_input"},
		{"ColorFiveDigits", "/api/organizations", map[string]any{"name": "n", "color": map[string]any{"primaryColor": "#12345"}}, 400, "guard.invalid_input"},
		{"ColorNoHash", "/api/organizations", map[string]any{"name": "n", "color": map[string]any{"primaryColor": "5d34f2"}}, 400, "guard.invalid_input"},
		{"DarkColorBadHex", "/api/organizations", map[string]any{"name": "n", "color": map[string]any{"darkPrimaryColor": "#ggg"}}, 400, "guard.invalid_input"},
		{"DarkModeNotBool", "/api/organizations", map[string]any{"name": "n", "color": map[string]any{"isDarkModeEnabled": "on"}}, 400, "guard.invalid_input"},
		{"ColorNotObject", "/api/organizations", map[string]any{"name": "n", "color": "#fff"}, 400, "guard.invalid_input"},
		{"LogoNotURL", "/api/organizations", map[string]any{"name": "n", "branding": map[string]any{"logoUrl": "not a url"}}, 400, "guard.invalid_input"},
		{"FaviconRelative", "/api/organizations", map[string]any{"name": "n", "branding": map[string]any{"favicon": "/favicon.ico"}}, 400, "guard.invalid_input"},
		{"DarkLogoNotString", "/api/organizations", map[string]any{"name": "n", "branding": map[string]any{"darkLogoUrl": 1}}, 400, "guard.invalid_input"},
		{"CustomCSSNotString", "/api/organizations", map[string]any{"name": "n", "customCss": 1}, 400, "guard.invalid_input"},
	})
	t.Run("NotJSON", func(t *testing.T) {
		if r := call(t, "POST", e.URL+"/api/organizations", e.token, "{"); r.Status != 400 {
			t.Errorf("%d %s", r.Status, r.Body)
		}
	})
	// Nothing was created by the refused requests.
	var list []orgWire
	r := e.do(t, "GET", "/api/organizations", nil, http.StatusOK, &list)
	if len(list) != 0 || r.Header.Get("Total-Number") != "0" {
		t.Errorf("organizations after refusals: %s", r.Body)
	}
	// 128 characters and a 256-character description are fine.
	e.do(t, "POST", "/api/organizations", map[string]any{"name": long(128), "description": long(256)}, http.StatusCreated, nil)
}

func TestOrganizations_GetUpdateDelete(t *testing.T) {
	e := newEnv(t)
	var o orgWire
	e.do(t, "POST", "/api/organizations", map[string]any{
		"name": "Acme", "description": "d", "customData": map[string]any{"a": 1, "keep": "no"},
		"color":     map[string]any{"primaryColor": "#fff", "isDarkModeEnabled": true},
		"branding":  map[string]any{"logoUrl": "https://x.example.com/l.png", "favicon": "https://x.example.com/f.ico"},
		"customCss": ".a{}", "isMfaRequired": true,
	}, http.StatusCreated, &o)
	path := "/api/organizations/" + o.ID

	// An empty PATCH changes nothing.
	var got orgWire
	r := e.do(t, "PATCH", path, map[string]any{}, http.StatusOK, &got)
	if got.Name != "Acme" || *got.Description != "d" || got.CustomData["a"] != float64(1) || got.Color["isDarkModeEnabled"] != true ||
		got.Branding["favicon"] == nil || *got.CustomCSS != ".a{}" || !got.IsMfaRequired || got.CreatedAt != o.CreatedAt {
		t.Errorf("empty patch: %s", r.Body)
	}
	if f := fieldNames(t, r.Body); f != orgFields {
		t.Errorf("patch fields %s", f)
	}

	// customData, color and branding are replaced, not merged.
	r = e.do(t, "PATCH", path, map[string]any{"name": "Acme Inc", "customData": map[string]any{"b": 2},
		"color": map[string]any{"darkPrimaryColor": "#000000"}, "branding": map[string]any{"darkLogoUrl": "https://x.example.com/d.png"},
		"isMfaRequired": false}, http.StatusOK, nil)
	want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"Acme Inc","description":"d","customData":{"b":2},"isMfaRequired":false,`+
		`"color":{"darkPrimaryColor":"#000000"},"branding":{"darkLogoUrl":"https://x.example.com/d.png"},"customCss":".a{}","createdAt":%d}`,
		o.ID, o.CreatedAt)
	if string(r.Body) != want {
		t.Errorf("patch\n%s\nwant\n%s", r.Body, want)
	}
	// description and customCss may be nulled; empty objects clear color and branding.
	r = e.do(t, "PATCH", path, map[string]any{"description": nil, "customCss": nil, "color": map[string]any{},
		"branding": map[string]any{}, "customData": map[string]any{}}, http.StatusOK, nil)
	want = fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"Acme Inc","description":null,"customData":{},"isMfaRequired":false,`+
		`"color":{},"branding":{},"customCss":null,"createdAt":%d}`, o.ID, o.CreatedAt)
	if string(r.Body) != want {
		t.Errorf("nulling patch\n%s\nwant\n%s", r.Body, want)
	}
	if got := e.do(t, "GET", path, nil, http.StatusOK, nil); string(got.Body) != want {
		t.Errorf("GET after patch\n%s\nwant\n%s", got.Body, want)
	}

	e.expectErrors(t, "PATCH", []errorCase{
		{"EmptyName", path, map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"LongName", path, map[string]any{"name": strings.Repeat("n", 129)}, 400, "guard.invalid_input"},
		{"BadColor", path, map[string]any{"color": map[string]any{"primaryColor": "#12"}}, 400, "guard.invalid_input"},
		{"BadBranding", path, map[string]any{"branding": map[string]any{"logoUrl": "logo.png"}}, 400, "guard.invalid_input"},
		{"CustomDataNull", path, map[string]any{"customData": nil}, 400, "guard.invalid_input"},
		{"CustomDataString", path, map[string]any{"customData": "x"}, 400, "guard.invalid_input"},
		{"MfaNull", path, map[string]any{"isMfaRequired": "true"}, 400, "guard.invalid_input"},
		{"Unknown", "/api/organizations/nosuchorg", map[string]any{"name": "x"}, 404, "entity.not_exists"},
	})
	// The refused patches changed nothing.
	if got := e.do(t, "GET", path, nil, http.StatusOK, nil); string(got.Body) != want {
		t.Errorf("GET after refused patches\n%s\nwant\n%s", got.Body, want)
	}

	e.fail(t, "GET", "/api/organizations/nosuchorg", nil, 404, "entity.not_found")
	e.do(t, "DELETE", path, nil, http.StatusNoContent, nil)
	e.fail(t, "GET", path, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", path, nil, 404, "entity.not_found")
	e.fail(t, "PATCH", path, map[string]any{"name": "back"}, 404, "entity.not_exists")
}

func TestOrganizations_List(t *testing.T) {
	e := newEnv(t)
	var orgs []orgWire
	for _, name := range []string{"Alpha Team", "beta TEAM", "Gamma", "Delta", "Epsilon"} {
		var o orgWire
		e.do(t, "POST", "/api/organizations", map[string]any{"name": name, "description": "zzdescription"}, http.StatusCreated, &o)
		orgs = append(orgs, o)
	}
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	sorted := orgSorted(ids...)

	// Always paged (20 by default), in id order, with Logto's item shape.
	r := e.do(t, "GET", "/api/organizations", nil, http.StatusOK, nil)
	orgWantPaging(t, "default page", r, "5")
	raw := orgRawList(t, r)
	if len(raw) != 5 {
		t.Fatalf("list %s", r.Body)
	}
	for _, item := range raw {
		if f := fieldNames(t, item); f != orgFields {
			t.Errorf("item fields %s, want %s", f, orgFields)
		}
	}
	e.wantIDs(t, "/api/organizations", strings.Split(sorted, ",")...)

	// Pages concatenate to the whole list; Link follows the users list.
	base := e.URL + "/api/organizations"
	var paged []string
	for page := 1; page <= 3; page++ {
		r := e.do(t, "GET", fmt.Sprintf("/api/organizations?page=%d&page_size=2", page), nil, http.StatusOK, &orgs)
		orgWantPaging(t, fmt.Sprintf("page %d", page), r, "5")
		for _, o := range orgs {
			paged = append(paged, o.ID)
		}
		if page == 2 {
			wantLinks := []string{
				`<` + base + `?page=1&page_size=2>; rel="first"`, `<` + base + `?page=1&page_size=2>; rel="prev"`,
				`<` + base + `?page=3&page_size=2>; rel="last"`, `<` + base + `?page=3&page_size=2>; rel="next"`}
			if got := r.Header.Values("Link"); strings.Join(got, "\n") != strings.Join(wantLinks, "\n") {
				t.Errorf("Link\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantLinks, "\n"))
			}
		}
	}
	if join(paged...) != sorted {
		t.Errorf("pages %s, want %s", join(paged...), sorted)
	}
	e.wantIDs(t, "/api/organizations?page=4&page_size=2")
	e.fail(t, "GET", "/api/organizations?page=0", nil, 400, "guard.invalid_pagination")
	e.fail(t, "GET", "/api/organizations?page_size=101", nil, 400, "guard.invalid_pagination")

	// q: a case-insensitive substring of the id or the name, not the description.
	r = e.do(t, "GET", "/api/organizations?q=team", nil, http.StatusOK, nil)
	orgWantPaging(t, "q=team", r, "2")
	e.wantIDs(t, "/api/organizations?q=TeAm", strings.Split(orgSorted(ids[0], ids[1]), ",")...)
	e.wantIDs(t, "/api/organizations?q=gamm", ids[2])
	e.wantIDs(t, "/api/organizations?q="+strings.ToUpper(ids[3][2:9]), ids[3])
	e.wantIDs(t, "/api/organizations?q=zzdescription")
	e.wantIDs(t, "/api/organizations?q=", strings.Split(sorted, ",")...)
	r = e.do(t, "GET", "/api/organizations?q=team&page=2&page_size=1", nil, http.StatusOK, &orgs)
	if len(orgs) != 1 || orgs[0].ID != strings.Split(orgSorted(ids[0], ids[1]), ",")[1] || r.Header.Get("Total-Number") != "2" {
		t.Errorf("q page 2: %v %s", r.Header, r.Body)
	}
	if got := r.Header.Values("Link")[0]; got != `<`+base+`?q=team&page=1&page_size=1>; rel="first"` &&
		got != `<`+base+`?q=team&page_size=1&page=1>; rel="first"` {
		t.Errorf("Link keeps q: %s", got)
	}
}

func TestOrganizations_ListShowFeatured(t *testing.T) {
	e := newEnv(t)
	big, empty := e.orgCreate(t, "Big"), e.orgCreate(t, "Empty")
	var members []string
	for i := range 5 {
		body := map[string]any{"username": fmt.Sprintf("m%d", i), "name": fmt.Sprintf("Member %d", i)}
		if i%2 == 0 {
			body["avatar"] = fmt.Sprintf("https://a.example.com/%d.png", i)
		}
		members = append(members, e.createUser(t, body).ID)
	}
	e.do(t, "POST", "/api/organizations/"+big.ID+"/users", map[string]any{"userIds": members}, http.StatusCreated, nil)

	for _, flag := range []string{"1", "true", "yes", "Y", "TRUE"} {
		t.Run(flag, func(t *testing.T) {
			r := e.do(t, "GET", "/api/organizations?showFeatured="+flag, nil, http.StatusOK, nil)
			orgWantPaging(t, "featured", r, "2")
			raw := orgRawList(t, r)
			for _, item := range raw {
				if f := fieldNames(t, item); f != orgFeaturedFields {
					t.Errorf("item fields %s, want %s", f, orgFeaturedFields)
				}
				var o orgWire
				if err := json.Unmarshal(item, &o); err != nil {
					t.Fatal(err)
				}
				switch o.ID {
				case big.ID:
					if o.UsersCount == nil || *o.UsersCount != 5 || o.FeaturedUsers == nil || len(*o.FeaturedUsers) != 3 {
						t.Errorf("big: %s", item)
						continue
					}
					var fu []json.RawMessage
					json.Unmarshal(mustField(t, item, "featuredUsers"), &fu)
					for i, u := range *o.FeaturedUsers {
						if f := fieldNames(t, fu[i]); f != featuredUserFields {
							t.Errorf("featured user fields %s", f)
						}
						n := slices.Index(members, u.ID)
						if n < 0 || u.Name == nil || *u.Name != fmt.Sprintf("Member %d", n) || (n%2 == 0) != (u.Avatar != nil) {
							t.Errorf("featured user %+v", u)
						}
					}
				case empty.ID:
					if o.UsersCount == nil || *o.UsersCount != 0 || o.FeaturedUsers == nil || len(*o.FeaturedUsers) != 0 {
						t.Errorf("empty: %s", item)
					}
					if !strings.Contains(string(item), `"featuredUsers":[]`) {
						t.Errorf("empty featuredUsers not []: %s", item)
					}
				default:
					t.Errorf("unexpected item %s", item)
				}
			}
		})
	}
	// Without the flag (or with a false one) the keys are absent.
	for _, q := range []string{"", "?showFeatured=0", "?showFeatured=false", "?showFeatured=no"} {
		r := e.do(t, "GET", "/api/organizations"+q, nil, http.StatusOK, nil)
		if strings.Contains(string(r.Body), "usersCount") || strings.Contains(string(r.Body), "featuredUsers") {
			t.Errorf("GET %q shows featured fields: %s", q, r.Body)
		}
	}
	// usersCount counts all members, whatever the page and q.
	var list []orgWire
	e.do(t, "GET", "/api/organizations?showFeatured=1&q=big&page_size=1", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].UsersCount == nil || *list[0].UsersCount != 5 {
		t.Errorf("featured with q: %+v", list)
	}
}

// mustField returns the member key of the JSON object raw.
func mustField(t testing.TB, raw []byte, key string) json.RawMessage {
	t.Helper()
	v, ok := objectKeys(t, raw)[key]
	if !ok {
		t.Fatalf("no %s in %s", key, raw)
	}
	return v
}

func TestOrganizationScopes_CRUD(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "read:docs", "description": "Read docs"}, http.StatusCreated, nil)
	var read orgScopeWire
	r.JSON(t, &read)
	if len(read.ID) != 21 || !orgIDPattern.MatchString(read.ID) {
		t.Errorf("scope id %q", read.ID)
	}
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"read:docs","description":"Read docs"}`, read.ID); string(r.Body) != want {
		t.Errorf("created %s, want %s", r.Body, want)
	}
	var write orgScopeWire
	r = e.do(t, "POST", "/api/organization-scopes", map[string]any{"name": "write:docs"}, http.StatusCreated, &write)
	if write.Description != nil || fieldNames(t, r.Body) != orgScopeFields {
		t.Errorf("created without description: %s", r.Body)
	}

	e.expectErrors(t, "POST", []errorCase{
		{"Duplicate", "/api/organization-scopes", map[string]any{"name": "read:docs"}, 422, "entity.unique_integrity_violation"},
		{"NoName", "/api/organization-scopes", map[string]any{"description": "x"}, 400, "guard.invalid_input"},
		{"EmptyName", "/api/organization-scopes", map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"LongName", "/api/organization-scopes", map[string]any{"name": strings.Repeat("s", 129)}, 400, "guard.invalid_input"},
		{"LongDescription", "/api/organization-scopes", map[string]any{"name": "x", "description": strings.Repeat("s", 257)}, 400, "guard.invalid_input"},
		{"NameNotString", "/api/organization-scopes", map[string]any{"name": true}, 400, "guard.invalid_input"},
	})

	path := "/api/organization-scopes/" + read.ID
	r = e.do(t, "GET", path, nil, http.StatusOK, nil)
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"read:docs","description":"Read docs"}`, read.ID); string(r.Body) != want {
		t.Errorf("GET %s", r.Body)
	}
	e.fail(t, "GET", "/api/organization-scopes/nosuchscope", nil, 404, "entity.not_found")

	// PATCH: rename, keep the own name, null the description; a taken name is refused.
	var got orgScopeWire
	e.do(t, "PATCH", path, map[string]any{"name": "read:documents"}, http.StatusOK, &got)
	if got.Name != "read:documents" || got.Description == nil || *got.Description != "Read docs" {
		t.Errorf("renamed %+v", got)
	}
	e.do(t, "PATCH", path, map[string]any{"name": "read:documents", "description": nil}, http.StatusOK, &got)
	if got.Name != "read:documents" || got.Description != nil {
		t.Errorf("patched %+v", got)
	}
	e.fail(t, "PATCH", path, map[string]any{"name": "write:docs"}, 422, "entity.unique_integrity_violation")
	e.fail(t, "PATCH", path, map[string]any{"name": ""}, 400, "guard.invalid_input")
	e.fail(t, "PATCH", "/api/organization-scopes/nosuchscope", map[string]any{"name": "x"}, 404, "entity.not_exists")
	// The old name is free again; the new one is taken.
	e.orgCreateScope(t, "read:docs")
	e.fail(t, "POST", "/api/organization-scopes", map[string]any{"name": "read:documents"}, 422, "entity.unique_integrity_violation")

	e.do(t, "DELETE", path, nil, http.StatusNoContent, nil)
	e.fail(t, "GET", path, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", path, nil, 404, "entity.not_found")
	// A deleted scope's name can be used again.
	e.orgCreateScope(t, "read:documents")
}

func TestOrganizationScopes_List(t *testing.T) {
	e := newEnv(t)
	var scopes []orgScopeWire
	for _, n := range []string{"write:docs", "read:docs", "delete:docs", "admin", "read:billing"} {
		scopes = append(scopes, e.orgCreateScope(t, n))
	}
	byName := orgByName(scopes, func(s orgScopeWire) string { return s.ID }, func(s orgScopeWire) string { return s.Name })

	// Paging is optional: without page parameters everything, unpaged.
	r := e.do(t, "GET", "/api/organization-scopes", nil, http.StatusOK, nil)
	orgWantPaging(t, "unpaged", r, "")
	for _, item := range orgRawList(t, r) {
		if f := fieldNames(t, item); f != orgScopeFields {
			t.Errorf("item fields %s", f)
		}
	}
	if got := e.ids(t, "/api/organization-scopes"); got != byName {
		t.Errorf("order %s, want by name %s", got, byName)
	}
	var page []orgScopeWire
	r = e.do(t, "GET", "/api/organization-scopes?page=2&page_size=2", nil, http.StatusOK, &page)
	orgWantPaging(t, "paged", r, "5")
	if len(page) != 2 || join(page[0].ID, page[1].ID) != join(strings.Split(byName, ",")[2:4]...) {
		t.Errorf("page 2: %s", r.Body)
	}
	r = e.do(t, "GET", "/api/organization-scopes?page_size=3", nil, http.StatusOK, &page)
	orgWantPaging(t, "page_size only", r, "5")

	// q matches the name only, case-insensitively.
	e.wantIDs(t, "/api/organization-scopes?q=READ", strings.Split(orgByName(
		[]orgScopeWire{scopes[1], scopes[4]}, func(s orgScopeWire) string { return s.ID }, func(s orgScopeWire) string { return s.Name }), ",")...)
	e.wantIDs(t, "/api/organization-scopes?q=scope") // in every description
	e.wantIDs(t, "/api/organization-scopes?q="+scopes[3].ID[:10])
	r = e.do(t, "GET", "/api/organization-scopes?q=docs&page_size=2", nil, http.StatusOK, &page)
	orgWantPaging(t, "q paged", r, "3")
	e.fail(t, "GET", "/api/organization-scopes?page=abc", nil, 400, "guard.invalid_pagination")
}

func TestOrganizationRoles_CRUD(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "member", "description": "A member"}, http.StatusCreated, nil)
	var member orgRoleWire
	r.JSON(t, &member)
	if len(member.ID) != 21 || !orgIDPattern.MatchString(member.ID) {
		t.Errorf("role id %q", member.ID)
	}
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"member","description":"A member","type":"User"}`, member.ID); string(r.Body) != want {
		t.Errorf("created %s, want %s", r.Body, want)
	}
	var bot orgRoleWire
	r = e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "bot", "type": "MachineToMachine", "unknown": 1}, http.StatusCreated, &bot)
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"bot","description":null,"type":"MachineToMachine"}`, bot.ID); string(r.Body) != want {
		t.Errorf("created %s, want %s", r.Body, want)
	}

	e.expectErrors(t, "POST", []errorCase{
		{"Duplicate", "/api/organization-roles", map[string]any{"name": "member"}, 422, "entity.unique_integrity_violation"},
		{"NoName", "/api/organization-roles", map[string]any{"description": "x"}, 400, "guard.invalid_input"},
		{"EmptyName", "/api/organization-roles", map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"LongName", "/api/organization-roles", map[string]any{"name": strings.Repeat("r", 129)}, 400, "guard.invalid_input"},
		{"LongDescription", "/api/organization-roles", map[string]any{"name": "x", "description": strings.Repeat("r", 257)}, 400, "guard.invalid_input"},
		{"BadType", "/api/organization-roles", map[string]any{"name": "new-role", "type": "Admin"}, 400, "guard.invalid_input"},
		{"EmptyType", "/api/organization-roles", map[string]any{"name": "new-role", "type": ""}, 400, "guard.invalid_input"},
		{"ScopeIdsNotArray", "/api/organization-roles", map[string]any{"name": "new-role", "organizationScopeIds": "a"}, 400, "guard.invalid_input"},
		{"UnknownOrgScope", "/api/organization-roles", map[string]any{"name": "new-role", "organizationScopeIds": []string{"nosuchscope"}},
			422, "entity.relation_foreign_key_not_found"},
		{"UnknownResourceScope", "/api/organization-roles", map[string]any{"name": "new-role", "resourceScopeIds": []string{"nosuchscope"}},
			422, "entity.relation_foreign_key_not_found"},
	})
	// An unknown id refuses the whole creation, valid scopes and all.
	valid := e.orgCreateScope(t, "valid")
	res := e.createResource(t, "R", "https://r.example.com")
	rs := e.createScopes(t, res.ID, "rs")[0]
	e.fail(t, "POST", "/api/organization-roles", map[string]any{"name": "new-role", "organizationScopeIds": []string{valid.ID},
		"resourceScopeIds": []string{rs.ID, "nosuchscope"}}, 422, "entity.relation_foreign_key_not_found")
	e.fail(t, "POST", "/api/organization-roles", map[string]any{"name": "new-role", "organizationScopeIds": []string{valid.ID, "nosuchscope"},
		"resourceScopeIds": []string{rs.ID}}, 422, "entity.relation_foreign_key_not_found")
	// The refused creations left nothing behind, not even the role row.
	if _, ids, _ := e.orgRoleList(t, "q=new-role"); ids != "" {
		t.Errorf("roles after refusals: %s", ids)
	}
	e.orgRole(t, "new-role", "")

	// GET is the plain role, without scopes.
	path := "/api/organization-roles/" + member.ID
	r = e.do(t, "GET", path, nil, http.StatusOK, nil)
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"member","description":"A member","type":"User"}`, member.ID); string(r.Body) != want {
		t.Errorf("GET %s, want %s", r.Body, want)
	}
	e.fail(t, "GET", "/api/organization-roles/nosuchrole", nil, 404, "entity.not_found")

	var got orgRoleWire
	r = e.do(t, "PATCH", path, map[string]any{"name": "members", "description": nil}, http.StatusOK, &got)
	if want := fmt.Sprintf(`{"tenantId":"default","id":%q,"name":"members","description":null,"type":"User"}`, member.ID); string(r.Body) != want {
		t.Errorf("PATCH %s, want %s", r.Body, want)
	}
	e.do(t, "PATCH", path, map[string]any{"name": "members", "description": "again"}, http.StatusOK, &got)
	if got.Name != "members" || got.Description == nil || *got.Description != "again" {
		t.Errorf("patched %+v", got)
	}
	e.expectErrors(t, "PATCH", []errorCase{
		{"Duplicate", path, map[string]any{"name": "bot"}, 422, "entity.unique_integrity_violation"},
		{"EmptyName", path, map[string]any{"name": ""}, 400, "guard.invalid_input"},
		{"BadType", path, map[string]any{"type": "Both"}, 400, "guard.invalid_input"},
		{"Unknown", "/api/organization-roles/nosuchrole", map[string]any{"name": "y"}, 404, "entity.not_exists"},
	})
	e.orgRole(t, "member", "") // the old name is free

	// The type may change while no member holds the role.
	e.do(t, "PATCH", path, map[string]any{"type": "MachineToMachine"}, http.StatusOK, &got)
	if got.Type != "MachineToMachine" {
		t.Errorf("type %s", got.Type)
	}
	e.do(t, "PATCH", path, map[string]any{"type": "User"}, http.StatusOK, &got)

	e.do(t, "DELETE", path, nil, http.StatusNoContent, nil)
	e.fail(t, "GET", path, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", path, nil, 404, "entity.not_found")
}

// TestOrganizationRoles_TypeChange checks that a role keeps its type while
// members of that kind hold it.
func TestOrganizationRoles_TypeChange(t *testing.T) {
	e := newEnv(t)
	org := e.orgCreate(t, "Org")
	u := e.createUser(t, map[string]any{"username": "holder"})
	app := e.createM2M(t, "worker")
	userRole, appRole := e.orgRole(t, "people", "User"), e.orgRole(t, "machines", "MachineToMachine")
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{u.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/applications", map[string]any{"applicationIds": []string{app.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users/"+u.ID+"/roles", map[string]any{"organizationRoleIds": []string{userRole.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/applications/"+app.ID+"/roles", map[string]any{"organizationRoleIds": []string{appRole.ID}}, http.StatusCreated, nil)

	e.fail(t, "PATCH", "/api/organization-roles/"+userRole.ID, map[string]any{"type": "MachineToMachine"}, 422, "organization.role_type_in_use")
	e.fail(t, "PATCH", "/api/organization-roles/"+appRole.ID, map[string]any{"type": "User"}, 422, "organization.role_type_in_use")
	// Same type, or another field: fine.
	e.do(t, "PATCH", "/api/organization-roles/"+userRole.ID, map[string]any{"type": "User", "name": "humans"}, http.StatusOK, nil)
	var got orgRoleWire
	e.do(t, "GET", "/api/organization-roles/"+userRole.ID, nil, http.StatusOK, &got)
	if got.Type != "User" || got.Name != "humans" {
		t.Errorf("after refused type change: %+v", got)
	}

	// A pending invitation that grants the User role holds it too: once
	// the role were MachineToMachine, the invitation could not be accepted.
	var inv struct{ ID string }
	e.do(t, "POST", "/api/organization-invitations", map[string]any{"invitee": "new@example.com", "organizationId": org.ID,
		"expiresAt": time.Now().Add(24 * time.Hour).UnixMilli(), "organizationRoleIds": []string{userRole.ID}}, http.StatusCreated, &inv)
	e.do(t, "DELETE", "/api/organizations/"+org.ID+"/users/"+u.ID+"/roles/"+userRole.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "PATCH", "/api/organization-roles/"+userRole.ID, map[string]any{"type": "MachineToMachine"}, 422, "organization.role_type_in_use")

	// Once the holders are gone, the type may change.
	e.do(t, "DELETE", "/api/organization-invitations/"+inv.ID, nil, http.StatusNoContent, nil)
	e.do(t, "PATCH", "/api/organization-roles/"+userRole.ID, map[string]any{"type": "MachineToMachine"}, http.StatusOK, &got)
	if got.Type != "MachineToMachine" {
		t.Errorf("type %s", got.Type)
	}
	e.do(t, "DELETE", "/api/organizations/"+org.ID+"/applications/"+app.ID, nil, http.StatusNoContent, nil)
	e.do(t, "PATCH", "/api/organization-roles/"+appRole.ID, map[string]any{"type": "User"}, http.StatusOK, &got)
	if got.Type != "User" {
		t.Errorf("type %s", got.Type)
	}
}

func TestOrganizationRoles_List(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Docs API", "https://docs.example.com")
	rs := e.createScopes(t, res.ID, "docs:read", "docs:write")
	other := e.createResource(t, "Billing", "https://billing.example.com")
	bill := e.createScopes(t, other.ID, "bill")[0]
	read, write := e.orgCreateScope(t, "read"), e.orgCreateScope(t, "write")

	var roles []orgRoleWire
	var editor orgRoleWire
	r := e.do(t, "POST", "/api/organization-roles", map[string]any{"name": "editor", "description": "Edits documents",
		"organizationScopeIds": []string{write.ID, read.ID, read.ID}, "resourceScopeIds": []string{rs[1].ID, bill.ID, rs[0].ID}},
		http.StatusCreated, &editor)
	if f := fieldNames(t, r.Body); f != orgRoleFields {
		t.Errorf("created with scopes: fields %s", f)
	}
	roles = append(roles, editor,
		e.orgCreateRole(t, map[string]any{"name": "viewer", "description": "Reads", "organizationScopeIds": []string{read.ID}}),
		e.orgCreateRole(t, map[string]any{"name": "admin", "type": "MachineToMachine"}),
		e.orgCreateRole(t, map[string]any{"name": "billing", "resourceScopeIds": []string{bill.ID}}))
	byName := orgByName(roles, func(r orgRoleWire) string { return r.ID }, func(r orgRoleWire) string { return r.Name })

	// Always paged, by name, each role with its scopes.
	list, ids, r := e.orgRoleList(t, "")
	orgWantPaging(t, "roles", r, "4")
	if ids != byName {
		t.Errorf("order %s, want %s", ids, byName)
	}
	for _, item := range orgRawList(t, r) {
		if f := fieldNames(t, item); f != orgRoleListFields {
			t.Errorf("item fields %s, want %s", f, orgRoleListFields)
		}
	}
	got := list[editor.ID]
	wantScopes := []orgRef{{read.ID, "read"}, {write.ID, "write"}}
	if !slices.Equal(orgSortRefs(got.Scopes), orgSortRefs(wantScopes)) {
		t.Errorf("editor scopes %+v, want %+v", got.Scopes, wantScopes)
	}
	wantRes := map[string]orgResourceScope{
		rs[0].ID: {rs[0].ID, "docs:read", orgRef{res.ID, "Docs API"}},
		rs[1].ID: {rs[1].ID, "docs:write", orgRef{res.ID, "Docs API"}},
		bill.ID:  {bill.ID, "bill", orgRef{other.ID, "Billing"}},
	}
	if len(got.ResourceScopes) != 3 {
		t.Errorf("editor resource scopes %+v", got.ResourceScopes)
	}
	for _, s := range got.ResourceScopes {
		if s != wantRes[s.ID] {
			t.Errorf("resource scope %+v, want %+v", s, wantRes[s.ID])
		}
	}
	// Nested shapes: {id,name} and {id,name,resource:{id,name}}.
	for _, item := range orgRawList(t, r) {
		var v struct {
			ID             string            `json:"id"`
			Scopes         []json.RawMessage `json:"scopes"`
			ResourceScopes []json.RawMessage `json:"resourceScopes"`
		}
		json.Unmarshal(item, &v)
		for _, s := range v.Scopes {
			if f := fieldNames(t, s); f != "id,name" {
				t.Errorf("scope fields %s", f)
			}
		}
		for _, s := range v.ResourceScopes {
			if f := fieldNames(t, s); f != orgResourceScopeField {
				t.Errorf("resource scope fields %s", f)
			}
			if f := fieldNames(t, mustField(t, s, "resource")); f != "id,name" {
				t.Errorf("resource fields %s", f)
			}
		}
		if v.ID == roles[2].ID && (!strings.Contains(string(item), `"scopes":[]`) || !strings.Contains(string(item), `"resourceScopes":[]`)) {
			t.Errorf("role without scopes: %s", item)
		}
	}

	// q: id, name or description, case-insensitively.
	_, ids, r = e.orgRoleList(t, "q=EDIT")
	orgWantPaging(t, "q=EDIT", r, "1")
	if ids != editor.ID {
		t.Errorf("q=EDIT: %s", ids)
	}
	if _, ids, _ = e.orgRoleList(t, "q=documents"); ids != editor.ID {
		t.Errorf("q on description: %s", ids)
	}
	if _, ids, _ = e.orgRoleList(t, "q="+roles[3].ID[3:12]); ids != roles[3].ID {
		t.Errorf("q on id: %s", ids)
	}
	if _, ids, _ = e.orgRoleList(t, "q=read"); ids != join(roles[1].ID) { // viewer's description "Reads"
		t.Errorf("q=read: %s", ids)
	}
	var page []orgRoleWire
	r = e.do(t, "GET", "/api/organization-roles?page=2&page_size=3", nil, http.StatusOK, &page)
	orgWantPaging(t, "page 2", r, "4")
	if len(page) != 1 || page[0].ID != strings.Split(byName, ",")[3] {
		t.Errorf("page 2: %s", r.Body)
	}
	e.fail(t, "GET", "/api/organization-roles?page_size=0", nil, 400, "guard.invalid_pagination")

	// The role's own scope lists.
	e.wantIDSet(t, "/api/organization-roles/"+editor.ID+"/scopes", read.ID, write.ID)
	e.wantIDSet(t, "/api/organization-roles/"+editor.ID+"/resource-scopes", rs[0].ID, rs[1].ID, bill.ID)
}

// orgSortRefs returns refs sorted by id.
func orgSortRefs(refs []orgRef) []orgRef {
	s := slices.Clone(refs)
	slices.SortFunc(s, func(a, b orgRef) int { return strings.Compare(a.ID, b.ID) })
	return s
}

func TestOrganizationRoles_Scopes(t *testing.T) {
	e := newEnv(t)
	role := e.orgRole(t, "editor", "")
	a, b, c := e.orgCreateScope(t, "a"), e.orgCreateScope(t, "b"), e.orgCreateScope(t, "c")
	base := "/api/organization-roles/" + role.ID + "/scopes"

	r := e.do(t, "POST", base, map[string]any{"organizationScopeIds": []string{a.ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("POST answered %q, want an empty body", r.Body)
	}
	// Held scopes are ignored.
	e.do(t, "POST", base, map[string]any{"organizationScopeIds": []string{a.ID, b.ID, b.ID}}, http.StatusCreated, nil)

	r = e.do(t, "GET", base, nil, http.StatusOK, nil)
	orgWantPaging(t, "role scopes", r, "2")
	for _, item := range orgRawList(t, r) {
		if f := fieldNames(t, item); f != orgScopeFields {
			t.Errorf("scope fields %s", f)
		}
	}
	e.wantIDSet(t, base, a.ID, b.ID)
	var page []orgScopeWire
	r = e.do(t, "GET", base+"?page=2&page_size=1", nil, http.StatusOK, &page)
	if len(page) != 1 || r.Header.Get("Total-Number") != "2" {
		t.Errorf("page 2: %v %s", r.Header, r.Body)
	}

	e.expectErrors(t, "POST", []errorCase{
		{"Empty", base, map[string]any{"organizationScopeIds": []string{}}, 400, "guard.invalid_input"},
		{"Missing", base, map[string]any{}, 400, "guard.invalid_input"},
		{"WrongKey", base, map[string]any{"scopeIds": []string{c.ID}}, 400, "guard.invalid_input"},
		{"EmptyID", base, map[string]any{"organizationScopeIds": []string{""}}, 400, "guard.invalid_input"},
		{"UnknownScope", base, map[string]any{"organizationScopeIds": []string{c.ID, "nosuchscope"}}, 422, "entity.relation_foreign_key_not_found"},
		{"UnknownRole", "/api/organization-roles/nosuchrole/scopes", map[string]any{"organizationScopeIds": []string{c.ID}},
			422, "entity.relation_foreign_key_not_found"},
	})
	e.wantIDSet(t, base, a.ID, b.ID) // c was not added by the refused request
	e.fail(t, "GET", "/api/organization-roles/nosuchrole/scopes", nil, 404, "entity.not_found")

	// PUT replaces; [] empties; an unknown id changes nothing.
	r = e.do(t, "PUT", base, map[string]any{"organizationScopeIds": []string{c.ID, b.ID}}, http.StatusNoContent, nil)
	if len(r.Body) != 0 {
		t.Errorf("PUT answered %q", r.Body)
	}
	e.wantIDSet(t, base, b.ID, c.ID)
	e.fail(t, "PUT", base, map[string]any{"organizationScopeIds": []string{a.ID, "nosuchscope"}}, 422, "entity.relation_foreign_key_not_found")
	e.fail(t, "PUT", base, map[string]any{}, 400, "guard.invalid_input")
	e.wantIDSet(t, base, b.ID, c.ID)
	e.do(t, "PUT", base, map[string]any{"organizationScopeIds": []string{}}, http.StatusNoContent, nil)
	e.wantIDs(t, base)
	e.do(t, "PUT", base, map[string]any{"organizationScopeIds": []string{a.ID, c.ID}}, http.StatusNoContent, nil)

	e.do(t, "DELETE", base+"/"+a.ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+a.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/"+b.ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/nosuchscope", nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/organization-roles/nosuchrole/scopes/"+c.ID, nil, 404, "entity.not_found")
	e.wantIDs(t, base, c.ID)
	// The list of roles agrees.
	if list, _, _ := e.orgRoleList(t, ""); len(list[role.ID].Scopes) != 1 || list[role.ID].Scopes[0] != (orgRef{c.ID, "c"}) {
		t.Errorf("role list scopes %+v", list[role.ID].Scopes)
	}
}

func TestOrganizationRoles_ResourceScopes(t *testing.T) {
	e := newEnv(t)
	role := e.orgRole(t, "editor", "")
	res := e.createResource(t, "Docs", "https://docs.example.com")
	s := e.createScopes(t, res.ID, "read", "write", "admin")
	orgScope := e.orgCreateScope(t, "org-only")
	base := "/api/organization-roles/" + role.ID + "/resource-scopes"

	r := e.do(t, "POST", base, map[string]any{"scopeIds": []string{s[0].ID, s[1].ID}}, http.StatusCreated, nil)
	if len(r.Body) != 0 {
		t.Errorf("POST answered %q", r.Body)
	}
	e.do(t, "POST", base, map[string]any{"scopeIds": []string{s[1].ID}}, http.StatusCreated, nil)

	var list []wireScope
	r = e.do(t, "GET", base, nil, http.StatusOK, &list)
	orgWantPaging(t, "resource scopes", r, "2")
	for _, item := range orgRawList(t, r) {
		if f := fieldNames(t, item); f != scopeFields {
			t.Errorf("resource scope fields %s, want %s", f, scopeFields)
		}
	}
	for _, x := range list {
		want := map[string]wireScope{s[0].ID: s[0], s[1].ID: s[1]}[x.ID]
		if x.ResourceID != res.ID || x.Name != want.Name || x.CreatedAt != want.CreatedAt || x.TenantID != "default" {
			t.Errorf("listed %+v, want %+v", x, want)
		}
	}

	e.expectErrors(t, "POST", []errorCase{
		{"WrongKey", base, map[string]any{"organizationScopeIds": []string{s[2].ID}}, 400, "guard.invalid_input"},
		{"Empty", base, map[string]any{"scopeIds": []string{}}, 400, "guard.invalid_input"},
		{"OrgScope", base, map[string]any{"scopeIds": []string{orgScope.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"Unknown", base, map[string]any{"scopeIds": []string{s[2].ID, "nosuchscope"}}, 422, "entity.relation_foreign_key_not_found"},
		{"UnknownRole", "/api/organization-roles/nosuchrole/resource-scopes", map[string]any{"scopeIds": []string{s[2].ID}},
			422, "entity.relation_foreign_key_not_found"},
	})
	e.wantIDSet(t, base, s[0].ID, s[1].ID)
	e.fail(t, "GET", "/api/organization-roles/nosuchrole/resource-scopes", nil, 404, "entity.not_found")

	e.do(t, "PUT", base, map[string]any{"scopeIds": []string{s[2].ID}}, http.StatusNoContent, nil)
	e.wantIDs(t, base, s[2].ID)
	e.fail(t, "PUT", base, map[string]any{"scopeIds": []string{s[0].ID, "nosuchscope"}}, 422, "entity.relation_foreign_key_not_found")
	e.wantIDs(t, base, s[2].ID)
	e.do(t, "PUT", base, map[string]any{"scopeIds": []string{}}, http.StatusNoContent, nil)
	e.wantIDs(t, base)
	e.do(t, "PUT", base, map[string]any{"scopeIds": []string{s[0].ID, s[2].ID}}, http.StatusNoContent, nil)

	e.do(t, "DELETE", base+"/"+s[0].ID, nil, http.StatusNoContent, nil)
	e.fail(t, "DELETE", base+"/"+s[0].ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", base+"/"+s[1].ID, nil, 404, "entity.not_found")
	e.fail(t, "DELETE", "/api/organization-roles/nosuchrole/resource-scopes/"+s[2].ID, nil, 404, "entity.not_found")
	e.wantIDs(t, base, s[2].ID)
	// The organization-scope list of the role is unaffected.
	e.wantIDs(t, "/api/organization-roles/"+role.ID+"/scopes")
}

// TestOrganizations_TemplateCleanup deletes organization scopes, resource
// scopes, resources and organization roles and checks that every relation
// went with them.
func TestOrganizations_TemplateCleanup(t *testing.T) {
	e := newEnv(t)
	res := e.createResource(t, "Docs", "https://docs.example.com")
	rs := e.createScopes(t, res.ID, "read", "write")
	other := e.createResource(t, "Other", "https://other.example.com")
	ox := e.createScopes(t, other.ID, "x")[0]
	a, b := e.orgCreateScope(t, "a"), e.orgCreateScope(t, "b")
	role := e.orgCreateRole(t, map[string]any{"name": "editor", "organizationScopeIds": []string{a.ID, b.ID},
		"resourceScopeIds": []string{rs[0].ID, rs[1].ID, ox.ID}})
	role2 := e.orgCreateRole(t, map[string]any{"name": "viewer", "organizationScopeIds": []string{a.ID}})
	org := e.orgCreate(t, "Org")
	u := e.createUser(t, map[string]any{"username": "u"})
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{u.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users/"+u.ID+"/roles",
		map[string]any{"organizationRoleIds": []string{role.ID, role2.ID}}, http.StatusCreated, nil)
	userScopes := "/api/organizations/" + org.ID + "/users/" + u.ID + "/scopes"
	e.wantIDSet(t, userScopes, a.ID, b.ID)

	// An organization scope leaves every role.
	e.do(t, "DELETE", "/api/organization-scopes/"+a.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/organization-roles/"+role.ID+"/scopes", b.ID)
	e.wantIDs(t, "/api/organization-roles/"+role2.ID+"/scopes")
	e.wantIDs(t, userScopes, b.ID)
	list, _, _ := e.orgRoleList(t, "")
	if len(list[role.ID].Scopes) != 1 || len(list[role2.ID].Scopes) != 0 {
		t.Errorf("role list after scope deletion: %+v", list)
	}

	// A resource scope, and a whole resource, leave every role.
	e.do(t, "DELETE", "/api/resources/"+res.ID+"/scopes/"+rs[0].ID, nil, http.StatusNoContent, nil)
	e.wantIDSet(t, "/api/organization-roles/"+role.ID+"/resource-scopes", rs[1].ID, ox.ID)
	e.do(t, "DELETE", "/api/resources/"+res.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/organization-roles/"+role.ID+"/resource-scopes", ox.ID)
	list, _, _ = e.orgRoleList(t, "")
	if rsl := list[role.ID].ResourceScopes; len(rsl) != 1 || rsl[0].ID != ox.ID || rsl[0].Resource.ID != other.ID {
		t.Errorf("role list resource scopes %+v", rsl)
	}

	// A role leaves every member.
	e.do(t, "DELETE", "/api/organization-roles/"+role.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/organizations/"+org.ID+"/users/"+u.ID+"/roles", role2.ID)
	e.wantIDs(t, userScopes)
	var members []struct {
		ID                string   `json:"id"`
		OrganizationRoles []orgRef `json:"organizationRoles"`
	}
	e.do(t, "GET", "/api/organizations/"+org.ID+"/users", nil, http.StatusOK, &members)
	if len(members) != 1 || len(members[0].OrganizationRoles) != 1 || members[0].OrganizationRoles[0].ID != role2.ID {
		t.Errorf("members after role deletion: %+v", members)
	}
	var orgs []orgWire
	e.do(t, "GET", "/api/users/"+u.ID+"/organizations", nil, http.StatusOK, &orgs)
	if len(orgs) != 1 || len(orgs[0].OrganizationRoles) != 1 || orgs[0].OrganizationRoles[0].ID != role2.ID {
		t.Errorf("user organizations after role deletion: %+v", orgs)
	}
	// The deleted names are free again.
	e.orgRole(t, "editor", "")
	e.orgCreateScope(t, "a")
}

// TestOrganizations_TenantIsolation checks that no organization object of
// one tenant is visible or usable in another.
func TestOrganizations_TenantIsolation(t *testing.T) {
	e := newEnv(t)
	acme := e.inTenant(t, "acme")

	org := e.orgCreate(t, "Shared name")
	scope := e.orgCreateScope(t, "read")
	role := e.orgCreateRole(t, map[string]any{"name": "editor", "organizationScopeIds": []string{scope.ID}})
	appRole := e.orgRole(t, "bot", "MachineToMachine")
	u := e.createUser(t, map[string]any{"username": "dflt"})
	app := e.createM2M(t, "dflt-worker")
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users", map[string]any{"userIds": []string{u.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/users/"+u.ID+"/roles", map[string]any{"organizationRoleIds": []string{role.ID}}, http.StatusCreated, nil)
	e.do(t, "POST", "/api/organizations/"+org.ID+"/applications", map[string]any{"applicationIds": []string{app.ID}}, http.StatusCreated, nil)

	// acme has the same names without conflict, and its own objects.
	var aorg orgWire
	acme.do(t, "POST", "/api/organizations", map[string]any{"name": "Shared name"}, http.StatusCreated, &aorg)
	if aorg.TenantID != "acme" {
		t.Errorf("acme organization tenantId %q", aorg.TenantID)
	}
	ascope := acme.orgCreateScope(t, "read")
	arole := acme.orgCreateRole(t, map[string]any{"name": "editor"})
	if ascope.TenantID != "acme" || arole.TenantID != "acme" {
		t.Errorf("acme template: %+v %+v", ascope, arole)
	}
	au := acme.createUser(t, map[string]any{"username": "dflt"})
	aapp := acme.createM2M(t, "acme-worker")

	// Lists do not leak.
	acme.wantIDs(t, "/api/organizations", aorg.ID)
	acme.wantIDs(t, "/api/organizations?q="+org.ID)
	acme.wantIDs(t, "/api/organization-scopes", ascope.ID)
	acme.wantIDs(t, "/api/organization-roles", arole.ID)
	e.wantIDs(t, "/api/organizations", org.ID)
	e.wantIDs(t, "/api/organization-scopes", scope.ID)
	e.wantIDSet(t, "/api/organization-roles", role.ID, appRole.ID)

	orgPath := "/api/organizations/" + org.ID
	for _, tc := range []struct {
		name   string
		e      *env
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"GetOrg", acme, "GET", orgPath, nil, 404, "entity.not_found"},
		{"PatchOrg", acme, "PATCH", orgPath, map[string]any{"name": "x"}, 404, "entity.not_exists"},
		{"DeleteOrg", acme, "DELETE", orgPath, nil, 404, "entity.not_found"},
		{"ListOrgUsers", acme, "GET", orgPath + "/users", nil, 404, "entity.not_found"},
		{"ListOrgApps", acme, "GET", orgPath + "/applications", nil, 404, "entity.not_found"},
		{"AddOwnUserToForeignOrg", acme, "POST", orgPath + "/users", map[string]any{"userIds": []string{au.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"AddForeignUser", acme, "POST", "/api/organizations/" + aorg.ID + "/users", map[string]any{"userIds": []string{u.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"AddForeignApp", acme, "POST", "/api/organizations/" + aorg.ID + "/applications", map[string]any{"applicationIds": []string{app.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"RemoveForeignMember", acme, "DELETE", orgPath + "/users/" + u.ID, nil, 404, "entity.not_found"},
		{"ForeignMemberRoles", acme, "GET", orgPath + "/users/" + u.ID + "/roles", nil, 422, "organization.require_membership"},
		{"ForeignMemberAssign", acme, "POST", orgPath + "/users/" + u.ID + "/roles", map[string]any{"organizationRoleIds": []string{arole.ID}}, 422, "organization.require_membership"},
		{"ForeignAppRoles", acme, "GET", orgPath + "/applications/" + app.ID + "/roles", nil, 422, "organization.require_membership"},
		{"ForeignBulkRoles", acme, "POST", orgPath + "/users/roles", map[string]any{"userIds": []string{u.ID}, "organizationRoleIds": []string{arole.ID}}, 422, "organization.require_membership"},
		{"GetRole", acme, "GET", "/api/organization-roles/" + role.ID, nil, 404, "entity.not_found"},
		{"PatchRole", acme, "PATCH", "/api/organization-roles/" + role.ID, map[string]any{"name": "x"}, 404, "entity.not_exists"},
		{"DeleteRole", acme, "DELETE", "/api/organization-roles/" + role.ID, nil, 404, "entity.not_found"},
		{"RoleScopes", acme, "GET", "/api/organization-roles/" + role.ID + "/scopes", nil, 404, "entity.not_found"},
		{"RoleResourceScopes", acme, "GET", "/api/organization-roles/" + role.ID + "/resource-scopes", nil, 404, "entity.not_found"},
		{"GetScope", acme, "GET", "/api/organization-scopes/" + scope.ID, nil, 404, "entity.not_found"},
		{"PatchScope", acme, "PATCH", "/api/organization-scopes/" + scope.ID, map[string]any{"name": "x"}, 404, "entity.not_exists"},
		{"DeleteScope", acme, "DELETE", "/api/organization-scopes/" + scope.ID, nil, 404, "entity.not_found"},
		{"ForeignScopeOnCreate", acme, "POST", "/api/organization-roles", map[string]any{"name": "n", "organizationScopeIds": []string{scope.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"ForeignScopeToRole", acme, "POST", "/api/organization-roles/" + arole.ID + "/scopes", map[string]any{"organizationScopeIds": []string{scope.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"ForeignRoleToMember", e, "POST", orgPath + "/users/" + u.ID + "/roles", map[string]any{"organizationRoleIds": []string{arole.ID}}, 422, "entity.relation_foreign_key_not_found"},
		{"ForeignRoleByName", acme, "POST", "/api/organizations/" + aorg.ID + "/users/roles", map[string]any{"userIds": []string{au.ID}, "organizationRoleIds": []string{role.ID}}, 422, "organization.require_membership"},
		{"ForeignUserOrgs", acme, "GET", "/api/users/" + u.ID + "/organizations", nil, 404, "entity.not_found"},
		{"ForeignAppOrgs", acme, "GET", "/api/applications/" + app.ID + "/organizations", nil, 404, "entity.not_found"},
		{"AcmeOrgInDefault", e, "GET", "/api/organizations/" + aorg.ID, nil, 404, "entity.not_found"},
		{"AcmeRoleInDefault", e, "GET", "/api/organization-roles/" + arole.ID, nil, 404, "entity.not_found"},
		{"AcmeScopeInDefault", e, "GET", "/api/organization-scopes/" + ascope.ID, nil, 404, "entity.not_found"},
		{"AcmeAppInDefault", e, "POST", orgPath + "/applications", map[string]any{"applicationIds": []string{aapp.ID}}, 422, "entity.relation_foreign_key_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.e.fail(t, tc.method, tc.path, tc.body, tc.status, tc.code)
		})
	}
	// acme's member of its own organization holds acme's role; default's
	// data is untouched by everything above.
	acme.do(t, "POST", "/api/organizations/"+aorg.ID+"/users", map[string]any{"userIds": []string{au.ID}}, http.StatusCreated, nil)
	acme.do(t, "POST", "/api/organizations/"+aorg.ID+"/users/"+au.ID+"/roles", map[string]any{"organizationRoleNames": []string{"editor"}},
		http.StatusCreated, nil)
	acme.wantIDs(t, "/api/organizations/"+aorg.ID+"/users/"+au.ID+"/roles", arole.ID)
	acme.wantIDs(t, "/api/organizations/"+aorg.ID+"/users/"+au.ID+"/scopes")
	e.wantIDs(t, orgPath+"/users", u.ID)
	e.wantIDs(t, orgPath+"/users/"+u.ID+"/roles", role.ID)
	e.wantIDs(t, orgPath+"/users/"+u.ID+"/scopes", scope.ID)
	e.wantIDs(t, orgPath+"/applications", app.ID)
	e.wantIDs(t, "/api/organization-roles/"+role.ID+"/scopes", scope.ID)
	// Deleting acme's organization does not touch default's.
	acme.do(t, "DELETE", "/api/organizations/"+aorg.ID, nil, http.StatusNoContent, nil)
	e.wantIDs(t, "/api/users/"+u.ID+"/organizations", org.ID)
}

// TestOrganizations_Audit checks that organization writes are audited and
// refused ones are not.
func TestOrganizations_Audit(t *testing.T) {
	e := newEnv(t)
	org := e.orgCreate(t, "Audited")
	e.fail(t, "POST", "/api/organizations", map[string]any{"name": ""}, 400, "guard.invalid_input")
	e.do(t, "PATCH", "/api/organizations/"+org.ID, map[string]any{"name": "Audited 2"}, http.StatusOK, nil)
	role := e.orgRole(t, "audited", "")
	scope := e.orgCreateScope(t, "audited")
	e.fail(t, "POST", "/api/organization-roles", map[string]any{"name": "audited"}, 422, "entity.unique_integrity_violation")
	e.do(t, "DELETE", "/api/organizations/"+org.ID, nil, http.StatusNoContent, nil)

	for _, tc := range []struct{ key, kind, id string }{
		{"Management.Organization.Create", "organization", org.ID},
		{"Management.Organization.Update", "organization", org.ID},
		{"Management.Organization.Delete", "organization", org.ID},
		{"Management.OrganizationRole.Create", "organizationRole", role.ID},
		{"Management.OrganizationScope.Create", "organizationScope", scope.ID},
	} {
		entries, _ := e.logs(t, "logKey="+tc.key)
		if len(entries) != 1 {
			t.Errorf("%s: %d entries, want 1: %+v", tc.key, len(entries), entries)
			continue
		}
		target, _ := entries[0].Payload["target"].(map[string]any)
		if entries[0].Key != tc.key || target["type"] != tc.kind || target["id"] != tc.id || entries[0].TenantID != "default" ||
			entries[0].Payload["applicationId"] != e.ClientID || entries[0].Payload["result"] != "Success" {
			t.Errorf("%s: %+v", tc.key, entries[0])
		}
	}
}

// TestOrganizations_BrandingURLs: a logo or favicon may be any absolute URL,
// as Logto's guard takes, except the schemes that run script where the URL
// is shown (a deliberate difference): javascript:, data: and vbscript:, in
// any case. Both POST and PATCH check every branding field.
func TestOrganizations_BrandingURLs(t *testing.T) {
	e := newEnv(t)
	var org struct {
		ID string `json:"id"`
	}
	e.do(t, "POST", "/api/organizations", map[string]any{"name": "branded"}, http.StatusCreated, &org)
	for _, tc := range []struct {
		name, url  string
		wantStatus int
	}{
		{"HTTPS", "https://cdn.example.com/logo.png", http.StatusOK},
		{"HTTP", "http://cdn.example.com/logo.png", http.StatusOK},
		{"FTP", "ftp://files.example.com/logo.png", http.StatusOK},
		{"CustomScheme", "myapp://assets/logo.png", http.StatusOK},
		{"Opaque", "urn:example:logo", http.StatusOK},
		{"Javascript", "javascript:alert(1)", http.StatusBadRequest},
		{"JavascriptUpper", "JavaScript:alert(document.cookie)", http.StatusBadRequest},
		{"JavascriptSlashes", "javascript://cdn.example.com/%0Aalert(1)", http.StatusBadRequest},
		{"Data", "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", http.StatusBadRequest},
		{"DataUpper", "DATA:text/html,<script>alert(1)</script>", http.StatusBadRequest},
		{"VBScript", "vbscript:msgbox(1)", http.StatusBadRequest},
		{"LeadingSpace", " javascript:alert(1)", http.StatusBadRequest},
		{"TabInScheme", "java\tscript:alert(1)", http.StatusBadRequest},
		{"Relative", "/logo.png", http.StatusBadRequest},
		{"NoScheme", "cdn.example.com/logo.png", http.StatusBadRequest},
		{"HTTPSWithoutHost", "https:/logo.png", http.StatusBadRequest},
		{"Empty", "", http.StatusBadRequest},
		{"TooLong", "https://cdn.example.com/" + strings.Repeat("a", 2048), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, field := range []string{"logoUrl", "darkLogoUrl", "favicon", "darkFavicon"} {
				body := map[string]any{"branding": map[string]any{field: tc.url}}
				r := call(t, "PATCH", e.URL+"/api/organizations/"+org.ID, e.token, body)
				if tc.wantStatus != http.StatusOK {
					wantError(t, r, tc.wantStatus, "guard.invalid_input")
					wantError(t, call(t, "POST", e.URL+"/api/organizations", e.token, map[string]any{"name": "n", "branding": body["branding"]}),
						tc.wantStatus, "guard.invalid_input")
					continue
				}
				var got struct {
					Branding map[string]string `json:"branding"`
				}
				if r.Status != http.StatusOK {
					t.Fatalf("%s %q: %d %s", field, tc.url, r.Status, r.Body)
				}
				r.JSON(t, &got)
				if got.Branding[field] != tc.url {
					t.Errorf("%s stored as %q, want %q", field, got.Branding[field], tc.url)
				}
			}
		})
	}
}
