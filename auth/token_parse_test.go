package auth

import (
	"encoding/base64"
	"net/url"
	"testing"
)

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestParseTokenRequest(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		contentType string
		auth        string
		body        string
		wantErr     string // oauth error type; "" = ok
		wantID      string
		wantSecret  string
		wantScopes  []string
	}{
		{"BasicOK", form, basic("app", "s3cret"), "grant_type=client_credentials&resource=https://x.example/api&scope=all", "", "app", "s3cret", []string{"all"}},
		{"PostOK", form, "", "grant_type=client_credentials&client_id=app&client_secret=s", "", "app", "s", nil},
		{"ContentTypeParams", form + "; charset=UTF-8", "", "grant_type=client_credentials", "", "", "", nil},
		{"EncodedBasic", form, basic("a:b c", "p%:&"), "grant_type=client_credentials", "", "a:b c", "p%:&", nil},
		{"ScopeSpaces", form, "", "grant_type=x&scope=%20a%20%20b%20", "", "", "", []string{"a", "b"}},
		{"EmptyScope", form, "", "grant_type=x&scope=", "", "", "", []string{}},
		{"JSON", "application/json", "", `{"grant_type":"client_credentials"}`, "invalid_request", "", "", nil},
		{"NoContentType", "", "", "grant_type=x", "invalid_request", "", "", nil},
		{"NoGrant", form, "", "client_id=x", "invalid_request", "", "", nil},
		{"RepeatedGrant", form, "", "grant_type=a&grant_type=a", "invalid_request", "", "", nil},
		{"RepeatedResource", form, "", "grant_type=a&resource=https://a/&resource=https://b/", "invalid_target", "", "", nil},
		{"BadEncoding", form, "", "grant_type=%zz", "invalid_request", "", "", nil},
		{"BasicAndPostSecret", form, basic("app", "s"), "grant_type=x&client_secret=s", "invalid_request", "", "", nil},
		{"BasicAndOtherPostID", form, basic("app", "s"), "grant_type=x&client_id=other", "invalid_request", "", "", nil},
		{"BasicAndSamePostID", form, basic("app", "s"), "grant_type=x&client_id=app", "", "app", "s", nil},
		{"BearerScheme", form, "Bearer abc", "grant_type=x", "invalid_client", "", "", nil},
		{"BasicNotBase64", form, "Basic !!!", "grant_type=x", "invalid_client", "", "", nil},
		{"BasicNoColon", form, "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "grant_type=x", "invalid_client", "", "", nil},
		{"BasicEmptyID", form, "Basic " + base64.StdEncoding.EncodeToString([]byte(":secret")), "grant_type=x", "invalid_client", "", "", nil},
		{"ScopeQuote", form, "", `grant_type=x&scope=a"b`, "invalid_scope", "", "", nil},
		{"ScopeBackslash", form, "", `grant_type=x&scope=a%5Cb`, "invalid_scope", "", "", nil},
		{"ScopeControl", form, "", "grant_type=x&scope=a%01b", "invalid_scope", "", "", nil},
		{"ResourceRelative", form, "", "grant_type=x&resource=/api", "invalid_target", "", "", nil},
		{"ResourceFragment", form, "", "grant_type=x&resource=https://a/api%23frag", "invalid_target", "", "", nil},
		{"ResourceEmpty", form, "", "grant_type=x&resource=", "invalid_target", "", "", nil},
		{"ResourceURN", form, "", "grant_type=x&resource=urn:idbolt:system", "", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, oerr := parseTokenRequest(tt.contentType, tt.auth, []byte(tt.body))
			if tt.wantErr != "" {
				if oerr == nil || oerr.Type != tt.wantErr {
					t.Fatalf("got %v, want %s", oerr, tt.wantErr)
				}
				return
			}
			if oerr != nil {
				t.Fatalf("unexpected error %v", oerr)
			}
			if req.ClientID != tt.wantID || req.ClientSecret != tt.wantSecret {
				t.Errorf("client %q/%q, want %q/%q", req.ClientID, req.ClientSecret, tt.wantID, tt.wantSecret)
			}
			if (req.Scopes == nil) != (tt.wantScopes == nil) || len(req.Scopes) != len(tt.wantScopes) {
				t.Fatalf("scopes %#v, want %#v", req.Scopes, tt.wantScopes)
			}
			for i := range req.Scopes {
				if req.Scopes[i] != tt.wantScopes[i] {
					t.Errorf("scopes %#v, want %#v", req.Scopes, tt.wantScopes)
				}
			}
		})
	}
}

func FuzzParseTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", basic("app", "secret"), "grant_type=client_credentials&resource=https://x/api&scope=all")
	f.Add("application/x-www-form-urlencoded", "", "grant_type=client_credentials&client_id=a&client_secret=b")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "Basic Og==", "scope=%zz")
	f.Add("text/plain", "Bearer x", "")
	f.Add("application/x-www-form-urlencoded", "Basic "+base64.StdEncoding.EncodeToString([]byte("a%ZZ:b")), "grant_type=x&resource=urn:a#b")
	f.Fuzz(func(t *testing.T, contentType, authorization, body string) {
		req, oerr := parseTokenRequest(contentType, authorization, []byte(body))
		if (req == nil) == (oerr == nil) {
			t.Fatalf("exactly one of request and error must be set: %v %v", req, oerr)
		}
		if oerr != nil {
			if oerr.Type == "" || oerr.Status < 400 || oerr.Status > 499 || logtoMessages[oerr.Type] == "" {
				t.Fatalf("malformed error %+v", oerr)
			}
			return
		}
		if req.GrantType == "" {
			t.Fatal("accepted a request without grant_type")
		}
		for _, s := range req.Scopes {
			if !validScopeToken(s) {
				t.Fatalf("accepted scope token %q", s)
			}
		}
		if req.Basic && req.ClientID == "" {
			t.Fatal("Basic auth with an empty client id")
		}
	})
}
