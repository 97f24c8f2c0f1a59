package store

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers are stored in Logto's normal form: the E.164 number without
// its leading +, so 610412345678, +61 412 345 678 and 61412345678 are one
// number, 61412345678 (the trunk 0 after the country code goes). The index,
// uniqueness and an exact search all use that form. Logto reads the input as
// an international number whether or not it starts with + and keeps it only
// when libphonenumber calls it valid; so does normalizePhone, with the Go
// port of the same library rather than rules of our own.
//
// Files written before normalisation hold phones as given (digits only,
// such as 610412345678). Migration 6 (normalizeStoredPhones) rewrites each
// into its normal form, so that uniqueness holds between old and new
// spellings of one number and an exact search finds it. It leaves a phone
// as it is when libphonenumber calls it invalid (nothing to normalise to),
// or when its normal form is already held (by a user who stored it so, or
// by an earlier phone in key order that normalises to it): choosing which
// of two users keeps a number is not a migration's to make. An old
// spelling left so stays findable by an exact search in that spelling.

// phoneInputRE is what a phone number may be written with: an optional +,
// then digits with the usual separators. Anything else (letters, which
// libphonenumber would read as a keypad's digits, or control characters)
// is refused before parsing.
var phoneInputRE = regexp.MustCompile(`^\+?[0-9][0-9 ()./-]*$`)

// NormalizePhone returns phone in the normal form idbolt stores (E.164
// digits without the +). Returns EINVALID (guard.invalid_input) for a value
// that is not written as a phone number, and EUNPROCESSABLE
// (user.invalid_phone) for one that is not a valid number.
func NormalizePhone(phone string) (string, error) {
	if len(phone) > maxShortField || !phoneInputRE.MatchString(phone) {
		return "", fieldError("primaryPhone", "must be a phone number (digits, optionally with a leading + and spaces, hyphens, dots or parentheses), at most %d characters", maxShortField)
	}
	n, err := phonenumbers.Parse(ensurePlus(phone), "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", invalidPhone()
	}
	return phonenumbers.Format(n, phonenumbers.E164)[1:], nil
}

// ensurePlus reads a number without + as international, as Logto does.
func ensurePlus(phone string) string {
	if phone[0] == '+' {
		return phone
	}
	return "+" + phone
}

func invalidPhone() *Error {
	return &Error{Code: EUNPROCESSABLE, Detail: "user.invalid_phone", Field: "primaryPhone",
		Message: "primaryPhone: the phone number is invalid."}
}

// normalizePhoneField normalises an optional phone in place (nil: not
// given). It returns the same errors as NormalizePhone.
func normalizePhoneField(v *string) (*string, error) {
	if v == nil {
		return nil, nil
	}
	n, err := NormalizePhone(*v)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// phoneSearchValues returns the values an exact search for phone compares
// with: the value as given, which finds a phone stored before
// normalisation, and its normal form when it has one.
func phoneSearchValues(phone string) []string {
	n, err := NormalizePhone(phone)
	if err != nil || n == phone {
		return []string{phone}
	}
	return []string{phone, n}
}

// normalizeStoredPhones is migration 6: every tenant's stored phones in
// their normal form, records and users_by_phone index together, except
// those described above. It walks the phone index, and the users only of
// a tenant with a phone to rewrite. updatedAt is kept: the number is the
// same, only its spelling changes.
func normalizeStoredPhones(u *upgrade) error {
	return u.tenants.ForEachBucket(func(name []byte) error {
		tenant := u.tenants.Bucket(name)
		users, byPhone := tenant.Bucket(bucketUsers), tenant.Bucket(bucketUsersByPhone)
		if users == nil || byPhone == nil {
			return nil
		}
		rewrite := map[string]string{} // old spelling -> normal form
		taken := map[string]bool{}
		if err := byPhone.ForEach(func(k, _ []byte) error {
			taken[string(k)] = true
			return nil
		}); err != nil {
			return err
		}
		if err := byPhone.ForEach(func(k, _ []byte) error {
			normal, err := NormalizePhone(string(k))
			if err == nil && normal != string(k) && !taken[normal] {
				rewrite[string(k)], taken[normal] = normal, true
			}
			return nil
		}); err != nil {
			return err
		}
		if len(rewrite) == 0 {
			return nil
		}
		var seqs [][]byte
		if err := users.ForEach(func(k, v []byte) error {
			r, err := decodeUserRecord(k, v)
			if err != nil {
				return fmt.Errorf("tenant %s: %w", name, err)
			}
			if r.PrimaryPhone != nil && rewrite[*r.PrimaryPhone] != "" {
				seqs = append(seqs, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range seqs {
			r, err := decodeUserRecord(k, users.Get(k))
			if err != nil {
				return fmt.Errorf("tenant %s: %w", name, err)
			}
			old := *r.PrimaryPhone
			normal := rewrite[old]
			r.Seq, r.PrimaryPhone = btoi(k), &normal
			ref := bytes.Clone(byPhone.Get([]byte(old)))
			if ref == nil {
				return fmt.Errorf("tenant %s: phone of user %s is not indexed", name, r.ID)
			}
			if err := putUserRecord(users, &r); err != nil {
				return fmt.Errorf("tenant %s: user %s: %w", name, r.ID, err)
			}
			if err := byPhone.Delete([]byte(old)); err != nil {
				return err
			}
			if err := byPhone.Put([]byte(normal), ref); err != nil {
				return err
			}
		}
		return nil
	})
}
