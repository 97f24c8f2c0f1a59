package store

import (
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
// Files written before normalisation hold phones as given (digits only).
// They are not rewritten: two users whose old spellings share one normal
// form would collide, and no migration can choose which of them keeps it.
// An old spelling stays findable by an exact search in that spelling, and
// the next PATCH of the phone stores the normal form.

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
