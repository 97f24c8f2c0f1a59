package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/idbolt/idbolt/store/kv"
)

// A user record is stored in a compact binary form: users are the largest
// bucket of most files, and JSON spent most of a record on field names and
// quoting. The form is a version byte, then one (tag, value) pair per
// non-empty field, in tag order:
//
//   - strings (and JSON objects: customData, identities, profile) are a
//     uvarint length and the bytes; a present string may be empty, since
//     null and "" differ for the API;
//   - numbers are varints; updatedAt is stored as its difference from
//     createdAt, one byte for a record never updated;
//   - booleans are their tag alone, present when true.
//
// The sequence number is the record's key and is not repeated. Records
// written by versions before this form are JSON objects (first byte '{'):
// Open rewrites them once (upgradeUserRecords), and decodeUserRecord still
// reads them, so that a record is never lost to its form.
const userRecordV1 byte = 1

// Field tags of userRecordV1. Values are stable: they are in files.
const (
	userTagID byte = iota + 1
	userTagUsername
	userTagEmail
	userTagPhone
	userTagName
	userTagAvatar
	userTagCustomData
	userTagIdentities
	userTagProfile
	userTagApplicationID
	userTagSuspended
	userTagPassword
	userTagLastSignIn
	userTagServiceAccount
	userTagCreatedAt
	userTagUpdatedAt
)

// encodeUserRecord returns r in the binary form.
func encodeUserRecord(r *userRecord) ([]byte, error) {
	b := make([]byte, 0, 96+len(r.PasswordHash))
	b = append(b, userRecordV1)
	str := func(tag byte, s string) {
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	optStr := func(tag byte, s *string) {
		if s != nil {
			str(tag, *s)
		}
	}
	blob := func(tag byte, v any) error {
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode user %s: %w", r.ID, err)
		}
		str(tag, string(data))
		return nil
	}
	str(userTagID, r.ID)
	optStr(userTagUsername, r.Username)
	optStr(userTagEmail, r.PrimaryEmail)
	optStr(userTagPhone, r.PrimaryPhone)
	optStr(userTagName, r.Name)
	optStr(userTagAvatar, r.Avatar)
	if len(r.CustomData) > 0 {
		if err := blob(userTagCustomData, r.CustomData); err != nil {
			return nil, err
		}
	}
	if len(r.Identities) > 0 {
		if err := blob(userTagIdentities, r.Identities); err != nil {
			return nil, err
		}
	}
	if r.Profile != (Profile{}) {
		if err := blob(userTagProfile, r.Profile); err != nil {
			return nil, err
		}
	}
	optStr(userTagApplicationID, r.ApplicationID)
	if r.IsSuspended {
		b = append(b, userTagSuspended)
	}
	if r.PasswordHash != "" {
		str(userTagPassword, r.PasswordHash)
	}
	if r.LastSignInAt != nil {
		b = append(b, userTagLastSignIn)
		b = binary.AppendVarint(b, *r.LastSignInAt)
	}
	if r.ServiceAccount != "" {
		str(userTagServiceAccount, r.ServiceAccount)
	}
	b = append(b, userTagCreatedAt)
	b = binary.AppendVarint(b, r.CreatedAt)
	b = append(b, userTagUpdatedAt)
	b = binary.AppendVarint(b, r.UpdatedAt-r.CreatedAt)
	return b, nil
}

var errUserRecordTruncated = errors.New("truncated")

// decodeUserRecord parses the record stored at key k (the sequence
// number), in the binary form or as the JSON of older versions. A record
// that does not parse is an error, never skipped.
func decodeUserRecord(k, v []byte) (userRecord, error) {
	var r userRecord
	if len(v) > 0 && v[0] == '{' {
		if err := json.Unmarshal(v, &r); err != nil {
			return userRecord{}, fmt.Errorf("decode user %x: %w", k, err)
		}
		return r, nil
	}
	if err := r.decodeV1(v); err != nil {
		return userRecord{}, fmt.Errorf("decode user %x: %w", k, err)
	}
	if len(k) != 8 {
		return userRecord{}, fmt.Errorf("decode user %x: key is not a sequence number", k)
	}
	r.Seq = btoi(k)
	return r, nil
}

// decodeV1 fills r from a record in the binary form.
func (r *userRecord) decodeV1(v []byte) error {
	if len(v) == 0 || v[0] != userRecordV1 {
		return fmt.Errorf("unknown user record format")
	}
	v = v[1:]
	str := func() (string, error) {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return "", errUserRecordTruncated
		}
		s := string(v[w : w+int(n)])
		v = v[w+int(n):]
		return s, nil
	}
	num := func() (int64, error) {
		n, w := binary.Varint(v)
		if w <= 0 {
			return 0, errUserRecordTruncated
		}
		v = v[w:]
		return n, nil
	}
	optStr := func(dst **string) error {
		s, err := str()
		*dst = &s
		return err
	}
	blob := func(dst any) error {
		s, err := str()
		if err != nil {
			return err
		}
		return json.Unmarshal([]byte(s), dst)
	}
	var last byte
	for len(v) > 0 {
		tag := v[0]
		if tag <= last {
			return fmt.Errorf("field %d out of order", tag)
		}
		last, v = tag, v[1:]
		var err error
		switch tag {
		case userTagID:
			r.ID, err = str()
		case userTagUsername:
			err = optStr(&r.Username)
		case userTagEmail:
			err = optStr(&r.PrimaryEmail)
		case userTagPhone:
			err = optStr(&r.PrimaryPhone)
		case userTagName:
			err = optStr(&r.Name)
		case userTagAvatar:
			err = optStr(&r.Avatar)
		case userTagCustomData:
			err = blob(&r.CustomData)
		case userTagIdentities:
			err = blob(&r.Identities)
		case userTagProfile:
			err = blob(&r.Profile)
		case userTagApplicationID:
			err = optStr(&r.ApplicationID)
		case userTagSuspended:
			r.IsSuspended = true
		case userTagPassword:
			r.PasswordHash, err = str()
		case userTagLastSignIn:
			var t int64
			t, err = num()
			r.LastSignInAt = &t
		case userTagServiceAccount:
			r.ServiceAccount, err = str()
		case userTagCreatedAt:
			r.CreatedAt, err = num()
		case userTagUpdatedAt:
			var d int64
			d, err = num()
			r.UpdatedAt = r.CreatedAt + d
		default:
			return fmt.Errorf("unknown field %d", tag)
		}
		if err != nil {
			return fmt.Errorf("field %d: %w", tag, err)
		}
	}
	if r.ID == "" || last != userTagUpdatedAt {
		// id, createdAt and updatedAt are always written, updatedAt last.
		return fmt.Errorf("no id or no times")
	}
	return nil
}

// putUserRecord stores r at its sequence number in users.
func putUserRecord(users interface{ Put([]byte, []byte) error }, r *userRecord) error {
	data, err := encodeUserRecord(r)
	if err != nil {
		return err
	}
	return users.Put(itob(r.Seq), data)
}

// keyUserRecordFormat is a marker that builds before the file format
// version wrote in the root meta bucket once their user records were
// binary; the migration to format 2 removes it.
var keyUserRecordFormat = []byte("user_record_format")

// upgradeUserRecords rewrites the JSON user records of every tenant in the
// binary form (format 2). It returns how many records it rewrote.
func upgradeUserRecords(meta, tenants *kv.Bucket) (int, error) {
	n := 0
	err := tenants.ForEachBucket(func(name []byte) error {
		users := tenants.Bucket(name).Bucket(bucketUsers)
		if users == nil {
			return nil
		}
		users.SetFillPercent(1.0)
		var old [][]byte
		if err := users.ForEach(func(k, v []byte) error {
			if len(v) > 0 && v[0] == '{' {
				old = append(old, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range old {
			r, err := decodeUserRecord(k, users.Get(k))
			if err != nil {
				return fmt.Errorf("tenant %s: %w", name, err)
			}
			r.Seq = btoi(k)
			if err := putUserRecord(users, &r); err != nil {
				return err
			}
		}
		n += len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("upgrade user records: %w", err)
	}
	return n, meta.Delete(keyUserRecordFormat)
}
