package auth

import (
	"strconv"

	"github.com/idbolt/idbolt/internal/jsonenc"
)

// Every token request marshals its claims and its answer; encoding/json
// does that by reflection, which was a twentieth of a token's CPU. These
// appenders write the same JSON by hand (TestAppendJSON and
// FuzzAppendJSONString check them against encoding/json).

// appendJSON appends the JSON of c, with the fields and the omissions that
// encoding/json gives it.
func (c *accessClaims) appendJSON(b []byte) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		if v != "" {
			field(name)
			b = jsonenc.AppendString(b, v)
		}
	}
	num := func(name string, v int64) {
		field(name)
		b = strconv.AppendInt(b, v, 10)
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1:
		field("aud")
		b = jsonenc.AppendString(b, c.Audience[0])
	default:
		field("aud")
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, a)
		}
		b = append(b, ']')
	}
	if c.Expiry != nil {
		num("exp", int64(*c.Expiry))
	}
	if c.NotBefore != nil {
		num("nbf", int64(*c.NotBefore))
	}
	if c.IssuedAt != nil {
		num("iat", int64(*c.IssuedAt))
	}
	str("jti", c.ID)
	field("client_id")
	b = jsonenc.AppendString(b, c.ClientID)
	str("scope", c.Scope)
	str("organization_id", c.OrganizationID)
	if c.Act != nil {
		field("act")
		b = append(b, `{"sub":`...)
		b = jsonenc.AppendString(b, c.Act.Subject)
		b = append(b, '}')
	}
	if c.IssuedAtNanos != 0 {
		num("iat_ns", c.IssuedAtNanos)
	}
	for _, cl := range c.Custom {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = jsonenc.AppendString(b, cl.Name)
		b = append(b, ':')
		b = append(b, cl.Value...)
	}
	return append(b, '}')
}

// appendJSON appends the JSON of r, as encoding/json writes it.
func (r *tokenResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"access_token":`...)
	b = jsonenc.AppendString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = jsonenc.AppendString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, int64(r.ExpiresIn), 10)
	if r.Scope != "" {
		b = append(b, `,"scope":`...)
		b = jsonenc.AppendString(b, r.Scope)
	}
	return append(b, '}')
}
