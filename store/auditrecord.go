package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// Audit records come in two formats, told apart by their first byte:
//
//   - 0x00: the legacy envelope written before issue 13,
//     [8-byte big-endian createdAt][1-byte id length][id][2-byte key
//     length][key][JSON payload]. Its first byte is the top byte of a
//     millisecond timestamp, zero until the year 2,200,000 or so.
//   - auditFormatCompact: the compact record below.
//
// Old entries are decoded as they are rather than rewritten on open: a year
// of token requests is gigabytes, rewriting it would make the first start of
// an upgraded server take minutes, and pruning retires old entries anyway.
// Both formats give the same AuditEntry, byte for byte, for the same entry.
//
// A compact record is
//
//	[auditFormatCompact][varint createdAt ms][6-byte id suffix][str key]
//	then fields, each [tag][value], in increasing tag order, absent when
//	empty.
//
// The id's 13 sequence digits are the bucket key, so only its 8 random
// base-36 digits are stored, as a 42-bit number. A str is a uvarint x whose
// low two bits say what follows: 0, a literal of x>>2 bytes; 1, entry x>>2
// of auditWords; 2, the (x>>2)th string already read in this record (a
// token request's client_id is its applicationId). Params and error maps
// are stored sorted by name, as the JSON shows them.
const auditFormatCompact = 0x01

// Field tags of a compact record.
const (
	auditTagPayloadKey = iota + 1 // only when it differs from the entry's key
	auditTagResult
	auditTagIP     // a str, for an address that does not round-trip below
	auditTagIPv4   // 4 bytes
	auditTagIPv6   // 16 bytes
	auditTagAgent  // userAgent
	auditTagApp    // applicationId
	auditTagUser   // userId
	auditTagTarget // str type, str id
	auditTagParams // uvarint count, then count (str name, str value)
	auditTagError  // as params
	auditTagTokenTypes
)

// String references of a compact record.
const (
	auditStrLiteral = iota
	auditStrWord
	auditStrBack
	auditStrKinds = 4 // kinds fit in the low two bits
)

// auditWords are the strings that recur in audit entries, referenced by
// index. The list is part of the file format: append only, never reorder or
// remove.
var auditWords = []string{
	"", "Success", "Error", "AccessToken", "******",
	"ExchangeTokenBy.ClientCredentials", "ExchangeTokenBy.JwtBearer", "ExchangeTokenBy.Unknown", "ExchangeTokenBy.Suppressed",
	"grant_type", "client_id", "client_secret", "resource", "scope", "organization_id", "assertion",
	"client_credentials", "urn:ietf:params:oauth:grant-type:jwt-bearer", "all",
	"https://default.logto.app/api", "https://admin.logto.app/api",
	"error", "error_description", "suppressed", "since",
	"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
	"invalid_scope", "invalid_target", "server_error", "too_many_failures",
	"application", "organization", "organizationInvitation", "organizationRole", "organizationScope",
	"resource", "role", "scope", "signingKey", "tenant", "user", "api_client", "user_key", "manager",
	"urn:idbolt:system",
	"Management.APIClient.Create", "Management.APIClient.Delete", "Management.APIClient.Secret.Rotate", "Management.APIClient.Update",
	"Management.Application.Create", "Management.Application.Delete", "Management.Application.Roles.Update",
	"Management.Application.Secret.Create", "Management.Application.Secret.Delete", "Management.Application.Secret.Update",
	"Management.Application.Update", "Management.Manager.Delete", "Management.Manager.Set",
	"Management.Organization.Create", "Management.Organization.Delete", "Management.Organization.Members.Update",
	"Management.Organization.Update", "Management.OrganizationInvitation.Create", "Management.OrganizationInvitation.Delete",
	"Management.OrganizationInvitation.Update", "Management.OrganizationRole.Create", "Management.OrganizationRole.Delete",
	"Management.OrganizationRole.Scopes.Update", "Management.OrganizationRole.Update", "Management.OrganizationScope.Create",
	"Management.OrganizationScope.Delete", "Management.OrganizationScope.Update", "Management.Resource.Create",
	"Management.Resource.Delete", "Management.Resource.Update", "Management.Role.Applications.Update",
	"Management.Role.Create", "Management.Role.Delete", "Management.Role.Scopes.Update", "Management.Role.Update",
	"Management.Role.Users.Update", "Management.Scope.Create", "Management.Scope.Delete", "Management.Scope.Update",
	"Management.SigningKey.Delete", "Management.SigningKey.Rotate", "Management.User.Create", "Management.User.Delete",
	"Management.User.Key.Create", "Management.User.Key.Delete", "Management.User.Roles.Update", "Management.User.Update",
	"Management.User.UpdatePassword", "System.Admin.Create", "System.Admin.Delete", "System.Tenant.Update",
}

// auditWordIndex is auditWords' inverse. The first index of a word wins, so
// a duplicate in the list costs nothing but its slot.
var auditWordIndex = func() map[string]int {
	m := make(map[string]int, len(auditWords))
	for i := len(auditWords) - 1; i >= 0; i-- {
		m[auditWords[i]] = i
	}
	return m
}()

// auditSuffixLimit is 36^8: an id suffix is 8 base-36 digits.
const auditSuffixLimit = 2821109907456

// auditEncoder appends one compact record; seen holds the strings written so
// far, for back references.
type auditEncoder struct {
	b    []byte
	seen []string
}

func (e *auditEncoder) str(s string) {
	if i, ok := auditWordIndex[s]; ok {
		e.b = binary.AppendUvarint(e.b, uint64(i)*auditStrKinds+auditStrWord)
		return
	}
	for i, prev := range e.seen {
		if prev == s {
			e.b = binary.AppendUvarint(e.b, uint64(i)*auditStrKinds+auditStrBack)
			return
		}
	}
	e.seen = append(e.seen, s)
	e.b = binary.AppendUvarint(e.b, uint64(len(s))*auditStrKinds+auditStrLiteral)
	e.b = append(e.b, s...)
}

func (e *auditEncoder) field(tag byte, s string) {
	if s != "" {
		e.b = append(e.b, tag)
		e.str(s)
	}
}

func (e *auditEncoder) strMap(tag byte, m map[string]string) {
	if len(m) == 0 {
		return
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	e.b = append(e.b, tag)
	e.b = binary.AppendUvarint(e.b, uint64(len(names)))
	for _, k := range names {
		e.str(k)
		e.str(m[k])
	}
}

// appendCompactAudit appends the compact record of an entry with the given
// key, creation time, id suffix (8 base-36 digits, as randomSuffix makes)
// and payload.
func appendCompactAudit(b []byte, key string, createdAt int64, suffix string, p *AuditPayload) ([]byte, error) {
	n, err := strconv.ParseUint(suffix, 36, 64)
	if len(suffix) != auditSuffixDigits || err != nil || strings.Trim(suffix, idAlphabet) != "" {
		return b, fmt.Errorf("audit id suffix %q is not %d base-36 digits", suffix, auditSuffixDigits)
	}
	e := auditEncoder{b: b}
	e.b = append(e.b, auditFormatCompact)
	e.b = binary.AppendVarint(e.b, createdAt)
	e.b = append(e.b, byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	e.str(key)
	if p.Key != key {
		e.b = append(e.b, auditTagPayloadKey)
		e.str(p.Key)
	}
	e.field(auditTagResult, p.Result)
	if ip, err := netip.ParseAddr(p.IP); err == nil && ip.Zone() == "" && ip.String() == p.IP {
		if ip.Is4() {
			a := ip.As4()
			e.b = append(append(e.b, auditTagIPv4), a[:]...)
		} else {
			a := ip.As16()
			e.b = append(append(e.b, auditTagIPv6), a[:]...)
		}
	} else {
		e.field(auditTagIP, p.IP)
	}
	e.field(auditTagAgent, p.UserAgent)
	e.field(auditTagApp, p.ApplicationID)
	e.field(auditTagUser, p.UserID)
	if p.Target != nil {
		e.b = append(e.b, auditTagTarget)
		e.str(p.Target.Type)
		e.str(p.Target.ID)
	}
	e.strMap(auditTagParams, p.Params)
	e.strMap(auditTagError, p.Error)
	if len(p.TokenTypes) > 0 {
		e.b = append(e.b, auditTagTokenTypes)
		e.b = binary.AppendUvarint(e.b, uint64(len(p.TokenTypes)))
		for _, t := range p.TokenTypes {
			e.str(t)
		}
	}
	return e.b, nil
}

var errAuditTruncated = errors.New("audit record truncated")

// auditDecoder reads a compact record.
type auditDecoder struct {
	v    []byte
	seen []string
}

func (d *auditDecoder) uvarint() (uint64, error) {
	n, size := binary.Uvarint(d.v)
	if size <= 0 {
		return 0, errAuditTruncated
	}
	d.v = d.v[size:]
	return n, nil
}

// count reads a number of items that each take at least one byte, so that a
// corrupt count cannot make the caller allocate more than the record holds.
func (d *auditDecoder) count() (int, error) {
	n, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if n == 0 || n > uint64(len(d.v)) {
		return 0, fmt.Errorf("audit record: bad count %d", n)
	}
	return int(n), nil
}

func (d *auditDecoder) str() (string, error) {
	x, err := d.uvarint()
	if err != nil {
		return "", err
	}
	n := x / auditStrKinds
	switch x % auditStrKinds {
	case auditStrLiteral:
		if n > uint64(len(d.v)) {
			return "", errAuditTruncated
		}
		s := string(d.v[:n])
		d.v = d.v[n:]
		d.seen = append(d.seen, s)
		return s, nil
	case auditStrWord:
		if n >= uint64(len(auditWords)) {
			return "", fmt.Errorf("audit record: unknown word %d", n)
		}
		return auditWords[n], nil
	case auditStrBack:
		if n >= uint64(len(d.seen)) {
			return "", fmt.Errorf("audit record: bad back reference %d", n)
		}
		return d.seen[n], nil
	}
	return "", fmt.Errorf("audit record: bad string kind %d", x%auditStrKinds)
}

func (d *auditDecoder) strMap() (map[string]string, error) {
	n, err := d.count()
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, n)
	for range n {
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		v, err := d.str()
		if err != nil {
			return nil, err
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("audit record: name %q twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// decodeCompactAudit parses a compact record stored under sequence seq.
func decodeCompactAudit(seq uint64, v []byte) (auditRecord, error) {
	var r auditRecord
	if len(v) == 0 || v[0] != auditFormatCompact {
		return r, fmt.Errorf("audit record: not in the compact format")
	}
	createdAt, size := binary.Varint(v[1:])
	if size <= 0 || len(v) < 1+size+6 {
		return r, errAuditTruncated
	}
	r.CreatedAt = createdAt
	v = v[1+size:]
	n := uint64(v[0])<<40 | uint64(v[1])<<32 | uint64(v[2])<<24 | uint64(v[3])<<16 | uint64(v[4])<<8 | uint64(v[5])
	if n >= auditSuffixLimit {
		return r, fmt.Errorf("audit record: bad id suffix")
	}
	suffix := strconv.FormatUint(n, 36)
	for len(suffix) < auditSuffixDigits {
		suffix = "0" + suffix
	}
	r.ID = auditID(seq, suffix)
	d := auditDecoder{v: v[6:]}
	var err error
	if r.Key, err = d.str(); err != nil {
		return r, err
	}
	p := &AuditPayload{Key: r.Key}
	last := byte(0)
	for len(d.v) > 0 {
		tag := d.v[0]
		d.v = d.v[1:]
		if tag <= last {
			return r, fmt.Errorf("audit record: field %d out of order", tag)
		}
		last = tag
		switch tag {
		case auditTagPayloadKey:
			p.Key, err = d.str()
		case auditTagResult:
			p.Result, err = d.str()
		case auditTagIP:
			p.IP, err = d.str()
		case auditTagIPv4, auditTagIPv6:
			size := 4
			if tag == auditTagIPv6 {
				size = 16
			}
			if len(d.v) < size {
				return r, errAuditTruncated
			}
			ip, _ := netip.AddrFromSlice(d.v[:size])
			p.IP, d.v = ip.String(), d.v[size:]
		case auditTagAgent:
			p.UserAgent, err = d.str()
		case auditTagApp:
			p.ApplicationID, err = d.str()
		case auditTagUser:
			p.UserID, err = d.str()
		case auditTagTarget:
			p.Target = &AuditTarget{}
			if p.Target.Type, err = d.str(); err == nil {
				p.Target.ID, err = d.str()
			}
		case auditTagParams:
			p.Params, err = d.strMap()
		case auditTagError:
			p.Error, err = d.strMap()
		case auditTagTokenTypes:
			var n int
			if n, err = d.count(); err == nil {
				p.TokenTypes = make([]string, n)
				for i := 0; i < n && err == nil; i++ {
					p.TokenTypes[i], err = d.str()
				}
			}
		default:
			return r, fmt.Errorf("audit record: unknown field %d", tag)
		}
		if err != nil {
			return r, err
		}
		if tag == auditTagIP || tag == auditTagIPv4 {
			last = auditTagIPv6 // one address at most
		}
	}
	r.payload = p
	return r, nil
}

// decodeLegacyAudit parses a record in the envelope written before issue 13.
func decodeLegacyAudit(v []byte) (auditRecord, error) {
	var r auditRecord
	if len(v) < 9 {
		return r, fmt.Errorf("audit record too short")
	}
	r.CreatedAt = int64(binary.BigEndian.Uint64(v))
	v = v[8:]
	n := int(v[0])
	if len(v) < 1+n+2 {
		return r, fmt.Errorf("audit record: bad id length")
	}
	r.ID, v = string(v[1:1+n]), v[1+n:]
	n = int(binary.BigEndian.Uint16(v))
	if len(v) < 2+n {
		return r, fmt.Errorf("audit record: bad key length")
	}
	r.Key = string(v[2 : 2+n])
	r.Payload = append(json.RawMessage(nil), v[2+n:]...)
	if !json.Valid(r.Payload) {
		return r, fmt.Errorf("audit record %s: payload is not JSON", r.ID)
	}
	return r, nil
}

// decodeAuditRecord parses the entry stored under key k, in either format;
// a malformed one is an error.
func decodeAuditRecord(k, v []byte) (auditRecord, error) {
	if len(k) != 8 {
		return auditRecord{}, fmt.Errorf("audit record: bad key %x", k)
	}
	if len(v) > 0 && v[0] == auditFormatCompact {
		return decodeCompactAudit(btoi(k), v)
	}
	return decodeLegacyAudit(v)
}
