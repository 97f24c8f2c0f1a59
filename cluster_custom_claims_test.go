package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestClusterTokens_CustomClaimsOnEveryNode: a custom claims script stored
// through a follower (forwarded to the leader, replicated) is run by every
// node for the tokens it issues, and its deletion stops it everywhere.
func TestClusterTokens_CustomClaimsOnEveryNode(t *testing.T) {
	ids := []string{"n1", "n2", "n3"}
	c := newTestCluster(t, ids)
	leader := c.leader(ids, 10*time.Second)
	via := c.nodes[c.followers(leader)[0]].url
	admin := token(t, via, testClientID, testSecret)
	const indicator = "https://billing.example.com"
	if st, body := do(t, "POST", via+"/api/resources", admin, `{"name":"billing","indicator":"`+indicator+`"}`); st != http.StatusCreated {
		t.Fatalf("create resource: %d %s", st, body)
	}
	st, body := do(t, "POST", via+"/api/applications", admin, `{"name":"worker","type":"MachineToMachine"}`)
	var app struct{ ID, Secret string }
	if st != http.StatusOK || json.Unmarshal([]byte(body), &app) != nil {
		t.Fatalf("create app: %d %s", st, body)
	}
	script := `const getCustomJwtClaims = async ({ context, environmentVariables }) => ({ tier: environmentVariables.TIER, app: context.application.id });`
	put, _ := json.Marshal(map[string]any{"script": script, "environmentVariables": map[string]string{"TIER": "gold"}})
	if st, body := do(t, "PUT", via+"/api/configs/jwt-customizer/client-credentials", admin, string(put)); st != http.StatusCreated {
		t.Fatalf("PUT through a follower: %d %s", st, body)
	}
	// claimsFrom waits until node base issues a token whose claims pass ok.
	claimsFrom := func(base string, ok func(map[string]any) bool) {
		t.Helper()
		var last string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			claims, err := customClaimsToken(base, app.ID, app.Secret, indicator)
			if err == nil && ok(claims) {
				return
			}
			last = fmt.Sprintf("%v %v", claims, err)
		}
		t.Fatalf("%s: %s", base, last)
	}
	for _, id := range ids {
		claimsFrom(c.nodes[id].url, func(c map[string]any) bool { return c["tier"] == "gold" && c["app"] == app.ID })
	}
	if st, body := do(t, "DELETE", via+"/api/configs/jwt-customizer/client-credentials", admin, ""); st != http.StatusNoContent {
		t.Fatalf("DELETE through a follower: %d %s", st, body)
	}
	for _, id := range ids {
		claimsFrom(c.nodes[id].url, func(c map[string]any) bool { return c["sub"] == app.ID && c["tier"] == nil })
	}
}

// customClaimsToken gets a client credentials token for resource from base
// and returns its claims.
func customClaimsToken(base, id, secret, resource string) (map[string]any, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {resource}}
	req, _ := http.NewRequest("POST", base+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &tr) != nil {
		return nil, fmt.Errorf("%d %s", resp.StatusCode, data)
	}
	parts := strings.Split(tr.AccessToken, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT: %s", data)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}
