package api

import (
	"encoding/json"
	"strconv"

	"github.com/idbolt/idbolt/internal/jsonenc"
	"github.com/idbolt/idbolt/store"
)

// A user read (GET /api/users/{id}) spent a sixth of its server CPU in
// encoding/json's reflection. A user's JSON is written by hand instead,
// byte for byte what encoding/json writes (TestUserJSON and FuzzUserJSON
// check that); only non-empty customData and identities, whose values can
// be any JSON, still go through encoding/json.

// jsonAppender is a response whose JSON writeJSON appends by hand.
type jsonAppender interface {
	appendJSON(b []byte) ([]byte, error)
}

// appendJSON appends the JSON of u, as encoding/json writes it.
func (u *userResponse) appendJSON(b []byte) ([]byte, error) {
	b, err := u.appendFields(append(b, '{'))
	return append(b, '}'), err
}

// appendFields appends u's fields, without the braces, so that an entry
// that embeds u can add its own.
func (u *userResponse) appendFields(b []byte) ([]byte, error) {
	b = append(b, `"id":`...)
	b = jsonenc.AppendString(b, u.ID)
	b = appendNullableString(append(b, `,"username":`...), u.Username)
	b = appendNullableString(append(b, `,"primaryEmail":`...), u.PrimaryEmail)
	b = appendNullableString(append(b, `,"primaryPhone":`...), u.PrimaryPhone)
	b = appendNullableString(append(b, `,"name":`...), u.Name)
	b = appendNullableString(append(b, `,"avatar":`...), u.Avatar)
	b, err := appendAnyMap(append(b, `,"customData":`...), u.CustomData)
	if err != nil {
		return b, err
	}
	if b, err = appendAnyMap(append(b, `,"identities":`...), u.Identities); err != nil {
		return b, err
	}
	b = append(b, `,"lastSignInAt":`...)
	if u.LastSignInAt == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, *u.LastSignInAt, 10)
	}
	b = strconv.AppendInt(append(b, `,"createdAt":`...), u.CreatedAt, 10)
	b = strconv.AppendInt(append(b, `,"updatedAt":`...), u.UpdatedAt, 10)
	b = appendProfile(append(b, `,"profile":`...), &u.Profile)
	b = appendNullableString(append(b, `,"applicationId":`...), u.ApplicationID)
	b = strconv.AppendBool(append(b, `,"isSuspended":`...), u.IsSuspended)
	b = strconv.AppendBool(append(b, `,"hasPassword":`...), u.HasPassword)
	return b, nil
}

// appendJSON appends the JSON of e, as encoding/json writes it.
func (e *userListEntry) appendJSON(b []byte) ([]byte, error) {
	b, err := e.userResponse.appendFields(append(b, '{'))
	if err != nil {
		return b, err
	}
	if e.SSOIdentities != nil {
		b = append(b, `,"ssoIdentities":[]`...) // always empty (userListEntry)
	}
	if e.PasswordDigest != nil {
		b = appendNullableString(append(b, `,"passwordDigest":`...), *e.PasswordDigest)
	}
	if e.PasswordAlgorithm != nil {
		b = appendNullableString(append(b, `,"passwordAlgorithm":`...), *e.PasswordAlgorithm)
	}
	return append(b, '}'), nil
}

// appendNullableString appends *s, or null for nil.
func appendNullableString(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return jsonenc.AppendString(b, *s)
}

// appendAnyMap appends m: null, {}, or encoding/json's JSON of it.
func appendAnyMap(b []byte, m map[string]any) ([]byte, error) {
	switch {
	case m == nil:
		return append(b, "null"...), nil
	case len(m) == 0:
		return append(b, "{}"...), nil
	}
	data, err := json.Marshal(m)
	return append(b, data...), err
}

// appendProfile appends p with encoding/json's omissions (every field is
// omitempty).
func appendProfile(b []byte, p *store.Profile) []byte {
	o := omitEmptyObject{b: append(b, '{')}
	o.str("familyName", p.FamilyName)
	o.str("givenName", p.GivenName)
	o.str("middleName", p.MiddleName)
	o.str("nickname", p.Nickname)
	o.str("preferredUsername", p.PreferredUsername)
	o.str("profile", p.Profile)
	o.str("website", p.Website)
	o.str("gender", p.Gender)
	o.str("birthdate", p.Birthdate)
	o.str("zoneinfo", p.Zoneinfo)
	o.str("locale", p.Locale)
	if a := p.Address; a != nil {
		o.name("address")
		in := omitEmptyObject{b: append(o.b, '{')}
		in.str("formatted", a.Formatted)
		in.str("streetAddress", a.StreetAddress)
		in.str("locality", a.Locality)
		in.str("region", a.Region)
		in.str("postalCode", a.PostalCode)
		in.str("country", a.Country)
		o.b = append(in.b, '}')
	}
	return append(o.b, '}')
}

// omitEmptyObject appends the members of a JSON object whose fields are
// all omitempty strings.
type omitEmptyObject struct {
	b      []byte
	fields int
}

// name appends the next member's name.
func (o *omitEmptyObject) name(name string) {
	if o.fields > 0 {
		o.b = append(o.b, ',')
	}
	o.fields++
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

// str appends the member name: v unless v is empty.
func (o *omitEmptyObject) str(name, v string) {
	if v != "" {
		o.name(name)
		o.b = jsonenc.AppendString(o.b, v)
	}
}
