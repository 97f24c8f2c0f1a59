package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	oauthjwt "golang.org/x/oauth2/jwt"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// discoveryURLs are every URL that serves tenant's metadata document.
func discoveryURLs(tenant string) []string {
	prefix := ""
	if tenant != store.DefaultTenant {
		prefix = "/t/" + tenant
	}
	return []string{
		prefix + "/oidc/.well-known/openid-configuration", // OpenID Connect Discovery: {issuer}/.well-known/...
		prefix + "/.well-known/openid-configuration",
		prefix + "/.well-known/oauth-authorization-server",
		"/.well-known/oauth-authorization-server" + prefix + "/oidc", // RFC 8414 section 3: inserted before the issuer's path
		"/.well-known/openid-configuration" + prefix + "/oidc",
	}
}

func TestDiscovery_EveryURLServesTheSameDocument(t *testing.T) {
	e := newEnv(t)
	createTenant(t, e, "acme")
	for _, tenant := range []string{store.DefaultTenant, "acme"} {
		t.Run(tenant, func(t *testing.T) {
			issuer := e.Auth.Issuer(tenant)
			var first string
			for _, path := range discoveryURLs(tenant) {
				r := call(t, "GET", e.URL+path, "", nil)
				if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Fatalf("GET %s: %d %q %s", path, r.Status, r.Header.Get("Content-Type"), r.Body)
				}
				if first == "" {
					first = string(r.Body)
				} else if string(r.Body) != first {
					t.Errorf("GET %s differs:\n%s\nfrom the first URL's\n%s", path, r.Body, first)
				}
			}
			var d struct {
				Issuer                            string   `json:"issuer"`
				TokenEndpoint                     string   `json:"token_endpoint"`
				JWKSURI                           string   `json:"jwks_uri"`
				AuthorizationEndpoint             *string  `json:"authorization_endpoint"`
				GrantTypes                        []string `json:"grant_types_supported"`
				TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
				ResponseTypes                     []string `json:"response_types_supported"`
				IDTokenAlgs                       []string `json:"id_token_signing_alg_values_supported"`
				SubjectTypes                      []string `json:"subject_types_supported"`
				Scopes                            []string `json:"scopes_supported"`
			}
			response{Body: []byte(first)}.JSON(t, &d)
			// The issuer is the iss of the tenant's tokens, wherever the
			// document is read.
			if d.Issuer != issuer || d.TokenEndpoint != issuer+"/token" || d.JWKSURI != issuer+"/jwks" {
				t.Errorf("endpoints %+v, want issuer %s", d, issuer)
			}
			if !slices.Equal(d.GrantTypes, []string{"client_credentials", grantJWTBearer, "urn:ietf:params:oauth:grant-type:token-exchange"}) {
				t.Errorf("grant_types_supported %q", d.GrantTypes)
			}
			if !slices.Equal(d.TokenEndpointAuthMethodsSupported, []string{"client_secret_basic", "client_secret_post"}) {
				t.Errorf("token_endpoint_auth_methods_supported %q", d.TokenEndpointAuthMethodsSupported)
			}
			// No authorization endpoint (RFC 8414 leaves it out when no grant
			// uses one); the required response_types_supported says so.
			if d.AuthorizationEndpoint != nil || !slices.Equal(d.ResponseTypes, []string{"none"}) {
				t.Errorf("authorization_endpoint %v, response_types_supported %q", d.AuthorizationEndpoint, d.ResponseTypes)
			}
			if !slices.Equal(d.IDTokenAlgs, []string{"ES256"}) || !slices.Equal(d.SubjectTypes, []string{"public"}) || !slices.Equal(d.Scopes, []string{"all"}) {
				t.Errorf("document %s", first)
			}
		})
	}
	for _, path := range discoveryURLs("nope") {
		if r := call(t, "GET", e.URL+path, "", nil); r.Status != http.StatusNotFound || r.Code() != "tenant.not_found" {
			t.Errorf("GET %s of an unknown tenant: %d %s", path, r.Status, r.Body)
		}
	}
}

// A ZITADEL client needs only the base URL changed: its token and keys
// paths answer as /oidc/token and /oidc/jwks do.
func TestDiscovery_ZitadelAliases(t *testing.T) {
	e := newEnv(t)
	acme := createTenant(t, e, "acme")
	for _, tc := range []struct {
		tenant, prefix, id, secret string
	}{
		{store.DefaultTenant, "", e.ClientID, e.ClientSecret},
		{"acme", "/t/acme", acme.Credentials.ClientID, acme.Credentials.ClientSecret},
	} {
		t.Run(tc.tenant, func(t *testing.T) {
			ctx := context.Background()
			keys := call(t, "GET", e.URL+tc.prefix+"/oauth/v2/keys", "", nil)
			jwks := call(t, "GET", e.URL+tc.prefix+"/oidc/jwks", "", nil)
			if keys.Status != http.StatusOK || string(keys.Body) != string(jwks.Body) ||
				keys.Header.Get("Content-Type") != jwks.Header.Get("Content-Type") {
				t.Fatalf("/oauth/v2/keys: %d %s; /oidc/jwks: %s", keys.Status, keys.Body, jwks.Body)
			}
			var set jose.JSONWebKeySet
			keys.JSON(t, &set)

			for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
				conf := clientcredentials.Config{ClientID: tc.id, ClientSecret: tc.secret, TokenURL: e.URL + tc.prefix + "/oauth/v2/token",
					Scopes: []string{"all"}, EndpointParams: url.Values{"resource": {store.ManagementIndicator(tc.tenant)}}, AuthStyle: style}
				tok, err := conf.Token(ctx)
				if err != nil {
					t.Fatalf("clientcredentials at /oauth/v2/token (auth style %d): %v", style, err)
				}
				// A resource server verifies it with the keys of the alias.
				parsed, err := jwt.ParseSigned(tok.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Fatal(err)
				}
				if len(parsed.Headers) != 1 || parsed.Headers[0].ExtraHeaders["typ"] != "at+jwt" {
					t.Errorf("token headers %+v", parsed.Headers)
				}
				var claims jwt.Claims
				var scope struct {
					Scope string `json:"scope"`
				}
				if err := parsed.Claims(set, &claims, &scope); err != nil {
					t.Fatalf("verify with /oauth/v2/keys: %v", err)
				}
				if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: e.Auth.Issuer(tc.tenant),
					AnyAudience: jwt.Audience{store.ManagementIndicator(tc.tenant)}, Time: time.Now()}, 0); err != nil || scope.Scope != "all" {
					t.Errorf("claims %+v scope %q: %v", claims, scope.Scope, err)
				}
				resp, err := conf.Client(ctx).Get(e.URL + tc.prefix + "/api/users")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET /api/users with the token: %d %s", resp.StatusCode, body)
				}
			}
			// A refusal is the token endpoint's too.
			bad := clientcredentials.Config{ClientID: tc.id, ClientSecret: "wrong-secret", TokenURL: e.URL + tc.prefix + "/oauth/v2/token",
				AuthStyle: oauth2.AuthStyleInHeader}
			if _, err := bad.Token(ctx); err == nil {
				t.Error("a wrong secret got a token at /oauth/v2/token")
			} else if re := (*oauth2.RetrieveError)(nil); !asRetrieveError(err, &re) || re.ErrorCode != "invalid_client" {
				t.Errorf("wrong secret: %v, want invalid_client", err)
			}
		})
	}
	// The alias is audited as the token endpoint: the entries of the
	// requests above are there, with their result.
	var entries []logEntry
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ = e.logs(t, "logKey=ExchangeTokenBy.ClientCredentials")
		if len(entries) >= 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ok, failed int
	for _, l := range entries {
		switch l.Payload["result"] {
		case "Success":
			ok++
		case "Error":
			failed++
		}
	}
	// newEnv's own token, the two tokens of tenant default above, and the
	// refused request.
	if ok < 3 || failed != 1 {
		t.Errorf("audit of tenant default: %d successes, %d failures: %v", ok, failed, entries)
	}
}

// The metadata lists the jwt-bearer grant (above), and the grant works at
// the alias with golang.org/x/oauth2/jwt, whose assertion names as audience
// the URL it posts to unless told the issuer.
func TestDiscovery_JWTBearerAtAlias(t *testing.T) {
	b := newBearerEnv(t)
	for _, aud := range []string{"", b.issuer(), b.URL + "/t/other/oauth/v2/token"} {
		conf := &oauthjwt.Config{Email: b.client.ClientID, Subject: b.client.ClientID, PrivateKey: []byte(b.key.Key),
			PrivateKeyID: b.key.KeyID, Scopes: []string{"all", zitadelAPIAud}, TokenURL: b.URL + "/oauth/v2/token", Audience: aud}
		tok, err := conf.TokenSource(context.Background()).Token()
		if aud == b.URL+"/t/other/oauth/v2/token" {
			// Another tenant's token URL is not this one's audience.
			// (golang.org/x/oauth2/jwt leaves ErrorCode empty.)
			if re := (*oauth2.RetrieveError)(nil); !asRetrieveError(err, &re) || !strings.Contains(string(re.Body), `"error":"invalid_grant"`) {
				t.Errorf("assertion for another tenant: %v, want invalid_grant", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("jwt-bearer at /oauth/v2/token, audience %q: %v", aud, err)
		}
		b.wantManagementToken(t, issued{Token: tok.AccessToken, Claims: tokenClaims(t, tok.AccessToken), Scope: "all"})
	}
}

// asRetrieveError is errors.As for an oauth2 token error.
func asRetrieveError(err error, target **oauth2.RetrieveError) bool { return errors.As(err, target) }

// The alias is the token endpoint, not a second one: failed client
// authentications at either spend one budget.
func TestDiscovery_AliasSharesBudgets(t *testing.T) {
	e := newEnv(t, apitest.Options{AuthFailures: &limits.Rate{Requests: 2, Per: time.Hour}})
	form := url.Values{"grant_type": {"client_credentials"}}
	for _, path := range []string{"/oidc/token", "/oauth/v2/token"} {
		if r := postForm(t, e.URL+path, form, e.ClientID, "wrong-secret"); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong secret at %s: %d %s", path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/oauth/v2/token", "/oidc/token"} {
		if r := postForm(t, e.URL+path, form, e.ClientID, "wrong-secret"); r.Status != http.StatusTooManyRequests {
			t.Errorf("third failure, at %s: %d %s, want 429", path, r.Status, r.Body)
		}
	}
}
