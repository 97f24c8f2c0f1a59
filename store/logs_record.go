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
// of auditWords; 2, the (x>>2)th literal already read among the fields (a
// token request's client_id is its applicationId; the key does not count).
// Params and error maps are stored sorted by name, as the JSON shows them,
// and a reader rejects them otherwise, so a record has one JSON form. A
// later format takes the next leading byte; readers keep every older one.
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
	auditTagActorUser // actorUserId; added after the format's first release, so last
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

// auditEncoder appends one compact record. seen holds the first literals
// written, for back references: a fixed array, so that encoding a token
// request's entry allocates nothing but the record.
type auditEncoder struct {
	b     []byte
	seen  [16]string
	nseen int // literals written, of which the first len(seen) are in seen
}

func (e *auditEncoder) str(s string) {
	if i, ok := auditWordIndex[s]; ok {
		e.b = binary.AppendUvarint(e.b, uint64(i)*auditStrKinds+auditStrWord)
		return
	}
	for i, prev := range e.seen[:min(e.nseen, len(e.seen))] {
		if prev == s {
			e.b = binary.AppendUvarint(e.b, uint64(i)*auditStrKinds+auditStrBack)
			return
		}
	}
	if e.nseen < len(e.seen) {
		e.seen[e.nseen] = s
	}
	e.nseen++
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
	e.nseen = 0 // back references count from the first field: the key is read on its own
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
	e.field(auditTagActorUser, p.ActorUserID)
	return e.b, nil
}

var errAuditTruncated = errors.New("audit record truncated")

// auditWordBytes is auditWords as bytes, for writing JSON straight from a
// record without converting each word.
var auditWordBytes = func() [][]byte {
	out := make([][]byte, len(auditWords))
	for i, w := range auditWords {
		out[i] = []byte(w)
	}
	return out
}()

// auditDecoder reads the fields of a compact record. The strings it returns
// as bytes alias the record (or auditWordBytes): they live as long as the
// transaction the record was read in.
type auditDecoder struct {
	v    []byte
	seen [][]byte
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

// bytes reads a str; word is its index in auditWords, or -1.
func (d *auditDecoder) bytes() (s []byte, word int, err error) {
	x, err := d.uvarint()
	if err != nil {
		return nil, -1, err
	}
	n := x / auditStrKinds
	switch x % auditStrKinds {
	case auditStrLiteral:
		if n > uint64(len(d.v)) {
			return nil, -1, errAuditTruncated
		}
		s, d.v = d.v[:n], d.v[n:]
		d.seen = append(d.seen, s)
		return s, -1, nil
	case auditStrWord:
		if n >= uint64(len(auditWords)) {
			return nil, -1, fmt.Errorf("audit record: unknown word %d", n)
		}
		return auditWordBytes[n], int(n), nil
	case auditStrBack:
		if n >= uint64(len(d.seen)) {
			return nil, -1, fmt.Errorf("audit record: bad back reference %d", n)
		}
		return d.seen[n], -1, nil
	}
	return nil, -1, fmt.Errorf("audit record: bad string kind %d", x%auditStrKinds)
}

func (d *auditDecoder) str() (string, error) {
	s, word, err := d.bytes()
	if word >= 0 {
		return auditWords[word], err
	}
	return string(s), err
}

// ip reads the address of field tag.
func (d *auditDecoder) ip(tag byte) (netip.Addr, error) {
	size := 4
	if tag == auditTagIPv6 {
		size = 16
	}
	if len(d.v) < size {
		return netip.Addr{}, errAuditTruncated
	}
	ip, _ := netip.AddrFromSlice(d.v[:size])
	d.v = d.v[size:]
	return ip, nil
}

// pairs reads the entries of a params or error field, calling fn for each.
// Names must be strictly increasing, as the encoder sorts them: then a
// record has one JSON form however it is read.
func (d *auditDecoder) pairs(fn func(name, value []byte)) error {
	n, err := d.count()
	if err != nil {
		return err
	}
	var prev []byte
	for i := range n {
		name, _, err := d.bytes()
		if err != nil {
			return err
		}
		value, _, err := d.bytes()
		if err != nil {
			return err
		}
		if i > 0 && string(name) <= string(prev) {
			return fmt.Errorf("audit record: names out of order")
		}
		prev = name
		fn(name, value)
	}
	return nil
}

// auditFieldReader reads the fields of a compact record one by one,
// checking that tags increase and that at most one address is present. The
// strings it returns alias the record and are overwritten by the next call.
type auditFieldReader struct {
	d    auditDecoder
	last byte
	strs [][]byte
}

func newAuditFieldReader(fields []byte) auditFieldReader {
	return auditFieldReader{d: auditDecoder{v: fields, seen: make([][]byte, 0, 8)}, strs: make([][]byte, 0, 12)}
}

// next returns the next field: its tag (0 after the last), its address for
// the IP tags, and its strings (a pair's name and value alternate).
func (fr *auditFieldReader) next() (tag byte, ip netip.Addr, strs [][]byte, err error) {
	d := &fr.d
	if len(d.v) == 0 {
		return 0, ip, nil, nil
	}
	tag, d.v = d.v[0], d.v[1:]
	if tag <= fr.last {
		return 0, ip, nil, fmt.Errorf("audit record: field %d out of order", tag)
	}
	fr.last = tag
	if tag == auditTagIP || tag == auditTagIPv4 {
		fr.last = auditTagIPv6 // one address at most
	}
	strs = fr.strs[:0]
	one := func(n int) {
		for range n {
			var s []byte
			if s, _, err = d.bytes(); err != nil {
				return
			}
			strs = append(strs, s)
		}
	}
	switch tag {
	case auditTagPayloadKey, auditTagResult, auditTagIP, auditTagAgent, auditTagApp, auditTagUser, auditTagActorUser:
		one(1)
	case auditTagIPv4, auditTagIPv6:
		ip, err = d.ip(tag)
	case auditTagTarget:
		one(2)
	case auditTagParams, auditTagError:
		var n int
		if n, err = d.count(); err != nil {
			break
		}
		for i := 0; i < n && err == nil; i++ {
			one(2)
			if err == nil && i > 0 && string(strs[2*i]) <= string(strs[2*i-2]) {
				// Sorted as the encoder writes them: then a record has one
				// JSON form however it is read.
				err = fmt.Errorf("audit record: names out of order")
			}
		}
	case auditTagTokenTypes:
		var n int
		if n, err = d.count(); err == nil {
			one(n)
		}
	default:
		err = fmt.Errorf("audit record: unknown field %d", tag)
	}
	fr.strs = strs
	if err != nil {
		return 0, ip, nil, err
	}
	return tag, ip, strs, nil
}

// auditJSONNames are the payload's JSON names of the single-string fields.
var auditJSONNames = map[byte]string{
	auditTagIP: `,"ip":`, auditTagAgent: `,"userAgent":`, auditTagApp: `,"applicationId":`, auditTagUser: `,"userId":`,
	auditTagActorUser: `,"actorUserId":`, auditTagParams: `,"params":{`, auditTagError: `,"error":{`,
}

// appendCompactPayloadJSON appends the payload JSON of a compact record's
// fields, entry key key, exactly as AuditPayload.appendJSON writes the
// payload they were made of, without building the payload first: a page of
// the log is read this way.
func appendCompactPayloadJSON(b []byte, key string, fields []byte) ([]byte, error) {
	fr := newAuditFieldReader(fields)
	b = append(b, `{"key":`...)
	head := 0 // 0: key pending, 1: result pending, 2: both written
	for {
		tag, ip, strs, err := fr.next()
		if err != nil {
			return nil, err
		}
		if head == 0 && tag != auditTagPayloadKey {
			b = appendJSONString(b, key)
			head = 1
		}
		if head == 1 && tag != auditTagResult {
			b = append(b, `,"result":""`...)
			head = 2
		}
		switch tag {
		case 0:
			return append(b, '}'), nil
		case auditTagPayloadKey:
			b = appendJSONString(b, strs[0])
			head = 1
		case auditTagResult:
			b = append(b, `,"result":`...)
			b = appendJSONString(b, strs[0])
			head = 2
		case auditTagIP, auditTagAgent, auditTagApp, auditTagUser, auditTagActorUser:
			if len(strs[0]) > 0 {
				b = append(b, auditJSONNames[tag]...)
				b = appendJSONString(b, strs[0])
			}
		case auditTagIPv4, auditTagIPv6:
			b = append(b, `,"ip":"`...)
			b = append(ip.AppendTo(b), '"')
		case auditTagTarget:
			b = append(b, `,"target":{"type":`...)
			b = appendJSONString(b, strs[0])
			b = append(b, `,"id":`...)
			b = appendJSONString(b, strs[1])
			b = append(b, '}')
		case auditTagParams, auditTagError:
			b = append(b, auditJSONNames[tag]...)
			for i := 0; i < len(strs); i += 2 {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, strs[i])
				b = append(b, ':')
				b = appendJSONString(b, strs[i+1])
			}
			b = append(b, '}')
		case auditTagTokenTypes:
			b = append(b, `,"tokenTypes":[`...)
			for i, s := range strs {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, s)
			}
			b = append(b, ']')
		}
	}
}

// decodeCompactPayload builds the payload of a compact record's fields,
// entry key key.
func decodeCompactPayload(key string, fields []byte) (*AuditPayload, error) {
	p := &AuditPayload{Key: key}
	fr := newAuditFieldReader(fields)
	for {
		tag, ip, strs, err := fr.next()
		if err != nil || tag == 0 {
			return p, err
		}
		switch tag {
		case auditTagPayloadKey:
			p.Key = string(strs[0])
		case auditTagResult:
			p.Result = string(strs[0])
		case auditTagIP:
			p.IP = string(strs[0])
		case auditTagIPv4, auditTagIPv6:
			p.IP = ip.String()
		case auditTagAgent:
			p.UserAgent = string(strs[0])
		case auditTagApp:
			p.ApplicationID = string(strs[0])
		case auditTagUser:
			p.UserID = string(strs[0])
		case auditTagActorUser:
			p.ActorUserID = string(strs[0])
		case auditTagTarget:
			p.Target = &AuditTarget{Type: string(strs[0]), ID: string(strs[1])}
		case auditTagParams, auditTagError:
			m := make(map[string]string, len(strs)/2)
			for i := 0; i < len(strs); i += 2 {
				m[string(strs[i])] = string(strs[i+1])
			}
			if tag == auditTagParams {
				p.Params = m
			} else {
				p.Error = m
			}
		case auditTagTokenTypes:
			p.TokenTypes = make([]string, len(strs))
			for i, s := range strs {
				p.TokenTypes[i] = string(s)
			}
		}
	}
}

// compactAuditWho returns the userId, actorUserId and applicationId of a
// compact record's fields, for filtering, without building anything.
func compactAuditWho(fields []byte) (user, actor, app []byte, err error) {
	fr := newAuditFieldReader(fields)
	for {
		tag, _, strs, err := fr.next()
		switch {
		case err != nil:
			return nil, nil, nil, err
		case tag == 0:
			return user, actor, app, nil
		case tag == auditTagUser:
			user = strs[0]
		case tag == auditTagActorUser:
			actor = strs[0]
		case tag == auditTagApp:
			app = strs[0]
		}
	}
}

// decodeCompactAudit parses the head of a compact record stored under
// sequence seq; its fields are read when the entry is returned or filtered.
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
	var id [auditSeqDigits + auditSuffixDigits]byte
	for i := len(id) - 1; i >= auditSeqDigits; i-- {
		id[i] = idAlphabet[n%36]
		n /= 36
	}
	for i := auditSeqDigits - 1; i >= 0; i-- {
		id[i] = idAlphabet[seq%36]
		seq /= 36
	}
	r.ID = string(id[:])
	d := auditDecoder{v: v[6:]}
	var err error
	if r.Key, err = d.str(); err != nil {
		return r, err
	}
	r.compact, r.fields = true, d.v
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
