package api_test

import (
	"net/url"
	"testing"
)

// TestUsers_PhoneNormalForm checks that phones are stored, compared for
// uniqueness and found by exact search in Logto's normal form (E.164 digits
// without +), and that an invalid number is 422 user.invalid_phone.
func TestUsers_PhoneNormalForm(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	stored := []struct{ in, want string }{
		{"610412345678", "61412345678"},      // the trunk 0 after the country code goes
		{"+1 (650) 253-0000", "16502530000"}, // separators
		{"+44 20 7946 0000", "442079460000"},
		{"4402079460001", "442079460001"},
		{"+39 06 1234 5678", "390612345678"}, // Italy keeps its leading 0
	}
	ids := map[string]string{}
	for _, tt := range stored {
		u := e.createUser(t, map[string]any{"primaryPhone": tt.in})
		if u.PrimaryPhone == nil || *u.PrimaryPhone != tt.want {
			t.Errorf("POST primaryPhone %q: stored %v, want %q", tt.in, u.PrimaryPhone, tt.want)
		}
		ids[tt.want] = u.ID
	}

	for _, tt := range []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantCode           string
	}{
		{"SameNumberOtherFormat", "POST", "", map[string]any{"primaryPhone": "+61 412 345 678"}, 422, "user.phone_already_in_use"},
		{"SameNumberNormalForm", "POST", "", map[string]any{"primaryPhone": "61412345678"}, 422, "user.phone_already_in_use"},
		{"PatchIntoTaken", "PATCH", "/" + ids["16502530000"], map[string]any{"primaryPhone": "+61 (0)412 345 678"}, 422, "user.phone_already_in_use"},
		{"TooShort", "POST", "", map[string]any{"primaryPhone": "99999"}, 422, "user.invalid_phone"},
		{"NoSuchCountry", "POST", "", map[string]any{"primaryPhone": "+999 123 456"}, 422, "user.invalid_phone"},
		{"PatchInvalid", "PATCH", "/" + ids["61412345678"], map[string]any{"primaryPhone": "+61 4"}, 422, "user.invalid_phone"},
		{"Letters", "POST", "", map[string]any{"primaryPhone": "1-800-FLOWERS"}, 400, "guard.invalid_input"},
		{"Empty", "POST", "", map[string]any{"primaryPhone": ""}, 400, "guard.invalid_input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.countUsers(t)
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
			}
			if after := e.countUsers(t); after != before {
				t.Errorf("user count changed from %s to %s", before, after)
			}
		})
	}

	// PATCH stores the normal form, and frees the old number.
	r := call(t, "PATCH", base+"/"+ids["16502530000"], e.token, map[string]any{"primaryPhone": "+1 650-253-0001"})
	var got user
	r.JSON(t, &got)
	if r.Status != 200 || got.PrimaryPhone == nil || *got.PrimaryPhone != "16502530001" {
		t.Fatalf("PATCH phone: %d %s", r.Status, r.Body)
	}
	e.createUser(t, map[string]any{"primaryPhone": "16502530000"})

	// An exact search in any format finds the normal form; like compares
	// with the stored text as Logto's SQL does.
	for _, tt := range []struct{ query, wantTotal string }{
		{"search.primaryPhone=" + url.QueryEscape("+61 412 345 678") + "&mode.primaryPhone=exact", "1"},
		{"search.primaryPhone=610412345678&mode.primaryPhone=exact", "1"},
		{"search.primaryPhone=61412345678&search.primaryPhone=" + url.QueryEscape("+1 650 253 0001") + "&mode=exact", "2"},
		{"search.primaryPhone=" + url.QueryEscape("61%"), "1"},
		{"search.primaryPhone=" + url.QueryEscape("+61%"), "0"},
		{"search.primaryPhone=" + url.QueryEscape("+61 412 345 679") + "&mode.primaryPhone=exact", "0"},
	} {
		r := call(t, "GET", base+"?"+tt.query, e.token, nil)
		if r.Status != 200 || r.Header.Get("Total-Number") != tt.wantTotal {
			t.Errorf("%s: %d Total-Number %q, want %s: %s", tt.query, r.Status, r.Header.Get("Total-Number"), tt.wantTotal, r.Body)
		}
	}
}

// TestUsers_EmptyUpdates checks Logto's answers to updates that carry
// nothing: PATCH {} is 422 entity.invalid_input (404 first for an unknown
// user), and an empty password to verify is 400 guard.invalid_input.
func TestUsers_EmptyUpdates(t *testing.T) {
	e := newEnv(t)
	base := e.URL + "/api/users"
	u := e.createUser(t, map[string]any{"username": "quiet", "password": "Str0ng-Passw0rd!"})
	for _, tt := range []struct {
		name, method, path string
		body               any
		wantStatus         int
		wantCode           string
	}{
		{"PatchEmpty", "PATCH", "/" + u.ID, `{}`, 422, "entity.invalid_input"},
		{"PatchEmptyUnknownUser", "PATCH", "/nosuchuser00", `{}`, 404, "entity.not_found"},
		{"VerifyEmptyPassword", "POST", "/" + u.ID + "/password/verify", `{"password":""}`, 400, "guard.invalid_input"},
		{"VerifyEmptyPasswordUnknownUser", "POST", "/nosuchuser00/password/verify", `{"password":""}`, 400, "guard.invalid_input"},
		{"VerifyWrongPassword", "POST", "/" + u.ID + "/password/verify", `{"password":"nope"}`, 422, "session.invalid_credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, base+tt.path, e.token, tt.body)
			if r.Status != tt.wantStatus || r.Code() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tt.wantStatus, tt.wantCode)
			}
		})
	}
	r := call(t, "GET", base+"/"+u.ID, e.token, nil)
	var got user
	r.JSON(t, &got)
	if got.UpdatedAt != u.UpdatedAt {
		t.Errorf("PATCH {} changed updatedAt: %d -> %d", u.UpdatedAt, got.UpdatedAt)
	}
}
