package api_test

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/idbolt/idbolt/api/apitest"
)

// digests returns passwordAlgorithm -> a digest of password in that
// algorithm, made with cheap parameters.
func digests(t testing.TB, password string) map[string]string {
	t.Helper()
	bc, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	phc := func(variant string, key []byte) string {
		enc := base64.RawStdEncoding
		return fmt.Sprintf("$%s$v=19$m=64,t=1,p=1$%s$%s", variant, enc.EncodeToString(salt), enc.EncodeToString(key))
	}
	sha := sha256.Sum256([]byte(password))
	s1 := sha1.Sum([]byte(password))
	m5 := md5.Sum([]byte(password))
	return map[string]string{
		"Argon2id": phc("argon2id", argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)),
		"Argon2i":  phc("argon2i", argon2.Key([]byte(password), salt, 1, 64, 1, 32)),
		"Bcrypt":   string(bc),
		"SHA256":   hex.EncodeToString(sha[:]),
		"SHA1":     strings.ToUpper(hex.EncodeToString(s1[:])),
		"MD5":      hex.EncodeToString(m5[:]),
	}
}

func TestUsers_PasswordDigest(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	for alg, digest := range digests(t, "s3cret-Passw0rd") {
		t.Run(alg, func(t *testing.T) {
			u := e.createUser(t, map[string]any{"username": "u_" + alg, "passwordDigest": digest, "passwordAlgorithm": alg})
			if !u.HasPassword {
				t.Fatalf("imported user has no password: %+v", u)
			}
			verify := func(password string) int {
				return call(t, "POST", base+"/"+u.ID+"/password/verify", e.token, map[string]any{"password": password}).Status
			}
			if got := verify("wrong"); got != 422 {
				t.Errorf("wrong password: %d, want 422", got)
			}
			if got := verify("s3cret-Passw0rd"); got != 204 {
				t.Errorf("right password: %d, want 204", got)
			}
			// A legacy digest was replaced by our Argon2id hash of the same
			// password on the first match; it must keep verifying.
			if got := verify("s3cret-Passw0rd"); got != 204 {
				t.Errorf("right password, again: %d, want 204", got)
			}
			if got := verify("s3cret-passw0rd"); got != 422 {
				t.Errorf("wrong password after rehash: %d, want 422", got)
			}
		})
	}
}

// refusal is a POST that must fail and create no user.
type refusal struct {
	name       string
	body       any
	wantStatus int
	wantCode   string
	wantInMsg  string
}

// refusals posts each body to path in tenant default.
func (e *env) refusals(t *testing.T, path string, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.countUsers(t)
			r := call(t, "POST", e.URL+path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode || !strings.Contains(string(r.Body), tt.wantInMsg) {
				t.Fatalf("got %d %s, want %d %s mentioning %q", r.Status, r.Body, tt.wantStatus, tt.wantCode, tt.wantInMsg)
			}
			if after := e.countUsers(t); after != before {
				t.Errorf("user count changed from %s to %s", before, after)
			}
		})
	}
}

func TestUsers_PasswordDigestErrors(t *testing.T) {
	e := newEnv(t)
	d := digests(t, "pw")
	tests := []refusal{
		{"PasswordAndDigest", map[string]any{"password": "pw", "passwordDigest": d["SHA256"], "passwordAlgorithm": "SHA256"}, 400, "user.password_and_digest", ""},
		{"DigestWithoutAlgorithm", map[string]any{"passwordDigest": d["SHA256"]}, 400, "user.password_algorithm_required", ""},
		{"UnknownAlgorithm", map[string]any{"passwordDigest": d["SHA256"], "passwordAlgorithm": "sha256"}, 400, "guard.invalid_input", "passwordAlgorithm"},
		{"UnknownAlgorithmAlone", map[string]any{"passwordAlgorithm": "PBKDF2"}, 400, "guard.invalid_input", "passwordAlgorithm"},
		{"Argon2d", map[string]any{"passwordDigest": strings.Replace(d["Argon2id"], "argon2id", "argon2d", 1), "passwordAlgorithm": "Argon2d"}, 400, "guard.invalid_input", "Argon2d"},
		{"Legacy", map[string]any{"passwordDigest": `["md5",["@"],"x"]`, "passwordAlgorithm": "Legacy"}, 400, "guard.invalid_input", "Legacy"},
		{"WrongAlgorithm", map[string]any{"passwordDigest": d["Bcrypt"], "passwordAlgorithm": "Argon2id"}, 400, "guard.invalid_input", "passwordDigest"},
		{"TruncatedHex", map[string]any{"passwordDigest": d["MD5"][:31], "passwordAlgorithm": "MD5"}, 400, "guard.invalid_input", "passwordDigest"},
		{"EmptyDigest", map[string]any{"passwordDigest": "", "passwordAlgorithm": "SHA1"}, 400, "guard.invalid_input", "passwordDigest"},
		{"ArgonMemoryTooLarge", map[string]any{"passwordDigest": strings.Replace(d["Argon2id"], "m=64", "m=1048576", 1), "passwordAlgorithm": "Argon2id"}, 400, "guard.invalid_input", "passwordDigest"},
		{"BcryptCostTooHigh", map[string]any{"passwordDigest": "$2b$31" + d["Bcrypt"][6:], "passwordAlgorithm": "Bcrypt"}, 400, "guard.invalid_input", "cost"},
		// Cost 13 takes about 0.5 s a verification; imports stop at 12.
		{"BcryptCost13", map[string]any{"passwordDigest": "$2b$13" + d["Bcrypt"][6:], "passwordAlgorithm": "Bcrypt"}, 400, "guard.invalid_input", "cost"},
	}
	e.refusals(t, "/api/users", tests)
	// passwordAlgorithm alone is ignored, as in Logto.
	if u := e.createUser(t, map[string]any{"passwordAlgorithm": "MD5"}); u.HasPassword {
		t.Errorf("passwordAlgorithm alone set a password: %+v", u)
	}
}

// batch posts a batch import to tenant prefix ("" for default).
func (e *env) batch(t testing.TB, prefix, token string, users ...any) response {
	t.Helper()
	return call(t, "POST", e.URL+prefix+"/api/users/batch", token, map[string]any{"users": users})
}

func TestUsers_BatchCreate(t *testing.T) {
	e := newEnv(t)
	d := digests(t, "imported-pw")
	r := e.batch(t, "", e.token,
		map[string]any{"username": "b0", "primaryEmail": "b0@example.com", "customData": map[string]any{"plan": "pro"}},
		map[string]any{"username": "b1", "passwordDigest": d["Bcrypt"], "passwordAlgorithm": "Bcrypt"},
		map[string]any{"username": "b2", "password": "plain-pw"},
		map[string]any{"primaryPhone": "16502530001", "name": "No Username"},
	)
	if r.Status != http.StatusCreated {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	var got []user
	r.JSON(t, &got)
	var raw []json.RawMessage
	r.JSON(t, &raw)
	if len(got) != 4 || *got[0].Username != "b0" || *got[1].Username != "b1" || *got[2].Username != "b2" || *got[3].PrimaryPhone != "16502530001" {
		t.Fatalf("batch response not in input order: %s", r.Body)
	}
	if got[0].HasPassword || !got[1].HasPassword || !got[2].HasPassword || got[0].CustomData["plan"] != "pro" {
		t.Errorf("batch users: %s", r.Body)
	}
	for _, c := range []struct {
		u        user
		password string
	}{{got[1], "imported-pw"}, {got[2], "plain-pw"}} {
		if r := call(t, "POST", e.URL+"/api/users/"+c.u.ID+"/password/verify", e.token, map[string]any{"password": c.password}); r.Status != 204 {
			t.Errorf("verify %s: %d %s", *c.u.Username, r.Status, r.Body)
		}
	}
	// Same JSON as GET /api/users/{id}.
	if one := call(t, "GET", e.URL+"/api/users/"+got[3].ID, e.token, nil); string(one.Body) != string(raw[3]) {
		t.Errorf("GET %s, batch answered %s", one.Body, raw[3])
	}
	// One audit entry per user.
	r = call(t, "GET", e.URL+"/api/logs?logKey=Management.User.Create&userId="+got[3].ID, e.token, nil)
	if r.Header.Get("Total-Number") != "1" {
		t.Errorf("audit entries of a batch user: %s %s", r.Header.Get("Total-Number"), r.Body)
	}
}

func TestUsers_BatchCreateAllOrNothing(t *testing.T) {
	e := newEnv(t)
	e.createUser(t, map[string]any{"username": "taken", "primaryEmail": "taken@example.com"})
	ok := func(i int) map[string]any { return map[string]any{"username": fmt.Sprintf("ok%d", i)} }
	tooMany := make([]any, 1001)
	for i := range tooMany {
		tooMany[i] = ok(i)
	}
	tests := []refusal{
		{"BadEmailInTheMiddle", map[string]any{"users": []any{ok(0), ok(1), ok(2), map[string]any{"primaryEmail": "nope"}, ok(4)}}, 400, "guard.invalid_input", "users[3].primaryEmail"},
		{"WrongTypeInEntry", map[string]any{"users": []any{ok(0), map[string]any{"username": 5}}}, 400, "guard.invalid_input", "users[1].username"},
		{"EntryNotAnObject", map[string]any{"users": []any{ok(0), "alice"}}, 400, "guard.invalid_input", "users[1]"},
		{"NullEntry", map[string]any{"users": []any{nil}}, 400, "guard.invalid_input", "users[0]"},
		{"BadDigestInEntry", map[string]any{"users": []any{ok(0), map[string]any{"passwordDigest": "x", "passwordAlgorithm": "MD5"}}}, 400, "guard.invalid_input", "users[1].passwordDigest"},
		{"PasswordAndDigestInEntry", map[string]any{"users": []any{map[string]any{"password": "a", "passwordDigest": "x", "passwordAlgorithm": "MD5"}}}, 400, "user.password_and_digest", "users[0]"},
		{"DuplicateWithinBatch", map[string]any{"users": []any{ok(0), ok(1), ok(2), ok(3), ok(4), ok(5), ok(6), ok(2)}}, 422, "user.username_already_in_use", "users[7]"},
		{"DuplicateEmailCaseWithinBatch", map[string]any{"users": []any{map[string]any{"primaryEmail": "x@example.com"}, map[string]any{"primaryEmail": "X@Example.com"}}}, 422, "user.email_already_in_use", "users[1]"},
		{"DuplicateOfExisting", map[string]any{"users": []any{ok(0), ok(1), map[string]any{"username": "taken"}}}, 422, "user.username_already_in_use", "users[2]"},
		{"DuplicateOfExistingWithPasswords", map[string]any{"users": []any{map[string]any{"password": "pw1"}, map[string]any{"primaryEmail": "TAKEN@example.com", "password": "pw2"}}}, 422, "user.email_already_in_use", "users[1]"},
		{"Empty", map[string]any{"users": []any{}}, 400, "guard.invalid_input", "users"},
		{"Missing", map[string]any{}, 400, "guard.invalid_input", "users"},
		{"NotAList", map[string]any{"users": map[string]any{}}, 400, "guard.invalid_input", "users"},
		{"TooMany", map[string]any{"users": tooMany}, 400, "guard.invalid_input", "1001"},
	}
	e.refusals(t, "/api/users/batch", tests)
	t.Run("Exactly1000", func(t *testing.T) {
		r := call(t, "POST", e.URL+"/api/users/batch", e.token, map[string]any{"users": tooMany[:1000]})
		if r.Status != http.StatusCreated {
			t.Fatalf("1,000 users: %d %s", r.Status, r.Body)
		}
		if got := e.countUsers(t); got != "1001" {
			t.Errorf("Total-Number %s, want 1001", got)
		}
	})
}

func TestUsers_BatchRoute(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "someone"})
	// POST /api/users/{id} is no route; only batch is.
	r := call(t, "POST", e.URL+"/api/users/"+u.ID, e.token, map[string]any{})
	if r.Status != http.StatusNotFound || r.Code() != "guard.route_not_found" {
		t.Errorf("POST /api/users/{id}: %d %s", r.Status, r.Body)
	}
	if r := e.batch(t, "", "", map[string]any{"username": "x"}); r.Status != http.StatusUnauthorized {
		t.Errorf("batch without a token: %d %s", r.Status, r.Body)
	}
	// The password routes under the same parameter still work.
	r = call(t, "POST", e.URL+"/api/users/"+u.ID+"/password/verify", e.token, map[string]any{"password": "x"})
	if r.Status != 422 {
		t.Errorf("verify: %d %s", r.Status, r.Body)
	}
}

func TestUsers_BatchCreateTenantIsolation(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	acmeToken := apitest.Token(t, e.URL, "acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret, "https://acme.logto.app/api", "all")
	r := e.batch(t, "/t/acme", acmeToken, map[string]any{"username": "shared"}, map[string]any{"username": "only_acme"})
	if r.Status != http.StatusCreated {
		t.Fatalf("batch in acme: %d %s", r.Status, r.Body)
	}
	var created []user
	r.JSON(t, &created)
	if got := e.countUsers(t); got != "0" {
		t.Errorf("default sees %s users", got)
	}
	if r := call(t, "GET", e.URL+"/api/users/"+created[0].ID, e.token, nil); r.Status != http.StatusNotFound {
		t.Errorf("acme's user from default: %d", r.Status)
	}
	// Names are unique per tenant only.
	if r := e.batch(t, "", e.token, map[string]any{"username": "shared"}); r.Status != http.StatusCreated {
		t.Errorf("same username in default: %d %s", r.Status, r.Body)
	}
	// A token of one tenant cannot import into another.
	if r := e.batch(t, "/t/acme", e.token, map[string]any{"username": "intruder"}); r.Status != http.StatusUnauthorized {
		t.Errorf("default's token on acme: %d %s", r.Status, r.Body)
	}
	r = call(t, "GET", e.URL+"/t/acme/api/users", acmeToken, nil)
	if r.Header.Get("Total-Number") != "2" {
		t.Errorf("acme has %s users, want 2", r.Header.Get("Total-Number"))
	}
}
