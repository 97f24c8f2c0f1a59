package auth

import (
	"strconv"
	"unicode/utf8"
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
			b = appendJSONString(b, v)
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
		b = appendJSONString(b, c.Audience[0])
	default:
		field("aud")
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, a)
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
	b = appendJSONString(b, c.ClientID)
	str("scope", c.Scope)
	str("organization_id", c.OrganizationID)
	if c.IssuedAtNanos != 0 {
		num("iat_ns", c.IssuedAtNanos)
	}
	return append(b, '}')
}

// appendJSON appends the JSON of r, as encoding/json writes it.
func (r *tokenResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"access_token":`...)
	b = appendJSONString(b, r.AccessToken)
	b = append(b, `,"token_type":`...)
	b = appendJSONString(b, r.TokenType)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, int64(r.ExpiresIn), 10)
	if r.Scope != "" {
		b = append(b, `,"scope":`...)
		b = appendJSONString(b, r.Scope)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string the way encoding/json writes
// it: HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
