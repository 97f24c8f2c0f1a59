package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// signInExp is the part of the sign-in experience the tests look at.
type signInExp struct {
	TenantID              string          `json:"tenantId"`
	ID                    string          `json:"id"`
	SignInMode            string          `json:"signInMode"`
	Color                 map[string]any  `json:"color"`
	ForgotPasswordMethods *[]string       `json:"forgotPasswordMethods"`
	PasswordExpiration    json.RawMessage `json:"passwordExpiration"`
}

// passwordExpiration decodes the policy of s.
func (s signInExp) passwordExpiration(t testing.TB) (enabled *bool, days, enabledAt *int64) {
	t.Helper()
	var pe struct {
		Enabled         *bool  `json:"enabled"`
		ValidPeriodDays *int64 `json:"validPeriodDays"`
		EnabledAt       *int64 `json:"enabledAt"`
	}
	if err := json.Unmarshal(s.PasswordExpiration, &pe); err != nil {
		t.Fatalf("passwordExpiration %s: %v", s.PasswordExpiration, err)
	}
	return pe.Enabled, pe.ValidPeriodDays, pe.EnabledAt
}

func (e *env) patchSignInExp(t testing.TB, body any) signInExp {
	t.Helper()
	var out signInExp
	e.do(t, "PATCH", "/api/sign-in-exp", body, http.StatusOK, &out)
	return out
}

// enablePasswordExpiration gives the tenant an email connector and turns
// the policy on with days.
func (e *env) enablePasswordExpiration(t testing.TB, days int) (connectorID string) {
	t.Helper()
	c := e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": "https://mail.example.com/send"}})
	e.patchSignInExp(t, map[string]any{"forgotPasswordMethods": []string{"EmailVerificationCode"},
		"passwordExpiration": map[string]any{"enabled": true, "validPeriodDays": days}})
	return c.ID
}

func TestSignInExp_Default(t *testing.T) {
	e := newEnv(t)
	r := e.do(t, "GET", "/api/sign-in-exp", nil, http.StatusOK, nil)
	var fields map[string]json.RawMessage
	r.JSON(t, &fields)
	// Every top-level field of Logto's answer, in Logto's column order.
	want := []string{"adaptiveMfa", "agreeToTermsPolicy", "branding", "captchaPolicy", "color", "customContent", "customCss",
		"customUiAssets", "customUiCsp", "emailBlocklistPolicy", "forgotPasswordMethods", "hideLogtoBranding", "id",
		"languageInfo", "mfa", "passkeySignIn", "passwordExpiration", "passwordPolicy", "privacyPolicyUrl", "sentinelPolicy",
		"signIn", "signInMode", "signUp", "signUpProfileFields", "singleSignOnEnabled", "socialSignIn",
		"socialSignInConnectorTargets", "supportEmail", "supportWebsiteUrl", "tenantId", "termsOfUseUrl",
		"unknownSessionRedirectUrl", "usernamePolicy", "verificationCodePolicy"}
	var got []string
	for k := range fields {
		got = append(got, k)
	}
	slices.Sort(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("fields %v\nwant %v", got, want)
	}
	var s signInExp
	r.JSON(t, &s)
	if s.TenantID != "default" || s.ID != "default" || s.SignInMode != "SignInAndRegister" || s.Color["darkPrimaryColor"] != "#8768F8" {
		t.Errorf("default document: %s", r.Body)
	}
	if string(s.PasswordExpiration) != "{}" || s.ForgotPasswordMethods == nil || len(*s.ForgotPasswordMethods) != 0 {
		t.Errorf("passwordExpiration %s, forgotPasswordMethods %v: want Logto's defaults {} and []", s.PasswordExpiration, s.ForgotPasswordMethods)
	}
}

func TestSignInExp_PatchErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"enabled without period", `{"passwordExpiration":{"enabled":true}}`, 400, "guard.invalid_input"},
		{"period zero", `{"passwordExpiration":{"enabled":true,"validPeriodDays":0}}`, 400, "guard.invalid_input"},
		{"period fraction", `{"passwordExpiration":{"enabled":true,"validPeriodDays":1.5}}`, 400, "guard.invalid_input"},
		{"period string", `{"passwordExpiration":{"enabled":true,"validPeriodDays":"30"}}`, 400, "guard.invalid_input"},
		{"enabledAt negative", `{"passwordExpiration":{"enabled":true,"validPeriodDays":3,"enabledAt":-1}}`, 400, "guard.invalid_input"},
		{"enabled not a boolean", `{"passwordExpiration":{"enabled":"yes"}}`, 400, "guard.invalid_input"},
		{"policy not an object", `{"passwordExpiration":true}`, 400, "guard.invalid_input"},
		{"unknown method", `{"forgotPasswordMethods":["MagicLink"]}`, 400, "guard.invalid_input"},
		{"method without connector", `{"forgotPasswordMethods":["EmailVerificationCode"]}`, 400, "sign_in_experiences.forgot_password_method_requires_connector"},
		{"policy without forgot password", `{"passwordExpiration":{"enabled":true,"validPeriodDays":30}}`, 422, "sign_in_experiences.password_expiration_requires_forgot_password"},
		{"enum", `{"signInMode":"Anything"}`, 400, "guard.invalid_input"},
		{"object field", `{"color":"red"}`, 400, "guard.invalid_input"},
		{"url field", `{"termsOfUseUrl":"not a url"}`, 400, "guard.invalid_input"},
		{"boolean field", `{"singleSignOnEnabled":null}`, 400, "guard.invalid_input"},
		{"branding hidden outside Logto's cloud", `{"hideLogtoBranding":true}`, 400, "request.invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "PATCH", e.URL+"/api/sign-in-exp", e.token, json.RawMessage(tt.body))
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q: %s", r.Status, r.Code(), tt.wantStatus, tt.wantCode, r.Body)
			}
		})
	}
	// None of them changed anything.
	var s signInExp
	e.do(t, "GET", "/api/sign-in-exp", nil, http.StatusOK, &s)
	if string(s.PasswordExpiration) != "{}" || s.SignInMode != "SignInAndRegister" || len(*s.ForgotPasswordMethods) != 0 {
		t.Errorf("a refused PATCH changed the document: %+v", s)
	}
}

func TestSignInExp_PatchStoresFields(t *testing.T) {
	e := newEnv(t)
	s := e.patchSignInExp(t, map[string]any{"signInMode": "SignIn", "color": map[string]any{"primaryColor": "#000000"},
		"notALogtoField": 1, "id": "other", "tenantId": "other", "passwordExpiration": map[string]any{"validPeriodDays": 3}})
	if string(s.PasswordExpiration) != "{}" {
		t.Errorf("passwordExpiration %s after a PATCH without enabled, want {} as Logto keeps it", s.PasswordExpiration)
	}
	if s.SignInMode != "SignIn" || s.Color["primaryColor"] != "#000000" || s.ID != "default" || s.TenantID != "default" {
		t.Errorf("PATCH answer: %+v", s)
	}
	r := e.do(t, "GET", "/api/sign-in-exp", nil, http.StatusOK, nil)
	var fields map[string]any
	r.JSON(t, &fields)
	if fields["signInMode"] != "SignIn" || fields["notALogtoField"] != nil {
		t.Errorf("GET after PATCH: %s", r.Body)
	}
	// A later PATCH leaves what it does not name.
	e.patchSignInExp(t, map[string]any{"customCss": "body{}"})
	e.do(t, "GET", "/api/sign-in-exp", nil, http.StatusOK, &s)
	if s.SignInMode != "SignIn" {
		t.Errorf("signInMode %q after a PATCH of customCss", s.SignInMode)
	}
}

func TestSignInExp_PasswordExpirationPolicy(t *testing.T) {
	e := newEnv(t)
	before := time.Now().UnixMilli()
	connectorID := e.enablePasswordExpiration(t, 90)
	var s signInExp
	e.do(t, "GET", "/api/sign-in-exp", nil, http.StatusOK, &s)
	enabled, days, enabledAt := s.passwordExpiration(t)
	if enabled == nil || !*enabled || days == nil || *days != 90 || enabledAt == nil || *enabledAt < before {
		t.Fatalf("policy %s, want enabled for 90 days from now", s.PasswordExpiration)
	}
	first := *enabledAt

	// A client's enabledAt is ignored, and a new period keeps enabledAt.
	s = e.patchSignInExp(t, map[string]any{"passwordExpiration": map[string]any{"enabled": true, "validPeriodDays": 30, "enabledAt": 5}})
	if _, days, at := s.passwordExpiration(t); *days != 30 || *at != first {
		t.Errorf("policy %s, want 30 days from %d", s.PasswordExpiration, first)
	}

	// While the policy is on, every PATCH needs a way to reset a password.
	r := call(t, "PATCH", e.URL+"/api/sign-in-exp", e.token, map[string]any{"forgotPasswordMethods": []string{}})
	if r.Status != 422 || r.Code() != "sign_in_experiences.password_expiration_requires_forgot_password" {
		t.Errorf("no forgot password method while on: %d %s", r.Status, r.Body)
	}
	// null means any method with a connector.
	s = e.patchSignInExp(t, map[string]any{"forgotPasswordMethods": nil})
	if s.ForgotPasswordMethods != nil {
		t.Errorf("forgotPasswordMethods %v, want null", *s.ForgotPasswordMethods)
	}

	// The last connector that can reset a password stays while the policy is on.
	r = call(t, "DELETE", e.URL+"/api/connectors/"+connectorID, e.token, nil)
	if r.Status != 422 || r.Code() != "sign_in_experiences.password_expiration_requires_forgot_password" {
		t.Errorf("delete the last email connector while on: %d %s", r.Status, r.Body)
	}

	s = e.patchSignInExp(t, map[string]any{"passwordExpiration": map[string]any{"enabled": false, "validPeriodDays": 30}})
	if string(s.PasswordExpiration) != `{"enabled":false}` {
		t.Errorf("policy turned off: %s", s.PasswordExpiration)
	}
	e.do(t, "DELETE", "/api/connectors/"+connectorID, nil, http.StatusNoContent, nil)
}

func TestUsers_PasswordExpiration(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "alice", "password": "correct horse battery"})
	path := "/api/users/" + u.ID + "/password/expiration"

	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantCode   string
	}{
		{"policy off", path, map[string]any{"isExpired": true}, 400, "sign_in_experiences.password_expiration_not_enabled"},
		{"unknown user", "/api/users/nosuchuser12/password/expiration", map[string]any{"isExpired": true}, 404, "entity.not_found"},
		{"no isExpired", path, map[string]any{}, 400, "guard.invalid_input"},
		{"isExpired not a boolean", path, map[string]any{"isExpired": "yes"}, 400, "guard.invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "PATCH", e.URL+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q: %s", r.Status, r.Code(), tt.wantStatus, tt.wantCode, r.Body)
			}
		})
	}

	// Clearing the mark needs no policy, as in Logto.
	var got user
	e.do(t, "PATCH", path, map[string]any{"isExpired": false}, http.StatusOK, &got)
	if got.ID != u.ID {
		t.Errorf("answer is user %q, want %q", got.ID, u.ID)
	}

	e.enablePasswordExpiration(t, 30)
	e.do(t, "PATCH", path, map[string]any{"isExpired": true}, http.StatusOK, &got)
	if got.ID != u.ID || got.Username == nil || *got.Username != "alice" {
		t.Errorf("answer: %+v", got)
	}

	// idbolt has no sign-in flow: password/verify is where the policy acts,
	// with the answer Logto's sign-in gives an expired password, and only
	// to whoever knows the password.
	verify := func(password string) response {
		return call(t, "POST", e.URL+"/api/users/"+u.ID+"/password/verify", e.token, map[string]any{"password": password})
	}
	if r := verify("correct horse battery"); r.Status != 422 || r.Code() != "password.expired" {
		t.Errorf("right password, expired: %d %s", r.Status, r.Body)
	}
	if r := verify("wrong"); r.Status != 422 || r.Code() != "session.invalid_credentials" {
		t.Errorf("wrong password of an expired one: %d %s", r.Status, r.Body)
	}
	e.do(t, "PATCH", path, map[string]any{"isExpired": false}, http.StatusOK, nil)
	e.do(t, "POST", "/api/users/"+u.ID+"/password/verify", map[string]any{"password": "correct horse battery"}, http.StatusNoContent, nil)
	e.do(t, "PATCH", path, map[string]any{"isExpired": true}, http.StatusOK, nil)
	e.do(t, "PATCH", "/api/users/"+u.ID+"/password", map[string]any{"password": "a new battery staple"}, http.StatusOK, nil)
	e.do(t, "POST", "/api/users/"+u.ID+"/password/verify", map[string]any{"password": "a new battery staple"}, http.StatusNoContent, nil)

	var logs []struct {
		Key     string         `json:"key"`
		Payload map[string]any `json:"payload"`
	}
	e.do(t, "GET", "/api/logs?logKey=Management.User.UpdatePasswordExpiration", nil, http.StatusOK, &logs)
	if len(logs) != 4 {
		t.Errorf("%d audit entries of the route, want 4 (clear, mark, clear, mark): %+v", len(logs), logs)
	}
}
