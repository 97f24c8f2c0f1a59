package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// importSource fills a running idbolt, the source of an import, through
// its API and remembers what it made.
type importSource struct {
	t          *testing.T
	base, tok  string
	users      map[string]string // username -> id
	passwords  map[string]string // username -> password
	ids        map[string]string // name of a resource, role, app, organization or organization role -> id
	userCount  int
	workerName string
}

// call sends a request with the source's token and decodes a 2xx answer
// into out (when not nil); any other status fails the test.
func (s *importSource) call(method, path, body string, out any) {
	s.t.Helper()
	status, resp := do(s.t, method, s.base+path, s.tok, body)
	if status >= 300 {
		s.t.Fatalf("%s %s: %d %s", method, path, status, resp)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, resp)
		}
	}
}

// create POSTs body to path and returns the new object's id.
func (s *importSource) create(name, path, body string) string {
	s.t.Helper()
	var obj struct{ ID string }
	s.call("POST", path, body, &obj)
	if name != "" {
		s.ids[name] = obj.ID
	}
	return obj.ID
}

func (s *importSource) fill() {
	t := s.t
	res := s.create("orders", "/api/resources", `{"name":"Orders","indicator":"https://orders.example.com"}`)
	read := s.create("", "/api/resources/"+res+"/scopes", `{"name":"read:orders"}`)
	write := s.create("", "/api/resources/"+res+"/scopes", `{"name":"write:orders"}`)
	s.create("reader", "/api/roles", fmt.Sprintf(`{"name":"reader","description":"Reads orders","scopeIds":[%q]}`, read))
	s.create("worker", "/api/roles", fmt.Sprintf(`{"name":"worker","description":"Works orders","type":"MachineToMachine","scopeIds":[%q,%q]}`, read, write))

	// Users: hashed here (Argon2id), imported digests of two other
	// algorithms, one without a password, one suspended.
	addUser := func(name, extra string) string {
		id := s.create("", "/api/users", fmt.Sprintf(`{"username":%q%s}`, name, extra))
		s.users[name] = id
		return id
	}
	for i := range 12 {
		pw := fmt.Sprintf("Passw0rd-%d!", i)
		s.passwords[fmt.Sprintf("u%d", i)] = pw
		addUser(fmt.Sprintf("u%d", i), fmt.Sprintf(`,"password":%q,"primaryEmail":"u%d@example.com","customData":{"plan":"p%d"},"profile":{"givenName":"G%d"}`, pw, i, i, i))
	}
	s.passwords["sha"] = "password"
	addUser("sha", `,"passwordAlgorithm":"SHA256","passwordDigest":"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"`)
	digest, err := bcrypt.GenerateFromPassword([]byte("bcrypt-secret"), 4)
	if err != nil {
		t.Fatal(err)
	}
	s.passwords["bc"] = "bcrypt-secret"
	addUser("bc", fmt.Sprintf(`,"passwordAlgorithm":"Bcrypt","passwordDigest":%q`, digest))
	addUser("nopw", `,"name":"No Password"`)
	suspended := addUser("suspended", `,"password":"Susp3nded-pw!"`)
	s.passwords["suspended"] = "Susp3nded-pw!"
	s.call("PATCH", "/api/users/"+suspended+"/is-suspended", `{"isSuspended":true}`, nil)
	s.userCount = len(s.users) + 0
	s.call("POST", "/api/roles/"+s.ids["reader"]+"/users", fmt.Sprintf(`{"userIds":[%q,%q,%q]}`, s.users["u0"], s.users["u1"], s.users["u2"]), nil)

	s.create("worker-app", "/api/applications", `{"name":"worker-app","type":"MachineToMachine","customData":{"team":"ops"}}`)
	s.create("web", "/api/applications", `{"name":"web","type":"Traditional","description":"Web app","oidcClientMetadata":{"redirectUris":["https://web.example.com/cb"],"postLogoutRedirectUris":[]}}`)
	s.create("spa", "/api/applications", `{"name":"spa","type":"SPA"}`)
	s.call("POST", "/api/applications/"+s.ids["worker-app"]+"/roles", fmt.Sprintf(`{"roleIds":[%q]}`, s.ids["worker"]), nil)

	invite := s.create("", "/api/organization-scopes", `{"name":"invite"}`)
	manage := s.create("", "/api/organization-scopes", `{"name":"manage"}`)
	s.create("org-admin", "/api/organization-roles", fmt.Sprintf(`{"name":"admin","organizationScopeIds":[%q,%q],"resourceScopeIds":[%q]}`, invite, manage, read))
	s.create("org-member", "/api/organization-roles", fmt.Sprintf(`{"name":"member","organizationScopeIds":[%q]}`, invite))
	s.create("org-bot", "/api/organization-roles", fmt.Sprintf(`{"name":"bot","type":"MachineToMachine","resourceScopeIds":[%q]}`, read))
	acme := s.create("acme", "/api/organizations", `{"name":"Acme","description":"A","customData":{"tier":"gold"},"color":{"primaryColor":"#112233"},"branding":{"logoUrl":"https://acme.example.com/logo.png"}}`)
	beta := s.create("beta", "/api/organizations", `{"name":"Beta"}`)
	s.call("POST", "/api/organizations/"+acme+"/users", fmt.Sprintf(`{"userIds":[%q,%q]}`, s.users["u0"], s.users["u1"]), nil)
	s.call("POST", "/api/organizations/"+acme+"/users/"+s.users["u0"]+"/roles", fmt.Sprintf(`{"organizationRoleIds":[%q]}`, s.ids["org-admin"]), nil)
	s.call("POST", "/api/organizations/"+acme+"/users/"+s.users["u1"]+"/roles", fmt.Sprintf(`{"organizationRoleIds":[%q]}`, s.ids["org-member"]), nil)
	s.call("POST", "/api/organizations/"+beta+"/users", fmt.Sprintf(`{"userIds":[%q]}`, s.users["u2"]), nil)
	s.call("POST", "/api/organizations/"+acme+"/applications", fmt.Sprintf(`{"applicationIds":[%q]}`, s.ids["worker-app"]), nil)
	s.call("POST", "/api/organizations/"+acme+"/applications/"+s.ids["worker-app"]+"/roles", fmt.Sprintf(`{"organizationRoleIds":[%q]}`, s.ids["org-bot"]), nil)
}

// runImport runs "idbolt import logto" as a process and returns its
// stdout, stderr and error.
func runImport(t *testing.T, bin string, env []string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"import", "logto"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// TestProcess_ImportLogto copies one idbolt (the source, speaking Logto's
// Management API) into a new data file with "idbolt import logto", starts
// a server on that file and checks that everything arrived: users with
// their ids, passwords (three digest algorithms), custom data, profile and
// suspension; resources, scopes and roles with their holders; applications
// with their ids and a working new secret from the 0600 secrets file;
// organizations with their template, members and members' roles. A second
// run copies nothing and says what it skipped; a wrong secret fails
// clearly before the data file is touched; a file a server holds is
// refused.
func TestProcess_ImportLogto(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	_, srcURL, _ := startProcess(t, bin, filepath.Join(dir, "source.db"))
	src := &importSource{t: t, base: srcURL, tok: token(t, srcURL, testClientID, testSecret),
		users: map[string]string{}, passwords: map[string]string{}, ids: map[string]string{}}
	src.fill()

	secretFile := filepath.Join(dir, "client-secret")
	os.WriteFile(secretFile, []byte(testSecret+"\n"), 0o600)
	target := filepath.Join(dir, "target.db")
	env := []string{"IDBOLT_BOOTSTRAP_CLIENT_ID=" + testClientID, "IDBOLT_BOOTSTRAP_CLIENT_SECRET=" + testSecret}
	args := []string{"--from", srcURL, "--client-id", testClientID, "--client-secret-file", secretFile, "--data", target}

	// A wrong secret: a clear error, a non-zero exit, no data file.
	badFile := filepath.Join(dir, "bad-secret")
	os.WriteFile(badFile, []byte("wrong-secret-0123456789abcdef0123456789"), 0o600)
	_, stderr, err := runImport(t, bin, env, "--from", srcURL, "--client-id", testClientID, "--client-secret-file", badFile, "--data", target)
	if err == nil || !strings.Contains(stderr, "401") || !strings.Contains(stderr, "check --client-id") {
		t.Errorf("wrong secret: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused import created the data file: %v", err)
	}

	stdout, stderr, err := runImport(t, bin, env, args...)
	if err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, stdout, stderr)
	}
	t.Logf("first run:\n%s%s", stdout, stderr)
	for _, want := range []string{
		fmt.Sprintf("users:                     copied %d, skipped 0, failed 0", len(src.users)),
		"resources:                 copied 1, skipped 1, failed 0", // the Management API is matched, not copied
		"roles:                     copied 2, skipped 1, failed 0", // and so is its role
		"applications:              copied 3, skipped 1, failed 0", // the source's admin app is the target's
		"user roles:                copied 3, skipped 0, failed 0",
		"organizations:             copied 2, skipped 0, failed 0",
		"organization roles:        copied 3, skipped 0, failed 0",
		"organization members:      copied 3, skipped 0, failed 0",
		"organization applications: copied 1, skipped 0, failed 0",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "import: users: 16 to copy") {
		t.Errorf("no progress lines on a non-terminal stderr:\n%s", stderr)
	}

	secrets := readImportSecrets(t, target+".import-secrets")
	cmd, dstURL, _ := startProcess(t, bin, target)
	dst := &importSource{t: t, base: dstURL, tok: token(t, dstURL, testClientID, testSecret)}
	checkImported(t, src, dst, secrets)

	// The file is held: the import refuses it.
	if _, stderr, err := runImport(t, bin, env, args...); err == nil || !strings.Contains(stderr, "in use") {
		t.Errorf("import into a served file: %v\n%s", err, stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	// Again: nothing is copied, everything is skipped.
	stdout, stderr, err = runImport(t, bin, env, args...)
	if err != nil {
		t.Fatalf("second import: %v\n%s\n%s", err, stdout, stderr)
	}
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "copied") && !strings.Contains(line, "copied 0,") {
			t.Errorf("second run copied something: %q", line)
		}
	}
	if !strings.Contains(stdout, fmt.Sprintf("users:                     copied 0, skipped %d", len(src.users))) {
		t.Errorf("second run:\n%s", stdout)
	}
	if again := readImportSecrets(t, target+".import-secrets"); len(again) != len(secrets) {
		t.Errorf("second run wrote %d secrets more", len(again)-len(secrets))
	}
	_, dstURL, _ = startProcess(t, bin, target)
	dst = &importSource{t: t, base: dstURL, tok: token(t, dstURL, testClientID, testSecret)}
	checkImported(t, src, dst, secrets)

	// Into another tenant of a new file: the tenant is made, and its admin
	// application's credentials go to the secrets file.
	other := filepath.Join(dir, "other.db")
	if stdout, stderr, err := runImport(t, bin, env, "--from", srcURL, "--client-id", testClientID, "--client-secret-file", secretFile,
		"--data", other, "--tenant", "acme", "--secrets-out", filepath.Join(dir, "acme-secrets")); err != nil {
		t.Fatalf("import into tenant acme: %v\n%s\n%s", err, stdout, stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "acme-secrets"))
	var admin struct{ Tenant, ApplicationID, Secret string }
	json.Unmarshal([]byte(strings.SplitN(string(data), "\n", 2)[0]), &admin)
	if admin.Tenant != "acme" || admin.Secret == "" {
		t.Fatalf("first secrets line %q, want the acme admin's", data)
	}
	_, otherURL, _ := startProcess(t, bin, other)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	status, body := postToken(t, otherURL+"/t/acme", admin.ApplicationID, admin.Secret, "https://acme.logto.app/api", "all")
	json.Unmarshal([]byte(body), &tr)
	if status != 200 {
		t.Fatalf("acme admin token: %d %s", status, body)
	}
	if status, body := do(t, "GET", otherURL+"/t/acme/api/users/"+src.users["u3"], tr.AccessToken, ""); status != 200 {
		t.Errorf("u3 in tenant acme: %d %s", status, body)
	}
}

// readImportSecrets checks the secrets file's mode and returns its
// secrets by application id.
func readImportSecrets(t *testing.T, path string) map[string]string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %s, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var l struct{ ApplicationID, Secret string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("secrets line %q: %v", line, err)
		}
		out[l.ApplicationID] = l.Secret
	}
	return out
}

// checkImported checks through dst's API that src's content arrived.
func checkImported(t *testing.T, src, dst *importSource, secrets map[string]string) {
	t.Helper()
	var users []struct {
		ID          string
		Username    string
		IsSuspended bool
		CustomData  map[string]any
		Profile     map[string]any
		HasPassword bool
	}
	dst.call("GET", "/api/users?page_size=100", "", &users)
	if len(users) != len(src.users) {
		t.Errorf("%d users, want %d", len(users), len(src.users))
	}
	for _, u := range users {
		if src.users[u.Username] != u.ID {
			t.Errorf("user %s has id %s, want %s", u.Username, u.ID, src.users[u.Username])
		}
		if u.IsSuspended != (u.Username == "suspended") {
			t.Errorf("user %s: isSuspended %v", u.Username, u.IsSuspended)
		}
		if u.HasPassword != (u.Username != "nopw") {
			t.Errorf("user %s: hasPassword %v", u.Username, u.HasPassword)
		}
		if u.Username == "u7" && (u.CustomData["plan"] != "p7" || u.Profile["givenName"] != "G7") {
			t.Errorf("user u7: customData %v, profile %v", u.CustomData, u.Profile)
		}
	}
	for name, pw := range src.passwords {
		if status, body := do(t, "POST", dst.base+"/api/users/"+src.users[name]+"/password/verify", dst.tok, fmt.Sprintf(`{"password":%q}`, pw)); status != 204 {
			t.Errorf("user %s: password does not verify: %d %s", name, status, body)
		}
	}
	if status, _ := do(t, "POST", dst.base+"/api/users/"+src.users["u0"]+"/password/verify", dst.tok, `{"password":"wrong"}`); status == 204 {
		t.Error("a wrong password verifies")
	}

	var roles []struct{ ID, Name string }
	dst.call("GET", "/api/users/"+src.users["u1"]+"/roles", "", &roles)
	if len(roles) != 1 || roles[0].ID != src.ids["reader"] {
		t.Errorf("u1's roles %+v, want reader %s", roles, src.ids["reader"])
	}
	var scopes []struct{ Name string }
	dst.call("GET", "/api/roles/"+src.ids["worker"]+"/scopes", "", &scopes)
	if names := scopeNames(scopes); names != "read:orders write:orders" {
		t.Errorf("worker's scopes %s", names)
	}
	var res struct{ Indicator string }
	dst.call("GET", "/api/resources/"+src.ids["orders"], "", &res)
	if res.Indicator != "https://orders.example.com" {
		t.Errorf("resource %+v", res)
	}
	var web struct {
		Description        string
		OIDCClientMetadata struct{ RedirectURIs []string } `json:"oidcClientMetadata"`
	}
	dst.call("GET", "/api/applications/"+src.ids["web"], "", &web)
	if web.Description != "Web app" || !slices.Equal(web.OIDCClientMetadata.RedirectURIs, []string{"https://web.example.com/cb"}) {
		t.Errorf("web app %+v", web)
	}
	if secrets[src.ids["spa"]] != "" || secrets[src.ids["web"]] == "" || len(secrets) != 2 {
		t.Errorf("secrets for %v, want worker-app and web", secrets)
	}

	// The worker app works with its new secret, with the roles it had.
	var tr struct{ Scope string }
	status, body := postToken(t, dst.base, src.ids["worker-app"], secrets[src.ids["worker-app"]], "https://orders.example.com", "read:orders write:orders")
	json.Unmarshal([]byte(body), &tr)
	if status != 200 || tr.Scope != "read:orders write:orders" {
		t.Errorf("worker-app token: %d %s", status, body)
	}

	var members []struct {
		ID                string
		OrganizationRoles []struct{ ID string }
	}
	dst.call("GET", "/api/organizations/"+src.ids["acme"]+"/users", "", &members)
	got := map[string]string{}
	for _, m := range members {
		for _, r := range m.OrganizationRoles {
			got[m.ID] += r.ID
		}
	}
	if len(members) != 2 || got[src.users["u0"]] != src.ids["org-admin"] || got[src.users["u1"]] != src.ids["org-member"] {
		t.Errorf("Acme's members %+v", members)
	}
	var org struct {
		Name       string
		CustomData map[string]any
		Color      struct{ PrimaryColor string }
		Branding   struct{ LogoURL string }
	}
	dst.call("GET", "/api/organizations/"+src.ids["acme"], "", &org)
	if org.Name != "Acme" || org.CustomData["tier"] != "gold" || org.Color.PrimaryColor != "#112233" ||
		org.Branding.LogoURL != "https://acme.example.com/logo.png" {
		t.Errorf("Acme %+v", org)
	}
	var orgScopes []struct{ Name string }
	dst.call("GET", "/api/organization-roles/"+src.ids["org-admin"]+"/scopes", "", &orgScopes)
	if names := scopeNames(orgScopes); names != "invite manage" {
		t.Errorf("admin's organization scopes %s", names)
	}
	var resScopes []struct{ Name string }
	dst.call("GET", "/api/organization-roles/"+src.ids["org-admin"]+"/resource-scopes", "", &resScopes)
	if names := scopeNames(resScopes); names != "read:orders" {
		t.Errorf("admin's resource scopes %s", names)
	}
	var appRoles []struct{ ID string }
	dst.call("GET", "/api/organizations/"+src.ids["acme"]+"/applications/"+src.ids["worker-app"]+"/roles", "", &appRoles)
	if len(appRoles) != 1 || appRoles[0].ID != src.ids["org-bot"] {
		t.Errorf("worker-app's roles in Acme %+v", appRoles)
	}
	var betaMembers []struct{ ID string }
	dst.call("GET", "/api/organizations/"+src.ids["beta"]+"/users", "", &betaMembers)
	if len(betaMembers) != 1 || betaMembers[0].ID != src.users["u2"] {
		t.Errorf("Beta's members %+v", betaMembers)
	}
}

// postToken asks base for a client_credentials token of id for resource
// and scope, and returns the status and body.
func postToken(t *testing.T, base, id, secret, resource, scope string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}, "scope": {scope}}
	req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func scopeNames[T interface{ ~struct{ Name string } }](scopes []T) string {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = struct{ Name string }(s).Name
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
