package store

import (
	"sort"
	"strconv"
	"unicode/utf8"
)

// appendJSON encodes p like json.Marshal would (same field names, order and
// omitempty rules; map keys sorted), without reflection: token requests are
// audited thousands of times per second. FuzzAuditPayloadJSON checks it
// against encoding/json.
func (p *AuditPayload) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = appendJSONString(b, p.Key)
	b = append(b, `,"result":`...)
	b = appendJSONString(b, p.Result)
	field := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = appendJSONString(b, v)
		}
	}
	field("ip", p.IP)
	field("userAgent", p.UserAgent)
	field("applicationId", p.ApplicationID)
	field("userId", p.UserID)
	if p.Target != nil {
		b = append(b, `,"target":{"type":`...)
		b = appendJSONString(b, p.Target.Type)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, p.Target.ID)
		b = append(b, '}')
	}
	b = appendStringMap(b, "params", p.Params)
	b = appendStringMap(b, "error", p.Error)
	if len(p.TokenTypes) > 0 {
		b = append(b, `,"tokenTypes":[`...)
		for i, t := range p.TokenTypes {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, t)
		}
		b = append(b, ']')
	}
	field("actorUserId", p.ActorUserID)
	return append(b, '}')
}

func appendStringMap(b []byte, name string, m map[string]string) []byte {
	if len(m) == 0 {
		return b
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':', '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping as encoding/json does
// (control characters, quote, backslash, <, >, &, U+2028, U+2029) and
// replacing invalid UTF-8 with U+FFFD. s is a string or, straight from a
// stored record, bytes.
func appendJSONString[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		var enc [utf8.UTFMax]byte
		r, size := utf8.DecodeRune(enc[:copy(enc[:], s[i:])])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, `\u202`...)
			b = strconv.AppendInt(b, int64(r&0xf), 16)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
