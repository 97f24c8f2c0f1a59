package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/idbolt/idbolt/store/kv"
)

// Verification codes, Logto's passcodes of the Management API: a six-digit
// code sent to an email address or phone number, verified once.
const (
	// VerificationCodeTTL is how long a code can be verified, Logto's
	// passcodeExpiration.
	VerificationCodeTTL = 10 * time.Minute
	// VerificationCodeMaxTries is how many wrong codes void a code, Logto's
	// passcodeMaxTryCount.
	VerificationCodeMaxTries = 10
	// VerificationCodeInterval is the least time between two codes sent to
	// one recipient, and VerificationCodesPerHour how many it gets in an
	// hour: a caller cannot flood a person's inbox or phone, nor spend the
	// tenant's email or SMS budget on one recipient.
	VerificationCodeInterval = time.Minute
	VerificationCodesPerHour = 5
	// verificationSweep bounds how many stale recipients one send removes,
	// so that a send's cost stays bounded however many there are.
	verificationSweep = 64
)

// The buckets of verification codes (declared in tenantSchema).
var (
	bucketVerificationCodes     = []byte("verification_codes")
	bucketVerificationCodesTime = []byte("verification_codes_by_time")
)

// VerificationTarget is the recipient of a verification code: an email
// address or a phone number, exactly one of them.
type VerificationTarget struct {
	Email string
	Phone string
}

// key returns the recipient as stored: the kind and the email in lower
// case or the phone in its normal form, so that one person is one
// recipient however the number or address is written. Returns EINVALID.
func (t VerificationTarget) key() (kind, to, key string, err error) {
	switch {
	case t.Email != "" && t.Phone != "":
		return "", "", "", fieldError("email", "give an email or a phone, not both")
	case t.Email != "":
		if len(t.Email) > maxShortField || !emailRE.MatchString(t.Email) || !validText(t.Email, false) {
			return "", "", "", fieldError("email", "must be an email address")
		}
		return ConnectorEmail, t.Email, "e:" + strings.ToLower(t.Email), nil
	case t.Phone != "":
		digits := strings.TrimPrefix(t.Phone, "+")
		if len(digits) == 0 || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
			return "", "", "", fieldError("phone", "must be a phone number of digits, optionally led by +")
		}
		if n, err := NormalizePhone(t.Phone); err == nil {
			digits = n
		}
		return ConnectorSms, t.Phone, "p:" + digits, nil
	}
	return "", "", "", detailErrorf(EINVALID, "verification_code.phone_email_empty", "Both phone and email are empty.")
}

// verificationRecord is a recipient's code and recent sends.
type verificationRecord struct {
	// Hash is the HMAC of the live code (hashSecret); empty once it was
	// used or voided.
	Hash      []byte `json:"h,omitempty"`
	CreatedAt int64  `json:"ca"`
	Tries     int    `json:"t,omitempty"`
	// Sends are the times of the sends of the last hour, oldest first;
	// the last one keys the record in the time index.
	Sends []int64 `json:"s"`
}

// verificationHash binds a code to its tenant and recipient, keyed with
// the file's secret-hash key: six digits alone would fall to a brute force
// of a stolen file.
func (db *DB) verificationHash(tenant, key, code string) []byte {
	return db.hashSecret("verification-code\x00" + tenant + "\x00" + key + "\x00" + code)
}

// newVerificationCode returns six random digits.
func newVerificationCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func verificationTimeKey(at int64, key string) []byte {
	return append(itob(uint64(at)), key...)
}

// CreateVerificationCode makes a new code for to, replacing the one it
// had, and returns it with the tenant's connector that sends it (its
// config in clear: for the sender only). The caller sends it; the send
// counts against the recipient's limits even when it then fails, since
// the connector's service may have taken it. Returns EINVALID,
// ENOTIMPLEMENTED (connector.not_found) when the tenant has no connector
// of the recipient's kind, ETOOMANYREQUESTS with RetryAfter when the
// recipient had a code in the last VerificationCodeInterval or
// VerificationCodesPerHour in the last hour.
func (db *DB) CreateVerificationCode(ctx context.Context, tenant string, to VerificationTarget) (code string, c *Connector, err error) {
	kind, _, key, err := to.key()
	if err != nil {
		return "", nil, err
	}
	if code, err = newVerificationCode(); err != nil {
		return "", nil, err
	}
	hash := db.verificationHash(tenant, key, code)
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		conn, err := connectorOfType(tx, kind)
		if err != nil {
			return err
		}
		if conn == nil {
			return detailErrorf(ENOTIMPLEMENTED, "connector.not_found", "The tenant has no %s connector.", kind)
		}
		if c, err = conn.forSending(tx); err != nil {
			return err
		}
		records, err := tx.bucket(bucketVerificationCodes)
		if err != nil {
			return err
		}
		byTime, err := tx.bucket(bucketVerificationCodesTime)
		if err != nil {
			return err
		}
		now := msec(tx.now)
		if err := sweepVerificationCodes(records, byTime, now); err != nil {
			return err
		}
		var r verificationRecord
		if v := records.Get([]byte(key)); v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode verification code: %w", err)
			}
		}
		if err := checkSendLimits(&r, now); err != nil {
			return err
		}
		if n := len(r.Sends); n > 0 {
			if err := byTime.Delete(verificationTimeKey(r.Sends[n-1], key)); err != nil {
				return err
			}
		}
		r.Hash, r.CreatedAt, r.Tries, r.Sends = hash, now, 0, append(r.Sends, now)
		if err := byTime.Put(verificationTimeKey(now, key), nil); err != nil {
			return err
		}
		return putJSON(records, []byte(key), r)
	})
	if err != nil {
		return "", nil, err
	}
	return code, c, nil
}

// checkSendLimits drops from r the sends older than an hour and refuses a
// new one beyond the recipient's limits.
func checkSendLimits(r *verificationRecord, now int64) error {
	hourAgo := now - time.Hour.Milliseconds()
	kept := r.Sends[:0]
	for _, at := range r.Sends {
		if at > hourAgo {
			kept = append(kept, at)
		}
	}
	r.Sends = kept
	var wait time.Duration
	if n := len(r.Sends); n > 0 && now-r.Sends[n-1] < VerificationCodeInterval.Milliseconds() {
		wait = time.Duration(r.Sends[n-1]+VerificationCodeInterval.Milliseconds()-now) * time.Millisecond
	} else if len(r.Sends) >= VerificationCodesPerHour {
		wait = time.Duration(r.Sends[len(r.Sends)-VerificationCodesPerHour]-hourAgo) * time.Millisecond
	}
	if wait > 0 {
		return &Error{Code: ETOOMANYREQUESTS, Detail: "request.message_rate_limited", RetryAfter: wait,
			Message: "Too many verification codes were sent to this recipient. Try again later."}
	}
	return nil
}

// sweepVerificationCodes removes up to verificationSweep recipients whose
// last send is over an hour old: their code has expired and they count
// against no limit, so they hold nothing.
func sweepVerificationCodes(records, byTime *kv.Bucket, now int64) error {
	cutoff := itob(uint64(now - time.Hour.Milliseconds()))
	var stale [][]byte
	cur := byTime.Cursor()
	for k, _ := cur.First(); k != nil && len(stale) < verificationSweep && bytes.Compare(k[:8], cutoff) <= 0; k, _ = cur.Next() {
		stale = append(stale, bytes.Clone(k))
	}
	for _, k := range stale {
		if err := records.Delete(k[8:]); err != nil {
			return err
		}
		if err := byTime.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// VerifyVerificationCode checks code against to's live code, which it then
// uses up: a code verifies once. A wrong code counts as a try, and
// VerificationCodeMaxTries of them void the code. Returns EINVALID with
// Logto's codes: verification_code.not_found (none sent, or used),
// .expired, .exceed_max_try, .code_mismatch.
func (db *DB) VerifyVerificationCode(ctx context.Context, tenant string, to VerificationTarget, code string) error {
	_, _, key, err := to.key()
	if err != nil {
		return err
	}
	hash := db.verificationHash(tenant, key, code)
	var refused error // a wrong code is refused, but its try is committed
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		records, err := tx.bucket(bucketVerificationCodes)
		if err != nil {
			return err
		}
		var r verificationRecord
		v := records.Get([]byte(key))
		if v != nil {
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode verification code: %w", err)
			}
		}
		switch {
		case len(r.Hash) == 0:
			return detailErrorf(EINVALID, "verification_code.not_found", "Verification code not found. Please send verification code first.")
		case msec(tx.now) >= r.CreatedAt+VerificationCodeTTL.Milliseconds():
			return detailErrorf(EINVALID, "verification_code.expired", "Verification code has expired. Please send verification code again.")
		case r.Tries >= VerificationCodeMaxTries:
			return detailErrorf(EINVALID, "verification_code.exceed_max_try",
				"Verification code retries limitation exceeded. Please request a new verification code.")
		case subtle.ConstantTimeCompare(hash, r.Hash) != 1:
			r.Tries++
			refused = detailErrorf(EINVALID, "verification_code.code_mismatch", "Invalid verification code.")
		default:
			r.Hash, r.Tries = nil, 0
		}
		return putJSON(records, []byte(key), r)
	})
	if err != nil {
		return err
	}
	return refused
}
