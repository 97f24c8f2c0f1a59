package api

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/idbolt/idbolt/store"
)

func TestSignInExp_DecodePasswordExpiration(t *testing.T) {
	tests := []struct {
		in          string
		wantErr     bool
		wantEnabled string // "nil", "false" or "true"
		wantDays    int64
	}{
		{`{}`, false, "nil", 0},
		{`{"validPeriodDays":30}`, false, "nil", 0}, // no enabled: Logto's guard strips the period
		{`{"enabled":false}`, false, "false", 0},
		{`{"enabled":false,"validPeriodDays":"x"}`, false, "false", 0},
		{`{"enabled":true,"validPeriodDays":30}`, false, "true", 30},
		{`{"enabled":true,"validPeriodDays":30.0}`, false, "true", 30},
		{`{"enabled":true,"validPeriodDays":1,"enabledAt":0}`, false, "true", 1},
		{`{"enabled":true,"validPeriodDays":9007199254740991}`, false, "true", 9007199254740991},
		{`{"enabled":true,"validPeriodDays":9007199254740992}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":1e400}`, true, "", 0},
		{`{"enabled":true}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":0}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":-3}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":2.5}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":null}`, true, "", 0},
		{`{"enabled":true,"validPeriodDays":3,"enabledAt":1.5}`, true, "", 0},
		{`{"enabled":null}`, true, "", 0},
		{`{"enabled":1}`, true, "", 0},
		{`null`, true, "", 0},
		{`[]`, true, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := decodePasswordExpiration(json.RawMessage(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if store.ErrorCode(err) != store.EINVALID {
					t.Errorf("error %v, want EINVALID", err)
				}
				return
			}
			enabled := "nil"
			if p.Enabled != nil {
				enabled = fmt.Sprint(*p.Enabled)
			}
			if enabled != tt.wantEnabled || p.ValidPeriodDays != tt.wantDays {
				t.Errorf("enabled %s days %d, want %s %d", enabled, p.ValidPeriodDays, tt.wantEnabled, tt.wantDays)
			}
		})
	}
}

func TestSignInExp_URLFields(t *testing.T) {
	for in, ok := range map[string]bool{
		`null`: true, `""`: true, `"https://example.com/terms"`: true, `"mailto:a@example.com"`: true,
		`"example.com/terms"`: false, `"https://exa mple.com"`: false, `3`: false, `{}`: false,
	} {
		if err := jsonURLOrEmpty(json.RawMessage(in)); (err == nil) != ok {
			t.Errorf("%s: error %v, want accepted %v", in, err, ok)
		}
	}
}

// FuzzSignInExp_Decode checks that whatever a PATCH body makes the decoder
// accept is a document GET can answer: every stored field decodes into the
// answer, so one PATCH cannot break the tenant's GET.
func FuzzSignInExp_Decode(f *testing.F) {
	for _, s := range []string{`{}`, `{"signInMode":"SignIn","customCss":null}`, `{"termsOfUseUrl":""}`,
		`{"socialSignInConnectorTargets":["x"],"hideLogtoBranding":false}`, `{"color":{"a":1},"signUpProfileFields":[1]}`,
		`{"agreeToTermsPolicy":"Manual","singleSignOnEnabled":true,"customUiAssets":null}`,
		`{"passwordExpiration":{"enabled":true,"validPeriodDays":3},"forgotPasswordMethods":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var body map[string]json.RawMessage
		if json.Unmarshal(data, &body) != nil {
			return
		}
		in, err := decodeSignInExpUpdate(body)
		if err != nil {
			if store.ErrorCode(err) != store.EINVALID {
				t.Fatalf("%s: error %v, want EINVALID", data, err)
			}
			return
		}
		for name, v := range in.Fields {
			if _, known := signInExpChecks[name]; !known || !json.Valid(v) {
				t.Fatalf("%s: stored field %s = %s", data, name, v)
			}
		}
		if in.PasswordExpiration != nil && in.PasswordExpiration.Enabled != nil && *in.PasswordExpiration.Enabled &&
			in.PasswordExpiration.ValidPeriodDays < 1 {
			t.Fatalf("%s: policy on with %d days", data, in.PasswordExpiration.ValidPeriodDays)
		}
		sie := &store.SignInExperience{Fields: in.Fields}
		if _, err := toSignInExpResponse("default", sie); err != nil {
			t.Fatalf("%s: accepted, but GET cannot answer it: %v", data, err)
		}
	})
}
