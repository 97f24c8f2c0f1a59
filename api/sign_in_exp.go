package api

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idbolt/idbolt/store"
)

// GET and PATCH /api/sign-in-exp serve Logto's sign-in experience document.
// idbolt hosts no sign-in page, so the document is stored and given back
// as it is set; two parts act: passwordExpiration, the policy that
// PATCH /api/users/{userId}/password/expiration needs, and
// forgotPasswordMethods, which the policy requires to have a connector.
// A PATCH is checked against Logto's schema at the top level (each field's
// JSON type, enums, URLs) and fully for those two.

// signInExpResponse is the sign-in experience as Logto answers it, in
// Logto's field order. Fields idbolt only stores are their JSON as set.
type signInExpResponse struct {
	TenantID                     string                 `json:"tenantId"`
	ID                           string                 `json:"id"`
	Color                        json.RawMessage        `json:"color" openapi:"object"`
	Branding                     json.RawMessage        `json:"branding" openapi:"object"`
	HideLogtoBranding            bool                   `json:"hideLogtoBranding"`
	LanguageInfo                 json.RawMessage        `json:"languageInfo" openapi:"object"`
	TermsOfUseURL                *string                `json:"termsOfUseUrl"`
	PrivacyPolicyURL             *string                `json:"privacyPolicyUrl"`
	AgreeToTermsPolicy           string                 `json:"agreeToTermsPolicy"`
	SignIn                       json.RawMessage        `json:"signIn" openapi:"object"`
	SignUp                       json.RawMessage        `json:"signUp" openapi:"object"`
	SocialSignIn                 json.RawMessage        `json:"socialSignIn" openapi:"object"`
	SocialSignInConnectorTargets []string               `json:"socialSignInConnectorTargets"`
	SignInMode                   string                 `json:"signInMode"`
	CustomCSS                    *string                `json:"customCss"`
	CustomContent                json.RawMessage        `json:"customContent" openapi:"object"`
	CustomUIAssets               json.RawMessage        `json:"customUiAssets"`
	CustomUICsp                  json.RawMessage        `json:"customUiCsp" openapi:"object"`
	PasswordPolicy               json.RawMessage        `json:"passwordPolicy" openapi:"object"`
	MFA                          json.RawMessage        `json:"mfa" openapi:"object"`
	AdaptiveMFA                  json.RawMessage        `json:"adaptiveMfa" openapi:"object"`
	SingleSignOnEnabled          bool                   `json:"singleSignOnEnabled"`
	SupportEmail                 *string                `json:"supportEmail"`
	SupportWebsiteURL            *string                `json:"supportWebsiteUrl"`
	UnknownSessionRedirectURL    *string                `json:"unknownSessionRedirectUrl"`
	CaptchaPolicy                json.RawMessage        `json:"captchaPolicy" openapi:"object"`
	SentinelPolicy               json.RawMessage        `json:"sentinelPolicy" openapi:"object"`
	EmailBlocklistPolicy         json.RawMessage        `json:"emailBlocklistPolicy" openapi:"object"`
	VerificationCodePolicy       json.RawMessage        `json:"verificationCodePolicy" openapi:"object"`
	ForgotPasswordMethods        *[]string              `json:"forgotPasswordMethods"`
	PasskeySignIn                json.RawMessage        `json:"passkeySignIn" openapi:"object"`
	SignUpProfileFields          json.RawMessage        `json:"signUpProfileFields"`
	PasswordExpiration           passwordExpirationJSON `json:"passwordExpiration"`
	UsernamePolicy               json.RawMessage        `json:"usernamePolicy" openapi:"object"`
}

// passwordExpirationJSON is Logto's passwordExpiration: {} until set,
// {"enabled":false} when off, and the period and enabledAt when on.
type passwordExpirationJSON struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	ValidPeriodDays *int64 `json:"validPeriodDays,omitempty"`
	EnabledAt       *int64 `json:"enabledAt,omitempty"`
}

// defaultSignInExp is the document of a Logto tenant nobody has changed:
// the seed of a self-hosted Logto's default tenant (createDefaultSignInExperience,
// darkPrimaryColor being its generateDarkColor of the primary color) with
// the table's column defaults for what the seed leaves out.
const defaultSignInExp = `{
	"color": {"primaryColor": "#6139F6", "isDarkModeEnabled": false, "darkPrimaryColor": "#8768F8"},
	"branding": {"logoUrl": "https://logto.io/logo.svg", "darkLogoUrl": "https://logto.io/logo-dark.svg"},
	"hideLogtoBranding": false,
	"languageInfo": {"autoDetect": true, "fallbackLanguage": "en"},
	"termsOfUseUrl": null, "privacyPolicyUrl": null, "agreeToTermsPolicy": "Automatic",
	"signIn": {"methods": [{"identifier": "username", "password": true, "verificationCode": false, "isPasswordPrimary": true}]},
	"signUp": {"identifiers": ["username"], "password": true, "verify": false},
	"socialSignIn": {}, "socialSignInConnectorTargets": [], "signInMode": "SignInAndRegister",
	"customCss": null, "customContent": {}, "customUiAssets": null, "customUiCsp": {},
	"passwordPolicy": {}, "mfa": {"factors": [], "policy": "UserControlled"}, "adaptiveMfa": {},
	"singleSignOnEnabled": false, "supportEmail": null, "supportWebsiteUrl": null, "unknownSessionRedirectUrl": null,
	"captchaPolicy": {}, "sentinelPolicy": {}, "emailBlocklistPolicy": {}, "verificationCodePolicy": {},
	"passkeySignIn": {}, "signUpProfileFields": null,
	"usernamePolicy": {"caseSensitive": true, "minLength": 1, "maxLength": 128,
		"allowedChars": {"lowercase": true, "uppercase": true, "numbers": true, "underscore": true}}
}`

// toSignInExpResponse lays the stored fields of sie over Logto's default.
func toSignInExpResponse(tenant string, sie *store.SignInExperience) (*signInExpResponse, error) {
	out := &signInExpResponse{TenantID: tenant, ID: "default"}
	if err := json.Unmarshal([]byte(defaultSignInExp), out); err != nil {
		return nil, err
	}
	if len(sie.Fields) > 0 {
		// Each stored field passed its check, so it decodes into its
		// field of the response.
		data, err := json.Marshal(sie.Fields)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, out); err != nil {
			return nil, err
		}
	}
	methods := sie.ForgotPasswordMethods // nil: null
	out.ForgotPasswordMethods = &methods
	if pe := sie.PasswordExpiration; pe.Set {
		enabled := pe.Enabled
		out.PasswordExpiration.Enabled = &enabled
		if pe.Enabled {
			out.PasswordExpiration.ValidPeriodDays, out.PasswordExpiration.EnabledAt = &pe.ValidPeriodDays, &pe.EnabledAt
		}
	}
	return out, nil
}

func (s *Server) handleSignInExpGet(w http.ResponseWriter, r *request) error {
	sie, err := s.store.FindSignInExperience(r.Context(), r.tenant)
	if err != nil {
		return err
	}
	return s.writeSignInExp(w, r, sie)
}

func (s *Server) handleSignInExpUpdate(w http.ResponseWriter, r *request) error {
	var body map[string]json.RawMessage
	if err := decodeJSON(w, r, &body); err != nil {
		return err
	}
	in, err := decodeSignInExpUpdate(body)
	if err != nil {
		return err
	}
	sie, err := s.store.UpdateSignInExperience(r.Context(), r.tenant, in)
	if err != nil {
		return err
	}
	return s.writeSignInExp(w, r, sie)
}

func (s *Server) writeSignInExp(w http.ResponseWriter, r *request, sie *store.SignInExperience) error {
	out, err := toSignInExpResponse(r.tenant, sie)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// decodeSignInExpUpdate checks a PATCH body against Logto's schema. As
// Logto's guard, it drops fields it does not know (and id, tenantId and
// passwordExpiration's enabledAt, which only the server sets).
func decodeSignInExpUpdate(body map[string]json.RawMessage) (store.SignInExperienceUpdate, error) {
	var in store.SignInExperienceUpdate
	// In name order, so that a body with several errors always gets the same one.
	for _, name := range slices.Sorted(maps.Keys(body)) {
		v := body[name]
		switch name {
		case "passwordExpiration":
			p, err := decodePasswordExpiration(v)
			if err != nil {
				return in, err
			}
			in.PasswordExpiration = p
			continue
		case "forgotPasswordMethods":
			var methods []string
			if err := json.Unmarshal(v, &methods); err != nil {
				return in, fieldErr(name, "must be null or an array of EmailVerificationCode and PhoneVerificationCode")
			}
			for _, m := range methods {
				if m != store.ForgotPasswordByEmail && m != store.ForgotPasswordByPhone {
					return in, fieldErr(name, "must be null or an array of EmailVerificationCode and PhoneVerificationCode")
				}
			}
			in.ForgotPasswordMethods = &methods
			continue
		}
		check, known := signInExpChecks[name]
		if !known {
			continue
		}
		if err := check(v); err != nil {
			return in, fieldErr(name, err.Error())
		}
		if name == "hideLogtoBranding" && string(v) == "true" {
			// Logto's answer outside its cloud.
			return in, &store.Error{Code: store.EINVALID, Detail: "request.invalid_input",
				Message: "Hide Logto branding is not supported in this environment."}
		}
		if name == "socialSignInConnectorTargets" {
			// Logto keeps only the targets of its social connectors, and
			// idbolt has none.
			v = json.RawMessage("[]")
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return in, fieldErr(name, "must be valid JSON")
		}
		if in.Fields == nil {
			in.Fields = map[string]json.RawMessage{}
		}
		in.Fields[name] = compact.Bytes()
	}
	return in, nil
}

// maxSafeInteger is JavaScript's largest exact integer: Logto's bound on a
// number, in practice.
const maxSafeInteger = 1<<53 - 1

// decodePasswordExpiration checks passwordExpiration as Logto's guard: a
// policy turned on needs an integer validPeriodDays of at least 1; one
// that is off (or does not say) keeps nothing else.
func decodePasswordExpiration(v json.RawMessage) (*store.PasswordExpirationUpdate, error) {
	const field = "passwordExpiration"
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil || obj == nil {
		return nil, fieldErr(field, "must be an object")
	}
	p := &store.PasswordExpirationUpdate{}
	raw, ok := obj["enabled"]
	if !ok {
		return p, nil
	}
	var enabled bool
	if err := json.Unmarshal(raw, &enabled); err != nil || string(raw) == "null" {
		return nil, fieldErr(field+".enabled", "must be a boolean")
	}
	p.Enabled = &enabled
	if !enabled {
		return p, nil
	}
	days, ok := jsonInteger(obj["validPeriodDays"])
	if !ok || days < 1 {
		return nil, fieldErr(field+".validPeriodDays", "must be an integer of at least 1 when enabled is true")
	}
	if at, present := obj["enabledAt"]; present {
		if n, ok := jsonInteger(at); !ok || n < 0 {
			return nil, fieldErr(field+".enabledAt", "must be a non-negative integer")
		}
	}
	p.ValidPeriodDays = days
	return p, nil
}

// jsonInteger returns the integer v holds (30 and 30.0 alike, as a
// JavaScript number), up to maxSafeInteger.
func jsonInteger(v json.RawMessage) (int64, bool) {
	var f float64
	if v == nil || json.Unmarshal(v, &f) != nil || string(v) == "null" {
		return 0, false
	}
	if f != float64(int64(f)) || f > maxSafeInteger || f < -maxSafeInteger {
		return 0, false
	}
	return int64(f), true
}

// signInExpChecks checks each field idbolt only stores: its JSON type, and
// enums and URLs where Logto's guard has them.
var signInExpChecks = map[string]func(json.RawMessage) error{
	"color":                        jsonObject,
	"branding":                     jsonObject,
	"hideLogtoBranding":            jsonBool,
	"languageInfo":                 jsonObject,
	"termsOfUseUrl":                jsonURLOrEmpty,
	"privacyPolicyUrl":             jsonURLOrEmpty,
	"agreeToTermsPolicy":           jsonEnum("Automatic", "ManualRegistrationOnly", "Manual"),
	"signIn":                       jsonObject,
	"signUp":                       jsonObject,
	"socialSignIn":                 jsonObject,
	"socialSignInConnectorTargets": jsonStrings,
	"signInMode":                   jsonEnum("SignIn", "Register", "SignInAndRegister"),
	"customCss":                    jsonStringOrNull,
	"customContent":                jsonObject,
	"customUiAssets":               jsonObjectOrNull,
	"customUiCsp":                  jsonObject,
	"passwordPolicy":               jsonObject,
	"mfa":                          jsonObject,
	"adaptiveMfa":                  jsonObject,
	"singleSignOnEnabled":          jsonBool,
	"supportEmail":                 jsonStringOrNull,
	"supportWebsiteUrl":            jsonURLOrEmpty,
	"unknownSessionRedirectUrl":    jsonURLOrEmpty,
	"captchaPolicy":                jsonObject,
	"sentinelPolicy":               jsonObject,
	"emailBlocklistPolicy":         jsonObject,
	"verificationCodePolicy":       jsonObject,
	"passkeySignIn":                jsonObject,
	"signUpProfileFields":          jsonArrayOrNull,
	"usernamePolicy":               jsonObject,
}

// errJSONType is a field of the wrong JSON type; its text follows the field name.
type errJSONType string

func (e errJSONType) Error() string { return string(e) }

func jsonObject(v json.RawMessage) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return errJSONType("must be an object")
	}
	return nil
}

func jsonObjectOrNull(v json.RawMessage) error {
	if string(v) == "null" {
		return nil
	}
	return jsonObject(v)
}

func jsonArrayOrNull(v json.RawMessage) error {
	var a []json.RawMessage
	if json.Unmarshal(v, &a) != nil {
		return errJSONType("must be an array or null")
	}
	return nil
}

func jsonBool(v json.RawMessage) error {
	var b bool
	if json.Unmarshal(v, &b) != nil || string(v) == "null" {
		return errJSONType("must be a boolean")
	}
	return nil
}

func jsonStrings(v json.RawMessage) error {
	var a []string
	if json.Unmarshal(v, &a) != nil || a == nil {
		return errJSONType("must be an array of strings")
	}
	return nil
}

func jsonStringOrNull(v json.RawMessage) error {
	var s *string
	if json.Unmarshal(v, &s) != nil {
		return errJSONType("must be a string or null")
	}
	return nil
}

// jsonURLOrEmpty accepts an absolute URL, "" or null, as Logto's
// string().url().nullable().or(literal(”)).
func jsonURLOrEmpty(v json.RawMessage) error {
	var s *string
	if json.Unmarshal(v, &s) != nil {
		return errJSONType("must be a URL, \"\" or null")
	}
	if s == nil || *s == "" {
		return nil
	}
	if u, err := url.Parse(*s); err != nil || u.Scheme == "" || strings.ContainsAny(*s, " \t\r\n") {
		return errJSONType("must be a URL, \"\" or null")
	}
	return nil
}

func jsonEnum(values ...string) func(json.RawMessage) error {
	return func(v json.RawMessage) error {
		var s string
		if json.Unmarshal(v, &s) != nil || !slices.Contains(values, s) {
			return errJSONType("must be one of " + strings.Join(values, ", "))
		}
		return nil
	}
}
