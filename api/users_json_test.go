package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/idbolt/idbolt/store"
)

// userJSONCases are users whose JSON is easy to get wrong: nulls and empty
// values, every profile and address field, strings encoding/json escapes,
// custom data of every JSON kind.
func userJSONCases() []userListEntry {
	str := func(s string) *string { return &s }
	ms := int64(1_780_000_000_123)
	odd := "<a href=\"x\">&\u2028 \xff 中文\n\x00"
	full := userResponse{ID: "u1" + odd, Username: str("ann"), PrimaryEmail: str("ann@example.com"), PrimaryPhone: str("+15550100"),
		Name: str(odd), Avatar: str("https://a.example/x.png?a=1&b=2"),
		CustomData: map[string]any{"z": 1.5, "a": []any{"x", nil, true}, "m": map[string]any{"<k>": odd}},
		Identities: map[string]any{"github": map[string]any{"userId": "42"}}, LastSignInAt: &ms, CreatedAt: ms, UpdatedAt: ms + 1,
		Profile: store.Profile{FamilyName: "F", GivenName: "G", MiddleName: "M", Nickname: "N", PreferredUsername: "P",
			Profile: "https://p", Website: "https://w", Gender: "g", Birthdate: "2000-01-01", Zoneinfo: "Europe/Paris", Locale: "fr",
			Address: &store.Address{Formatted: odd, StreetAddress: "1 St", Locality: "L", Region: "R", PostalCode: "75000", Country: "FR"}},
		ApplicationID: str("app"), IsSuspended: true, HasPassword: true}
	var nilDigest *string
	return []userListEntry{
		{},
		{userResponse: userResponse{ID: "plain", CustomData: map[string]any{}, Identities: map[string]any{}}},
		{userResponse: userResponse{ID: "address only", Profile: store.Profile{Address: &store.Address{}}}},
		{userResponse: userResponse{ID: "some profile", Profile: store.Profile{Locale: "en", Address: &store.Address{Country: "DE"}}}},
		{userResponse: full},
		{userResponse: full, SSOIdentities: &[]struct{}{}, PasswordDigest: &nilDigest, PasswordAlgorithm: &nilDigest},
		{userResponse: full, PasswordDigest: &full.Name, PasswordAlgorithm: &full.Username},
	}
}

// TestUserJSON: the hand-written JSON of a user is encoding/json's, byte
// for byte, alone and as a list entry with its include* fields.
func TestUserJSON(t *testing.T) {
	for i, e := range userJSONCases() {
		sameUserJSON(t, i, &e)
	}
}

// FuzzUserJSON: any strings in a user's fields come out as encoding/json
// writes them.
func FuzzUserJSON(f *testing.F) {
	f.Add("id", "name", "family", "street", "key", "value", int64(0))
	f.Add("<&>", "\u2028", "\xff", "\x00\n", "", "\"", int64(-1))
	f.Fuzz(func(t *testing.T, id, name, family, street, key, value string, at int64) {
		e := userListEntry{userResponse: userResponse{ID: id, Name: &name, Username: &value, CustomData: map[string]any{key: value, "n": at},
			LastSignInAt: &at, CreatedAt: at, Profile: store.Profile{FamilyName: family, Nickname: name, Address: &store.Address{StreetAddress: street}}}}
		if family == "" {
			e.Profile.Address = nil
		}
		if key == "" {
			e.CustomData, e.Identities = nil, map[string]any{}
		}
		if len(id)%2 == 0 {
			e.PasswordDigest = &e.Name
		}
		sameUserJSON(t, 0, &e)
	})
}

// sameUserJSON fails unless e's hand-written JSON, and that of the user
// it embeds, are encoding/json's.
func sameUserJSON(t *testing.T, i int, e *userListEntry) {
	t.Helper()
	for _, v := range []jsonAppender{e, &e.userResponse} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := v.appendJSON(nil)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("case %d (%T):\ngot  %s\nwant %s", i, v, got, want)
		}
	}
}
