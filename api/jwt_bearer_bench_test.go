package api_test

import (
	"crypto"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idbolt/idbolt/api/apitest"
)

// BenchmarkToken_JWTBearer measures token issuance for a service user's
// signed assertion through the HTTP handler: parsing, the key lookup,
// signature and claim checks, scope resolution, signing. Assertions are
// signed before the timer starts: RS256 reuses one without jti (as
// golang.org/x/oauth2/jwt sends them); ES256 has a unique jti each, so the
// replay check, and queueing the jti for the data file, are in the measured
// path.
func BenchmarkToken_JWTBearer(b *testing.B) {
	for _, tc := range []struct {
		name string
		alg  string
		jti  bool
	}{{"RS256", "RS256", false}, {"ES256-jti", "ES256", true}} {
		b.Run(tc.name, func(b *testing.B) {
			// Every op uses a jti of its own, more than a client's default
			// budget of live jtis.
			srv := apitest.Start(b, apitest.Options{MaxJTIsPerClient: 1 << 30})
			e := &env{Server: srv, token: srv.ManagementToken(b, "default")}
			c := e.createAPIClient(b, "bench-bot", e.adminRole(b, "admin"))
			kf := e.generateKey(b, c.UserID, tc.alg)
			_, key := parsePrivatePEM(b, kf.Key)
			assertions := make([]string, 1)
			if tc.jti {
				assertions = make([]string, b.N)
			}
			for i := range assertions {
				claims := map[string]any{"iss": c.UserID, "sub": c.UserID, "aud": srv.URL + "/oidc",
					"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
				if tc.jti {
					claims["jti"] = strconv.Itoa(i)
				}
				assertions[i] = signAssertion(b, key.(crypto.Signer), jose.SignatureAlgorithm(tc.alg), kf.KeyID, claims)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					a := assertions[0]
					if tc.jti {
						a = assertions[next.Add(1)-1]
					}
					form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {a}, "resource": {mgmtResource}, "scope": {"all"}}
					req := httptest.NewRequest("POST", "/oidc/token", strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					serve(b, srv.Handler, req, http.StatusOK)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
