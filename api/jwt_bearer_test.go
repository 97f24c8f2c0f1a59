package api_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	oauthjwt "golang.org/x/oauth2/jwt"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

const grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// zitadelAPIAud asks for the tenant's Management API, ZITADEL style.
const zitadelAPIAud = "urn:zitadel:iam:org:project:id:zitadel:aud"

// bearerEnv is a server with an API client "robot" that holds the
// Management API's all and the read scope of resource orders, and an RS256
// key generated for its service user.
type bearerEnv struct {
	*env
	clock  func() time.Time
	client apiClient
	key    keyFile
	signer crypto.Signer
	orders wireResource
}

func newBearerEnv(t testing.TB, opts ...apitest.Options) *bearerEnv {
	t.Helper()
	e := newEnv(t, opts...)
	clock := time.Now
	if len(opts) > 0 && opts[0].Now != nil {
		clock = opts[0].Now
	}
	orders := e.createResource(t, "Orders", "https://orders.example.com")
	scopes := e.createScopes(t, orders.ID, "read", "write")
	reader := e.createRole(t, "orders-reader", "MachineToMachine", scopes[0])
	c := e.createAPIClient(t, "robot", e.adminRole(t, "admin"), reader)
	kf := e.generateKey(t, c.UserID, "RS256")
	_, signer := parsePrivatePEM(t, kf.Key)
	return &bearerEnv{env: e, clock: clock, client: c, key: kf, signer: signer, orders: orders}
}

// issuer is tenant default's issuer.
func (b *bearerEnv) issuer() string { return b.URL + "/oidc" }

// claims are a valid assertion's claims with iss and sub id.
func (b *bearerEnv) claims(id string) map[string]any {
	now := b.clock()
	return map[string]any{"iss": id, "sub": id, "aud": b.issuer(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// signAssertion signs claims with key and alg, naming kid unless it is empty.
func signAssertion(t testing.TB, key crypto.Signer, alg jose.SignatureAlgorithm, kid string, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// handBuilt is a compact JWS of header and claims with signature sig(input).
func handBuilt(t testing.TB, header, claims any, sig func(input string) []byte) string {
	t.Helper()
	enc := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(data)
	}
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig(input))
}

// bearer sends a jwt-bearer token request with extra form parameters.
func (e *env) bearer(t testing.TB, assertion string, extra url.Values) response {
	t.Helper()
	form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}
	for k, v := range extra {
		form[k] = v
	}
	return postForm(t, e.URL+"/oidc/token", form, "", "")
}

// bearerIssued gets a token with assertion, which must be granted.
func (e *env) bearerIssued(t testing.TB, assertion string, extra url.Values) issued {
	t.Helper()
	r := e.bearer(t, assertion, extra)
	if r.Status != http.StatusOK {
		t.Fatalf("jwt-bearer: %d %s", r.Status, r.Body)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	r.JSON(t, &body)
	claims := tokenClaims(t, body.AccessToken)
	s, _ := claims["scope"].(string)
	if body.TokenType != "Bearer" || body.Scope != s || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response %s", r.Body)
	}
	return issued{ExpiresIn: body.ExpiresIn, Scope: s, Claims: claims, Token: body.AccessToken}
}

// wantManagementToken fails the test unless tok is robot's Management API
// token with scope all that lists users.
func (b *bearerEnv) wantManagementToken(t testing.TB, tok issued) {
	t.Helper()
	if tok.Claims["sub"] != b.client.UserID || tok.Claims["client_id"] != b.client.ClientID ||
		tok.Claims["aud"] != store.ManagementIndicator("default") || tok.Scope != "all" {
		t.Errorf("token claims %v", tok.Claims)
	}
	if r := call(t, "GET", b.URL+"/api/users", tok.Token, nil); r.Status != http.StatusOK {
		t.Errorf("GET /api/users with the token: %d %s", r.Status, r.Body)
	}
}

func mgmtForm(scope string) url.Values {
	return url.Values{"resource": {mgmtResource}, "scope": {scope}}
}

func TestJWTBearer_KeyFile(t *testing.T) {
	b := newBearerEnv(t)
	es := b.generateKey(t, b.client.UserID, "ES256")
	_, esKey := parsePrivatePEM(t, es.Key)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
		kid  string
	}{
		{"RS256", b.signer, jose.RS256, b.key.KeyID},
		{"PS256", b.signer, jose.PS256, b.key.KeyID},
		{"ES256", esKey, jose.ES256, es.KeyID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := signAssertion(t, tc.key, tc.alg, tc.kid, b.claims(b.client.UserID))
			b.wantManagementToken(t, b.bearerIssued(t, a, mgmtForm("all")))
		})
	}
}

func TestJWTBearer_ScopesAndAudience(t *testing.T) {
	b := newBearerEnv(t)
	sign := func(claims map[string]any) string { return signAssertion(t, b.signer, jose.RS256, b.key.KeyID, claims) }
	withScope := b.claims(b.client.UserID)
	withScope["scope"] = "all"

	t.Run("ScopeInForm", func(t *testing.T) {
		b.wantManagementToken(t, b.bearerIssued(t, sign(b.claims(b.client.UserID)), mgmtForm("all")))
	})
	t.Run("ScopeInClaim", func(t *testing.T) {
		b.wantManagementToken(t, b.bearerIssued(t, sign(withScope), url.Values{"resource": {mgmtResource}}))
	})
	t.Run("FormScopeWins", func(t *testing.T) {
		tok := b.bearerIssued(t, sign(withScope), mgmtForm("openid"))
		if tok.Scope != "" {
			t.Errorf("scope %q, want none", tok.Scope)
		}
	})
	t.Run("Resource", func(t *testing.T) {
		tok := b.bearerIssued(t, sign(b.claims(b.client.UserID)), url.Values{"resource": {b.orders.Indicator}, "scope": {"read write all"}})
		if tok.Claims["aud"] != b.orders.Indicator || tok.Scope != "read" || tok.ExpiresIn != 3600 {
			t.Errorf("orders token: %q %v", tok.Scope, tok.Claims)
		}
	})
	t.Run("ZitadelProjectAudience", func(t *testing.T) {
		scope := "openid profile email urn:zitadel:iam:org:project:id:" + b.orders.ID + ":aud read write"
		tok := b.bearerIssued(t, sign(b.claims(b.client.UserID)), url.Values{"scope": {scope}})
		if tok.Claims["aud"] != b.orders.Indicator || tok.Scope != "read" {
			t.Errorf("project audience token: %q %v", tok.Scope, tok.Claims)
		}
	})
	t.Run("ZitadelAPIAudience", func(t *testing.T) {
		b.wantManagementToken(t, b.bearerIssued(t, sign(b.claims(b.client.UserID)), url.Values{"scope": {"openid " + zitadelAPIAud + " all"}}))
	})
	t.Run("SameAudienceTwice", func(t *testing.T) {
		b.wantManagementToken(t, b.bearerIssued(t, sign(b.claims(b.client.UserID)),
			url.Values{"resource": {mgmtResource}, "scope": {zitadelAPIAud + " all"}}))
	})
	t.Run("NoAudience", func(t *testing.T) {
		// Without a default resource there is nothing to grant.
		wantTokenError(t, b.bearer(t, sign(b.claims(b.client.UserID)), url.Values{"scope": {"all"}}),
			http.StatusBadRequest, "invalid_target", "resource is not provided")
	})
}

func TestJWTBearer_IssuerForms(t *testing.T) {
	b := newBearerEnv(t)
	uid, cid := b.client.UserID, b.client.ClientID
	for _, tc := range []struct{ name, iss, sub string }{
		{"UserID", uid, uid},
		{"ClientID", cid, cid},
		{"UserIDAndClientID", uid, cid},
		{"ClientIDAndUserID", cid, uid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := b.claims(tc.iss)
			c["sub"] = tc.sub
			b.wantManagementToken(t, b.bearerIssued(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, c), mgmtForm("all")))
		})
	}
}

func TestJWTBearer_WithoutKid(t *testing.T) {
	b := newBearerEnv(t)
	// The key that signs is the last of three: each is tried in turn.
	b.generateKey(t, b.client.UserID, "ES256")
	ec := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	b.uploadKey(t, b.client.UserID, ec)
	a := signAssertion(t, ec, jose.ES384, "", b.claims(b.client.UserID))
	b.wantManagementToken(t, b.bearerIssued(t, a, mgmtForm("all")))
	// The generated RSA key, first of the list, too.
	b.wantManagementToken(t, b.bearerIssued(t, signAssertion(t, b.signer, jose.RS256, "", b.claims(b.client.UserID)), mgmtForm("all")))
}

func TestJWTBearer_UploadedEd25519(t *testing.T) {
	b := newBearerEnv(t)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	k := b.uploadKey(t, b.client.UserID, ed)
	if k.Algorithm != "EdDSA" {
		t.Fatalf("uploaded %+v", k)
	}
	a := signAssertion(t, ed, jose.EdDSA, k.KeyID, b.claims(b.client.ClientID))
	b.wantManagementToken(t, b.bearerIssued(t, a, mgmtForm("all")))
}

func TestJWTBearer_Refusals(t *testing.T) {
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	now := start
	// Every case's failure is audited one by one: none is summarised.
	b := newBearerEnv(t, apitest.Options{Now: func() time.Time { return now },
		AuditFailures: limits.Rate{Requests: 1000, Per: time.Minute}})
	uid, kid := b.client.UserID, b.key.KeyID
	sign := func(c map[string]any) string { return signAssertion(t, b.signer, jose.RS256, kid, c) }
	claims := func(edit func(map[string]any)) map[string]any {
		c := b.claims(uid)
		edit(c)
		return c
	}

	// Keys and clients the cases need.
	deleted := b.generateKey(t, uid, "ES256")
	_, deletedKey := parsePrivatePEM(t, deleted.Key)
	b.do(t, "DELETE", "/api/users/"+uid+"/keys/"+deleted.KeyID, nil, http.StatusNoContent, nil)
	ec := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	var expiring userKey
	b.do(t, "POST", "/api/users/"+uid+"/keys", map[string]any{"publicKey": publicPEM(t, ec.Public()),
		"expiresAt": start.Add(time.Minute).UnixMilli()}, http.StatusCreated, &expiring)
	off := b.createAPIClient(t, "off-bot", b.adminRole(t, "admin2"))
	offKey := b.generateKey(t, off.UserID, "ES256")
	_, offSigner := parsePrivatePEM(t, offKey.Key)
	b.do(t, "POST", "/api/api-clients/off-bot/disable", nil, http.StatusOK, nil)
	gone := b.createAPIClient(t, "gone-bot")
	goneKey := b.generateKey(t, gone.UserID, "ES256")
	_, goneSigner := parsePrivatePEM(t, goneKey.Key)
	goneAssertion := signAssertion(t, goneSigner, jose.ES256, goneKey.KeyID, b.claims(gone.UserID))
	b.do(t, "DELETE", "/api/api-clients/gone-bot", nil, http.StatusNoContent, nil)
	other := must(rsa.GenerateKey(rand.Reader, 2048))
	pubPEM := publicPEM(t, b.signer.Public())

	// A case with unverified set is refused before the signature is
	// verified: the client gets the one public description, and wantDesc
	// is the exact reason, which the audit entry and the metric keep.
	cases := []struct {
		name       string
		assertion  func(t *testing.T) string
		form       url.Values // besides grant_type and assertion; nil means resource and scope all
		shift      time.Duration
		wantType   string
		wantDesc   string
		unverified string // the metric's reason
	}{
		{name: "Expired", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() }))
		}, wantDesc: "assertion is expired"},
		{name: "ExpiresNow", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["exp"] = now.Unix() }))
		}, wantDesc: "assertion is expired"},
		{name: "MissingExp", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { delete(c, "exp") }))
		}, wantDesc: "assertion has no exp"},
		{name: "FutureIat", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["iat"] = now.Add(2 * time.Second).Unix() }))
		}, wantDesc: "issued in the future"},
		{name: "OldIat", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["iat"] = now.Add(-time.Hour - time.Second).Unix() }))
		}, wantDesc: "too old"},
		{name: "MissingIat", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { delete(c, "iat") }))
		}, wantDesc: "assertion has no iat"},
		{name: "WrongAudience", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["aud"] = []string{"https://elsewhere.example/oidc"} }))
		}, wantDesc: "audience must include"},
		{name: "OtherTenantAudience", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["aud"] = b.URL + "/t/acme/oidc" }))
		}, wantDesc: "audience must include"},
		{name: "NbfInFuture", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["nbf"] = now.Add(5 * time.Second).Unix() }))
		}, wantDesc: "not valid yet (nbf)"},
		{name: "UnknownKid", assertion: func(*testing.T) string {
			return signAssertion(t, b.signer, jose.RS256, "nosuchkey", b.claims(uid))
		}, wantDesc: "unknown key", unverified: "unknown_key"},
		{name: "AlgNone", assertion: func(t *testing.T) string {
			return handBuilt(t, map[string]string{"alg": "none", "typ": "JWT", "kid": kid}, b.claims(uid), func(string) []byte { return nil })
		}, wantDesc: "not a JWT signed with", unverified: "malformed"},
		{name: "HS256WithPublicKey", assertion: func(t *testing.T) string {
			return handBuilt(t, map[string]string{"alg": "HS256", "typ": "JWT", "kid": kid}, b.claims(uid), func(input string) []byte {
				m := hmac.New(sha256.New, []byte(pubPEM))
				m.Write([]byte(input))
				return m.Sum(nil)
			})
		}, wantDesc: "not a JWT signed with", unverified: "malformed"},
		{name: "AlgDoesNotFitKey", assertion: func(t *testing.T) string {
			return signAssertion(t, ec, jose.ES256, kid, b.claims(uid)) // kid of the RSA key
		}, wantDesc: "does not fit the key", unverified: "algorithm_mismatch"},
		{name: "SignedByAnotherKey", assertion: func(t *testing.T) string {
			return signAssertion(t, other, jose.RS256, kid, b.claims(uid))
		}, wantDesc: "assertion signature is invalid", unverified: "bad_signature"},
		{name: "NoKidNoKeyFits", assertion: func(t *testing.T) string {
			return signAssertion(t, other, jose.RS256, "", b.claims(uid))
		}, wantDesc: "no key of the service user verifies", unverified: "bad_signature"},
		{name: "ReplayedJti", assertion: func(t *testing.T) string {
			a := sign(claims(func(c map[string]any) { c["jti"] = "once" }))
			b.bearerIssued(t, a, mgmtForm("all"))
			return a
		}, wantDesc: "jti was already used"},
		{name: "DeletedKey", assertion: func(t *testing.T) string {
			return signAssertion(t, deletedKey, jose.ES256, deleted.KeyID, b.claims(uid))
		}, wantDesc: "unknown key", unverified: "unknown_key"},
		{name: "ExpiredKey", shift: 2 * time.Minute, assertion: func(t *testing.T) string {
			return signAssertion(t, ec, jose.ES256, expiring.KeyID, b.claims(uid))
		}, wantDesc: "key is expired"},
		{name: "DisabledClient", assertion: func(t *testing.T) string {
			return signAssertion(t, offSigner, jose.ES256, offKey.KeyID, b.claims(off.UserID))
		}, wantDesc: "client is disabled"},
		{name: "DeletedClient", assertion: func(*testing.T) string { return goneAssertion }, wantDesc: "unknown issuer", unverified: "unknown_issuer"},
		{name: "SubjectIsAnotherUser", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["sub"] = off.UserID }))
		}, wantDesc: "subject is not the issuer's service user", unverified: "unknown_issuer"},
		{name: "UnknownIssuer", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["iss"], c["sub"] = "nosuchuser1", "nosuchuser1" }))
		}, wantDesc: "unknown issuer", unverified: "unknown_issuer"},
		{name: "PlainUserIssuer", assertion: func(t *testing.T) string {
			u := b.createUser(t, map[string]any{"username": "human"})
			return sign(claims(func(c map[string]any) { c["iss"], c["sub"] = u.ID, u.ID }))
		}, wantDesc: "unknown issuer", unverified: "unknown_issuer"},
		{name: "MissingIss", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { delete(c, "iss") }))
		}, wantDesc: "assertion has no iss", unverified: "malformed"},
		{name: "MissingSub", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { delete(c, "sub") }))
		}, wantDesc: "assertion has no sub", unverified: "malformed"},
		{name: "Oversized", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["pad"] = strings.Repeat("x", 8<<10) }))
		}, wantDesc: "assertion too large", unverified: "malformed"},
		{name: "NotAJWT", assertion: func(*testing.T) string { return "not.a.jwt" }, wantDesc: "not a JWT signed with", unverified: "malformed"},
		{name: "TwoAudiences", assertion: func(*testing.T) string { return sign(b.claims(uid)) },
			form: url.Values{"resource": {b.orders.Indicator}, "scope": {zitadelAPIAud + " read"}}, wantType: "invalid_target", wantDesc: "only one audience"},
		{name: "UnknownProject", assertion: func(*testing.T) string { return sign(b.claims(uid)) },
			form: url.Values{"scope": {"urn:zitadel:iam:org:project:id:nope:aud"}}, wantType: "invalid_target", wantDesc: "unknown project"},
		{name: "BadScopeClaim", assertion: func(*testing.T) string {
			return sign(claims(func(c map[string]any) { c["scope"] = "a\"b" }))
		}, form: url.Values{"resource": {mgmtResource}}, wantType: "invalid_scope", wantDesc: "scope claim"},
		{name: "ClientAuthentication", assertion: func(*testing.T) string { return sign(b.claims(uid)) },
			form: url.Values{"client_id": {b.client.ClientID}, "resource": {mgmtResource}}, wantType: "invalid_request", wantDesc: "no client authentication"},
		{name: "MissingAssertion", assertion: func(*testing.T) string { return "" }, wantType: "invalid_request", wantDesc: "missing parameter assertion"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now = start.Add(tc.shift)
			defer func() { now = start }()
			form := tc.form
			if form == nil {
				form = mgmtForm("all")
			}
			typ := tc.wantType
			if typ == "" {
				typ = "invalid_grant"
			}
			r := b.bearer(t, tc.assertion(t), form)
			if tc.unverified == "" {
				wantTokenError(t, r, http.StatusBadRequest, typ, tc.wantDesc)
			} else {
				wantTokenError(t, r, http.StatusBadRequest, "invalid_grant", "")
				var body struct {
					Description string `json:"error_description"`
				}
				if r.JSON(t, &body); body.Description != "assertion is invalid" {
					t.Errorf("error_description %q, want the one public \"assertion is invalid\"", body.Description)
				}
			}
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
		})
	}

	// Each case left one failed entry in the audit log, in order, with its
	// exact reason.
	var failed []logEntry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		entries, _ := b.logs(t, "logKey=ExchangeTokenBy.JwtBearer&page_size=100")
		failed = failed[:0]
		for _, e := range slices.Backward(entries) {
			if e.Payload["result"] == "Error" {
				failed = append(failed, e)
			}
		}
		if len(failed) >= len(cases) {
			break
		}
	}
	if len(failed) != len(cases) {
		t.Fatalf("%d failed jwt-bearer audit entries, want %d", len(failed), len(cases))
	}
	wantUnverified := map[string]float64{}
	for i, tc := range cases {
		errObj, _ := failed[i].Payload["error"].(map[string]any)
		if desc, _ := errObj["error_description"].(string); !strings.Contains(desc, tc.wantDesc) {
			t.Errorf("%s: audit error_description %q, want the exact reason %q", tc.name, desc, tc.wantDesc)
		}
		if tc.unverified != "" {
			wantUnverified[tc.unverified]++
		}
	}
	for reason, want := range wantUnverified {
		got := counter(t, b.Registry, "idbolt_jwt_bearer_unverified_total", map[string]string{"tenant": "default", "reason": reason})
		if got != want {
			t.Errorf("idbolt_jwt_bearer_unverified_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}

	// A refused request does not spend its jti: the same assertion works
	// once the cause is fixed.
	a := sign(claims(func(c map[string]any) { c["jti"] = "retry" }))
	wantTokenError(t, b.bearer(t, a, url.Values{"resource": {"https://nope.example"}}), http.StatusBadRequest, "invalid_target", "")
	b.bearerIssued(t, a, mgmtForm("all"))
	wantTokenError(t, b.bearer(t, a, mgmtForm("all")), http.StatusBadRequest, "invalid_grant", "jti was already used")
}

func TestJWTBearer_AuditAndMetrics(t *testing.T) {
	b := newBearerEnv(t)
	b.bearerIssued(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, b.claims(b.client.UserID)), mgmtForm("all"))
	b.bearer(t, signAssertion(t, b.signer, jose.RS256, "nosuchkey", b.claims(b.client.UserID)), mgmtForm("all"))

	var entries []logEntry
	var r response
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if entries, r = b.logs(t, "logKey=ExchangeTokenBy.JwtBearer"); len(entries) == 2 {
			break
		}
	}
	if len(entries) != 2 {
		t.Fatalf("%d jwt-bearer entries, want 2: %s", len(entries), r.Body)
	}
	failed, ok := entries[0], entries[1]
	if ok.Payload["result"] != "Success" || ok.Payload["applicationId"] != "robot" {
		t.Errorf("success entry %v", ok.Payload)
	}
	errObj, _ := failed.Payload["error"].(map[string]any)
	if failed.Payload["result"] != "Error" || errObj["error"] != "invalid_grant" || errObj["error_description"] != "unknown key" ||
		failed.Payload["applicationId"] != "robot" {
		t.Errorf("failed entry %v", failed.Payload)
	}
	if params, _ := failed.Payload["params"].(map[string]any); params["assertion"] != "******" {
		t.Errorf("assertion not masked: %v", params)
	}

	families, err := b.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var issuedJWT float64
	for _, f := range families {
		if f.GetName() != "idbolt_tokens_issued_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "grant_type" && l.GetValue() == "jwt-bearer" {
					issuedJWT += m.GetCounter().GetValue()
				}
			}
		}
	}
	if issuedJWT != 1 {
		t.Errorf("jwt-bearer tokens issued metric = %v, want 1", issuedJWT)
	}
}

func TestJWTBearer_TenantIsolation(t *testing.T) {
	b := newBearerEnv(t)
	other := b.inTenant(t, "acme")
	// Default's service user is unknown in acme, whatever the audience.
	for _, aud := range []string{b.issuer(), b.URL + "/t/acme/oidc"} {
		c := b.claims(b.client.UserID)
		c["aud"] = aud
		wantTokenError(t, other.bearer(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, c), nil),
			http.StatusBadRequest, "invalid_grant", "assertion is invalid")
	}
}

// TestJWTBearer_OAuth2Client gets tokens with golang.org/x/oauth2/jwt, the
// Google-style JWT profile client: scope in the assertion, aud = token URL,
// no jti, iat 10 s in the past.
func TestJWTBearer_OAuth2Client(t *testing.T) {
	b := newBearerEnv(t)
	for _, id := range []string{b.client.UserID, b.client.ClientID} {
		conf := &oauthjwt.Config{
			Email:        id,
			Subject:      id,
			PrivateKey:   []byte(b.key.Key),
			PrivateKeyID: b.key.KeyID,
			Scopes:       []string{"all", zitadelAPIAud},
			TokenURL:     b.URL + "/oidc/token",
		}
		tok, err := conf.TokenSource(context.Background()).Token()
		if err != nil {
			t.Fatalf("token for %s: %v", id, err)
		}
		if got := tokenClaims(t, tok.AccessToken); got["sub"] != b.client.UserID || got["scope"] != "all" {
			t.Errorf("token claims %v", got)
		}
		resp, err := conf.Client(context.Background()).Get(b.URL + "/api/users")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/users with the oauth2 client of %s: %d %s", id, resp.StatusCode, body)
		}
	}
}

// TestJWTBearer_ZitadelClient signs as ZITADEL's Go client does
// (zitadel/oidc pkg/client: iss = sub = user id, aud = [issuer], exp in an
// hour, kid) and asks with ZITADEL's scopes.
func TestJWTBearer_ZitadelClient(t *testing.T) {
	b := newBearerEnv(t)
	now := time.Now()
	assertion := signAssertion(t, b.signer, jose.RS256, b.key.KeyID, jwt.Claims{
		Issuer: b.key.UserID, Subject: b.key.UserID, Audience: jwt.Audience{b.issuer()},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
	})
	// ZITADEL's scopes name the audience; the Management API's all is a
	// scope of its own, asked for like any resource scope.
	tok := b.bearerIssued(t, assertion, url.Values{"scope": {"openid " + zitadelAPIAud}})
	if tok.Claims["aud"] != mgmtResource || tok.Scope != "" {
		t.Errorf("token without all: %q %v", tok.Scope, tok.Claims)
	}
	wantError(t, call(t, "GET", b.URL+"/api/users", tok.Token, nil), http.StatusForbidden, "auth.forbidden")
	// As in ZITADEL, a manager role is what lets such a token act, at once.
	b.do(t, "POST", "/api/managers", map[string]any{"userId": b.key.UserID, "roles": []string{"IAM_OWNER_VIEWER"}}, http.StatusCreated, nil)
	if r := call(t, "GET", b.URL+"/api/users", tok.Token, nil); r.Status != http.StatusOK {
		t.Errorf("IAM_OWNER_VIEWER reading users: %d %s", r.Status, r.Body)
	}
	wantError(t, call(t, "POST", b.URL+"/api/users", tok.Token, map[string]any{"username": "x"}), http.StatusForbidden, "auth.forbidden")
	b.wantManagementToken(t, b.bearerIssued(t, assertion, url.Values{"scope": {"openid " + zitadelAPIAud + " all"}}))
}

// TestJWTBearer_JTIBudget: a client that has used its budget of live jtis
// is refused; another client of the tenant still gets tokens, and the
// budget frees itself as the assertions expire.
func TestJWTBearer_JTIBudget(t *testing.T) {
	c := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	const budget = 3
	b := newBearerEnv(t, apitest.Options{Now: c.Now, MaxJTIsPerClient: budget})
	other := b.createAPIClient(t, "other-bot", b.adminRole(t, "admin2"))
	otherKey := b.generateKey(t, other.UserID, "ES256")
	_, otherSigner := parsePrivatePEM(t, otherKey.Key)
	withJTI := func(userID, jti string) map[string]any {
		claims := b.claims(userID)
		claims["jti"] = jti
		return claims
	}
	robot := func(jti string) string {
		return signAssertion(t, b.signer, jose.RS256, b.key.KeyID, withJTI(b.client.UserID, jti))
	}

	for i := range budget {
		b.bearerIssued(t, robot(strconv.Itoa(i)), mgmtForm("all"))
	}
	wantTokenError(t, b.bearer(t, robot("one-too-many"), mgmtForm("all")), http.StatusBadRequest, "invalid_grant",
		"assertions with a jti that have not expired")
	// Without a jti robot is not limited, and other-bot has its own budget.
	b.bearerIssued(t, signAssertion(t, b.signer, jose.RS256, b.key.KeyID, b.claims(b.client.UserID)), mgmtForm("all"))
	for i := range budget {
		b.bearerIssued(t, signAssertion(t, otherSigner, jose.ES256, otherKey.KeyID, withJTI(other.UserID, strconv.Itoa(i))), mgmtForm("all"))
	}
	// An hour on, robot's assertions have expired and so have their jtis.
	c.Add(time.Hour + 2*time.Second)
	b.bearerIssued(t, robot("later"), mgmtForm("all"))
}

// TestJWTBearer_JTIAcrossRestart: an assertion with a jti issued in the
// second the server started is accepted (iat counts whole seconds), and
// its jti is still refused after a restart on the same file, until it
// expires.
func TestJWTBearer_JTIAcrossRestart(t *testing.T) {
	// Half a second into a second: iat, truncated, is before the start.
	c := &clock{now: time.Date(2026, 11, 21, 12, 0, 0, 500_000_000, time.UTC)}
	path := filepath.Join(t.TempDir(), "idbolt.db")
	b := newBearerEnv(t, apitest.Options{Now: c.Now, Path: path})
	sign := func(issuer string) string {
		claims := b.claims(b.client.UserID)
		claims["aud"], claims["jti"] = issuer, "once"
		return signAssertion(t, b.signer, jose.RS256, b.key.KeyID, claims)
	}
	b.bearerIssued(t, sign(b.issuer()), mgmtForm("all"))
	b.Close()

	restarted := &env{Server: apitest.Start(t, apitest.Options{Now: c.Now, Path: path})}
	// The restarted server listens elsewhere, so the audience differs; the
	// jti is the client's, whatever the assertion around it.
	wantTokenError(t, restarted.bearer(t, sign(restarted.URL+"/oidc"), mgmtForm("all")), http.StatusBadRequest,
		"invalid_grant", "jti was already used")
	c.Add(time.Hour + 2*time.Second)
	restarted.bearerIssued(t, sign(restarted.URL+"/oidc"), mgmtForm("all"))
}

// TestJWTBearer_UpgradedFile: a data file written before the jti buckets
// existed gets them on open, and its service users' jtis are kept.
func TestJWTBearer_UpgradedFile(t *testing.T) {
	src, err := os.ReadFile("../testdata/upgrade/main-0959aa9.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "old.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	start := func() *env {
		srv := apitest.Start(t, apitest.Options{Path: path})
		return &env{Server: srv, token: apitest.Token(t, srv.URL, "default", "admin",
			"fixture-secret-0123456789abcdefghijklmnop", mgmtResource, "all")}
	}
	e := start()
	var svc apiClient
	e.do(t, "GET", "/api/api-clients/svc-one", nil, http.StatusOK, &svc)
	kf := e.generateKey(t, svc.UserID, "ES256")
	_, key := parsePrivatePEM(t, kf.Key)
	sign := func(issuer string) string {
		now := time.Now()
		return signAssertion(t, key, jose.ES256, kf.KeyID, map[string]any{"iss": svc.ClientID, "sub": svc.ClientID,
			"aud": issuer, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "upgraded"})
	}
	e.bearerIssued(t, sign(e.URL+"/oidc"), url.Values{"resource": {mgmtResource}})
	wantTokenError(t, e.bearer(t, sign(e.URL+"/oidc"), url.Values{"resource": {mgmtResource}}), http.StatusBadRequest,
		"invalid_grant", "jti was already used")
	e.Close()
	e = start()
	wantTokenError(t, e.bearer(t, sign(e.URL+"/oidc"), url.Values{"resource": {mgmtResource}}), http.StatusBadRequest,
		"invalid_grant", "jti was already used")
}
