package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store"
)

// BenchmarkToken_CustomClaims compares client credentials tokens of a
// tenant with a small custom claims script against those of a tenant
// without one, alternating one of each per iteration so that both see the
// same machine; ratio-% is the rate with the script as a share of the rate
// without (goal: at least 50).
func BenchmarkToken_CustomClaims(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	type client struct {
		path, id, secret string
		spent            time.Duration
	}
	var clients []*client
	for _, tenant := range []string{"plain", "custom"} {
		createTenant(b, e, tenant)
		if _, err := e.DB.CreateResource(ctx, tenant, store.ResourceCreate{Name: "billing", Indicator: billingIndicator}); err != nil {
			b.Fatal(err)
		}
		app, secret, err := e.DB.CreateApplication(ctx, tenant, store.ApplicationCreate{Name: "worker", Type: store.AppMachineToMachine})
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, &client{path: "/t/" + tenant + "/oidc/token", id: app.ID, secret: secret})
	}
	script := `const getCustomJwtClaims = async ({ token, context }) => ({ tenantTier: 'gold', appId: context.application.id });`
	if _, err := e.DB.PutJWTCustomizer(ctx, "custom", &store.JWTCustomizer{TokenType: store.JWTClientCredentials, Script: script}); err != nil {
		b.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {billingIndicator}}.Encode()
	request := func(c *client) *http.Request {
		req := httptest.NewRequest("POST", c.path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.id, c.secret)
		return req
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, request(clients[1]))
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || tokenClaims(b, answer.AccessToken)["tenantTier"] != "gold" {
		b.Fatalf("the custom tenant's token has no custom claims: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range clients {
			start := time.Now()
			serve(b, e.Handler, request(c), http.StatusOK)
			c.spent += time.Since(start)
		}
	}
	plain, custom := clients[0].spent, clients[1].spent
	b.ReportMetric(float64(b.N)/plain.Seconds(), "plain-tokens/s")
	b.ReportMetric(float64(b.N)/custom.Seconds(), "custom-tokens/s")
	b.ReportMetric(100*plain.Seconds()/custom.Seconds(), "ratio-%")
}
