package store

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// A hook event is written inside the transaction of the change it reports,
// and every write commits through one loop: what the event costs to encode
// is paid by every write of the tenant while a hook subscribes. So events
// are stored in a compact binary form rather than JSON:
//
//	[hookEventV1][varint createdAt ms][str id][str event]
//	[uvarint n][n str hook ids][str path][str method][str route]
//	[uvarint status][uvarint n][n (str name, str value), sorted by name]
//	[str ip][str userAgent][str applicationId][str kind][data]
//
// A str is a uvarint length and the bytes. data is the rest of the record:
// for kind "user" the user's record in its own binary form
// (encodeUserRecord) without the password hash; for the other kinds the
// entity's JSON; nothing when kind is empty. Events written before this
// form are JSON objects (first byte '{') and are still read, so an upgrade
// with events in the outbox delivers them.
const hookEventV1 byte = 1

// hookEventData is the changed entity an event carries: a user's record,
// or any other entity (encoded as JSON).
type hookEventData struct {
	kind string
	user *userRecord
	v    any
}

// hookPasswordMark stands for a user's password hash in an event's copy of
// the record: the payload says whether the user has a password (toUser's
// HasPassword), never what its hash is, and an event outlives a deleted
// user until every hook is past it.
const hookPasswordMark = "-"

// appendHookEventRecord appends rec (whose Data and Kind are ignored) with data.
func appendHookEventRecord(b []byte, rec *hookEventRecord, data hookEventData) ([]byte, error) {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, hookEventV1)
	b = binary.AppendVarint(b, rec.CreatedAt)
	str(rec.ID)
	str(rec.Event)
	b = binary.AppendUvarint(b, uint64(len(rec.Hooks)))
	for _, h := range rec.Hooks {
		str(h)
	}
	str(rec.Path)
	str(rec.Method)
	str(rec.Route)
	b = binary.AppendUvarint(b, uint64(max(rec.Status, 0)))
	names := make([]string, 0, len(rec.Params))
	for k := range rec.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		str(k)
		str(rec.Params[k])
	}
	str(rec.IP)
	str(rec.UserAgent)
	str(rec.AppID)
	switch {
	case data.user != nil:
		str(data.kind)
		r := *data.user
		if r.PasswordHash != "" {
			r.PasswordHash = hookPasswordMark
		}
		u, err := encodeUserRecord(&r)
		if err != nil {
			return nil, err
		}
		b = append(b, u...)
	case data.v != nil:
		str(data.kind)
		j, err := json.Marshal(data.v)
		if err != nil {
			return nil, fmt.Errorf("encode hook event data: %w", err)
		}
		b = append(b, j...)
	default:
		str("")
	}
	return b, nil
}

var errHookEventTruncated = errors.New("truncated")

// hookEventReader reads the binary form; the first error sticks.
type hookEventReader struct {
	v   []byte
	err error
}

func (r *hookEventReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	n, w := binary.Uvarint(r.v)
	if w <= 0 {
		r.err = errHookEventTruncated
		return 0
	}
	r.v = r.v[w:]
	return n
}

func (r *hookEventReader) str() string {
	n := r.count()
	s := string(r.v[:n])
	r.v = r.v[n:]
	return s
}

// count reads a length, or a number of items that take a byte each at
// least, no more than the bytes left: a corrupt count is refused before
// anything is allocated for it.
func (r *hookEventReader) count() int {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.v)) {
		r.err = cmp.Or(r.err, errHookEventTruncated)
		return 0
	}
	return int(n)
}

// head reads a V1 record up to its hook ids into rec.
func (r *hookEventReader) head(rec *hookEventRecord) {
	if len(r.v) == 0 || r.v[0] != hookEventV1 {
		r.err = errors.New("unknown hook event format")
		return
	}
	createdAt, w := binary.Varint(r.v[1:])
	if w <= 0 {
		r.err = errHookEventTruncated
		return
	}
	r.v = r.v[1+w:]
	rec.CreatedAt = createdAt
	rec.ID, rec.Event = r.str(), r.str()
	n := r.count()
	rec.Hooks = make([]string, 0, n)
	for range n {
		rec.Hooks = append(rec.Hooks, r.str())
	}
}

// hookEventHooks returns the ids of the hooks a stored event lists, without
// decoding the rest.
func hookEventHooks(v []byte) ([]string, error) {
	var rec hookEventRecord
	if len(v) > 0 && v[0] == '{' {
		err := json.Unmarshal(v, &rec)
		return rec.Hooks, err
	}
	r := hookEventReader{v: v}
	r.head(&rec)
	return rec.Hooks, r.err
}

// decodeHookEventRecord parses a stored event, in either form, into its
// record and the changed entity (nil when it carries none).
func decodeHookEventRecord(v []byte) (hookEventRecord, any, error) {
	var rec hookEventRecord
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &rec); err != nil {
			return rec, nil, err
		}
		data, err := decodeSnapshot(rec.Kind, rec.Data)
		return rec, data, err
	}
	r := hookEventReader{v: v}
	r.head(&rec)
	rec.Path, rec.Method, rec.Route = r.str(), r.str(), r.str()
	rec.Status = int(r.uvarint())
	if n := r.count(); n > 0 {
		rec.Params = make(map[string]string, n)
		for range n {
			k := r.str()
			rec.Params[k] = r.str()
		}
	}
	rec.IP, rec.UserAgent, rec.AppID, rec.Kind = r.str(), r.str(), r.str(), r.str()
	if r.err != nil {
		return rec, nil, r.err
	}
	switch rec.Kind {
	case "":
		if len(r.v) > 0 {
			return rec, nil, errors.New("hook event: data without a kind")
		}
		return rec, nil, nil
	case "user":
		var u userRecord
		if err := u.decodeV1(r.v); err != nil {
			return rec, nil, fmt.Errorf("hook event user: %w", err)
		}
		return rec, u.toUser(), nil
	default:
		data, err := decodeSnapshot(rec.Kind, r.v)
		return rec, data, err
	}
}
