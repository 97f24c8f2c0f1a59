package api_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// oneTimeToken is a one-time token on the wire.
type oneTimeToken struct {
	TenantID string `json:"tenantId"`
	ID       string `json:"id"`
	Email    string `json:"email"`
	Token    *string
	Context  struct {
		JITOrganizationIDs []string `json:"jitOrganizationIds"`
		InteractionEvent   string   `json:"interactionEvent"`
	}
	Status    string `json:"status"`
	CreatedAt int64  `json:"createdAt"`
	ExpiresAt int64  `json:"expiresAt"`
}

// createOTT creates a one-time token with body and returns it.
func (e *env) createOTT(t testing.TB, body map[string]any) oneTimeToken {
	t.Helper()
	var tok oneTimeToken
	r := e.do(t, "POST", "/api/one-time-tokens", body, http.StatusCreated, &tok)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the creation's Cache-Control is %q, want no-store", r.Header.Get("Cache-Control"))
	}
	if tok.Token == nil {
		t.Fatalf("the creation shows no token: %s", r.Body)
	}
	return tok
}

// verifyOTT posts a verification of token for email.
func (e *env) verifyOTT(t testing.TB, token, email string) response {
	t.Helper()
	return call(t, "POST", e.URL+"/api/one-time-tokens/verify", e.token, map[string]any{"token": token, "email": email})
}

// TestOneTimeTokens_Lifecycle follows Logto's integration tests of the
// one-time token API: the default and a custom lifetime, the context, a
// read without the value, verification once and the refusals in Logto's
// order, revocation, no reactivation, expiry on a pinned clock (seen by
// reads, lists and verification), and deletion.
func TestOneTimeTokens_Lifecycle(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC).UnixMilli())
	e := newEnv(t, apitest.Options{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	const email = "ada@example.com"

	tok := e.createOTT(t, map[string]any{"email": email})
	if len(*tok.Token) != 32 || tok.Status != "active" || tok.Email != email || tok.TenantID != "default" ||
		tok.ExpiresAt-tok.CreatedAt != 600_000 || tok.CreatedAt != now.Load() || tok.Context.InteractionEvent != "" ||
		tok.Context.JITOrganizationIDs != nil {
		t.Errorf("created %+v", tok)
	}
	custom := e.createOTT(t, map[string]any{"email": email, "expiresIn": 30,
		"context": map[string]any{"jitOrganizationIds": []string{"org-1"}, "interactionEvent": "ForgotPassword"}})
	if custom.ExpiresAt-custom.CreatedAt != 30_000 || strings.Join(custom.Context.JITOrganizationIDs, ",") != "org-1" ||
		custom.Context.InteractionEvent != "ForgotPassword" || *custom.Token == *tok.Token {
		t.Errorf("created with a lifetime and a context %+v", custom)
	}

	// A read shows everything but the value, which is shown once.
	var got oneTimeToken
	r := e.do(t, "GET", "/api/one-time-tokens/"+tok.ID, nil, http.StatusOK, &got)
	if got.Token != nil || got.ID != tok.ID || got.Status != "active" || got.ExpiresAt != tok.ExpiresAt ||
		bytes.Contains(r.Body, []byte(*tok.Token)) {
		t.Errorf("read %s", r.Body)
	}
	wantError(t, call(t, "GET", e.URL+"/api/one-time-tokens/nosuch", e.token, nil), 404, "entity.not_exists_with_id")

	// Verification: the refusals in Logto's order, then once only.
	wantError(t, e.verifyOTT(t, "wrong-token", email), 404, "one_time_token.token_not_found")
	wantError(t, e.verifyOTT(t, *tok.Token, "eve@example.com"), 400, "one_time_token.email_mismatch")
	wantError(t, e.verifyOTT(t, *tok.Token, "ADA@example.com"), 400, "one_time_token.email_mismatch")
	var verified oneTimeToken
	r = e.verifyOTT(t, *tok.Token, email)
	r.JSON(t, &verified)
	if r.Status != http.StatusOK || verified.Status != "consumed" || verified.ID != tok.ID || verified.Token == nil ||
		*verified.Token != *tok.Token {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	wantError(t, e.verifyOTT(t, *tok.Token, email), 400, "one_time_token.token_consumed")

	// Revocation is final, and no token becomes active again.
	var revoked oneTimeToken
	e.do(t, "PUT", "/api/one-time-tokens/"+custom.ID+"/status", map[string]any{"status": "revoked"}, http.StatusOK, &revoked)
	if revoked.Status != "revoked" || revoked.Token != nil {
		t.Errorf("revoked %+v", revoked)
	}
	wantError(t, e.verifyOTT(t, *custom.Token, email), 400, "one_time_token.token_revoked")
	wantError(t, call(t, "PUT", e.URL+"/api/one-time-tokens/"+custom.ID+"/status", e.token, map[string]any{"status": "active"}),
		400, "one_time_token.cannot_reactivate_token")
	wantError(t, call(t, "PUT", e.URL+"/api/one-time-tokens/"+custom.ID+"/status", e.token, map[string]any{"status": "gone"}),
		400, "guard.invalid_input")
	wantError(t, call(t, "PUT", e.URL+"/api/one-time-tokens/nosuch/status", e.token, map[string]any{"status": "revoked"}),
		404, "entity.not_exists_with_id")

	// Expiry: past its lifetime a token reads as expired everywhere.
	short := e.createOTT(t, map[string]any{"email": email, "expiresIn": 1})
	now.Add(1000)
	wantError(t, e.verifyOTT(t, *short.Token, email), 400, "one_time_token.token_expired")
	e.do(t, "GET", "/api/one-time-tokens/"+short.ID, nil, http.StatusOK, &got)
	if got.Status != "expired" {
		t.Errorf("a token past its lifetime reads as %q", got.Status)
	}
	var list []oneTimeToken
	r = e.do(t, "GET", "/api/one-time-tokens?status=expired&page=1&page_size=10", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != short.ID || r.Header.Get("Total-Number") != "1" {
		t.Errorf("expired tokens: %s (Total-Number %s)", r.Body, r.Header.Get("Total-Number"))
	}

	// Lists: newest first, every row without paging parameters, filtered
	// by email and status.
	e.createOTT(t, map[string]any{"email": "bob@example.com"})
	r = e.do(t, "GET", "/api/one-time-tokens", nil, http.StatusOK, &list)
	if len(list) != 4 || list[3].ID != tok.ID || r.Header.Get("Total-Number") != "" || bytes.Contains(r.Body, []byte(`"token"`)) {
		t.Errorf("all tokens: %s", r.Body)
	}
	for query, want := range map[string]int{"email=bob@example.com": 1, "email=" + email: 3, "status=consumed": 1,
		"status=revoked": 1, "status=active": 1, "email=" + email + "&status=active": 0} {
		e.do(t, "GET", "/api/one-time-tokens?"+query, nil, http.StatusOK, &list)
		if len(list) != want {
			t.Errorf("?%s lists %d tokens, want %d", query, len(list), want)
		}
	}
	wantError(t, call(t, "GET", e.URL+"/api/one-time-tokens?status=used", e.token, nil), 400, "guard.invalid_input")

	// Deletion.
	e.do(t, "DELETE", "/api/one-time-tokens/"+tok.ID, nil, http.StatusNoContent, nil)
	wantError(t, call(t, "GET", e.URL+"/api/one-time-tokens/"+tok.ID, e.token, nil), 404, "entity.not_exists_with_id")
	wantError(t, e.verifyOTT(t, *tok.Token, email), 404, "one_time_token.token_not_found")
	wantError(t, call(t, "DELETE", e.URL+"/api/one-time-tokens/"+tok.ID, e.token, nil), 404, "entity.not_found")
}

// TestOneTimeTokens_BadInput: each malformed creation or verification is a
// 400 that makes nothing.
func TestOneTimeTokens_BadInput(t *testing.T) {
	e := newEnv(t)
	e.expectErrors(t, "POST", []errorCase{
		{"NoEmail", "/api/one-time-tokens", map[string]any{}, 400, "guard.invalid_input"},
		{"NotAnEmail", "/api/one-time-tokens", map[string]any{"email": "ada"}, 400, "guard.invalid_input"},
		{"EmailNotAString", "/api/one-time-tokens", map[string]any{"email": 7}, 400, "guard.invalid_input"},
		{"ZeroLifetime", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "expiresIn": 0}, 400, "guard.invalid_input"},
		{"NegativeLifetime", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "expiresIn": -5}, 400, "guard.invalid_input"},
		{"FractionalLifetime", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "expiresIn": 1.5}, 400, "guard.invalid_input"},
		{"LifetimeOverAYear", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "expiresIn": 366 * 24 * 3600}, 400, "guard.invalid_input"},
		{"UnknownEvent", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "context": map[string]any{"interactionEvent": "Pay"}}, 400, "guard.invalid_input"},
		{"EmptyOrgID", "/api/one-time-tokens", map[string]any{"email": "a@b.co", "context": map[string]any{"jitOrganizationIds": []string{""}}}, 400, "guard.invalid_input"},
		{"VerifyNoToken", "/api/one-time-tokens/verify", map[string]any{"email": "a@b.co"}, 400, "guard.invalid_input"},
		{"VerifyNoEmail", "/api/one-time-tokens/verify", map[string]any{"token": "x"}, 400, "guard.invalid_input"},
		{"VerifyEmptyToken", "/api/one-time-tokens/verify", map[string]any{"token": "", "email": "a@b.co"}, 400, "guard.invalid_input"},
	})
	var list []oneTimeToken
	if e.do(t, "GET", "/api/one-time-tokens", nil, http.StatusOK, &list); len(list) != 0 {
		t.Errorf("refused creations made %d tokens", len(list))
	}
	// Only a Management API token may use them.
	wantError(t, call(t, "POST", e.URL+"/api/one-time-tokens/verify", "", map[string]any{"token": "x", "email": "a@b.co"}),
		401, "auth.authorization_header_missing")
}

// TestOneTimeTokens_OneWinnerOfMany: of 32 concurrent verifications of a
// token exactly one succeeds; the others are told it was used.
func TestOneTimeTokens_OneWinnerOfMany(t *testing.T) {
	e := newEnv(t)
	tok := e.createOTT(t, map[string]any{"email": "ada@example.com"})
	var wins, consumed atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			switch r := e.verifyOTT(t, *tok.Token, "ada@example.com"); {
			case r.Status == http.StatusOK:
				wins.Add(1)
			case r.Status == 400 && r.Code() == "one_time_token.token_consumed":
				consumed.Add(1)
			default:
				t.Errorf("verify: %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || consumed.Load() != 31 {
		t.Errorf("%d verifications won and %d were told the token was used; want 1 and 31", wins.Load(), consumed.Load())
	}
}

// TestOneTimeTokens_HashedAndIsolated: the data file holds no token's
// value, and a token of one tenant is unknown to another.
func TestOneTimeTokens_HashedAndIsolated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	e := newEnv(t, apitest.Options{Path: path, Sync: true})
	tok := e.createOTT(t, map[string]any{"email": "ada@example.com"})
	c := createTenant(t, e, "acme")
	acme := apitest.Token(t, e.URL, "acme", c.Credentials.ClientID, c.Credentials.ClientSecret, store.ManagementIndicator("acme"), "all")
	r := call(t, "POST", e.URL+"/t/acme/api/one-time-tokens/verify", acme, map[string]any{"token": *tok.Token, "email": "ada@example.com"})
	wantError(t, r, 404, "one_time_token.token_not_found")
	wantError(t, call(t, "GET", e.URL+"/t/acme/api/one-time-tokens/"+tok.ID, acme, nil), 404, "entity.not_exists_with_id")
	data := e.closedFile(t, path)
	if bytes.Contains(data, []byte(*tok.Token)) {
		t.Error("the data file holds a one-time token's value")
	}
	if !bytes.Contains(data, []byte(tok.ID)) {
		t.Fatal("the data file does not hold the token's id: wrong file?")
	}
}

// closedFile checks the integrity of e's data file at path, closes the
// server and returns the file's bytes, for tests that a secret is not in it.
func (e *env) closedFile(t *testing.T, path string) []byte {
	t.Helper()
	if err := e.DB.CheckIntegrity(t.Context()); err != nil {
		t.Errorf("integrity: %v", err)
	}
	e.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
