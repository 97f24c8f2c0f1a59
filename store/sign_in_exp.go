package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// A tenant's sign-in experience is Logto's one settings document of
// /api/sign-in-exp. idbolt hosts no sign-in page, so it keeps most of the
// document only to give it back; what acts here is the password expiration
// policy and, as its requirement, the forgot password methods against the
// tenant's email and SMS connectors. The document lives under one key of
// the tenant's meta bucket, absent until the first PATCH.

// keySignInExperience is the key of the tenant meta bucket that holds the
// sign-in experience (signInExpRecord).
var keySignInExperience = []byte("sign_in_experience")

// Logto's forgot password methods.
const (
	ForgotPasswordByEmail = "EmailVerificationCode"
	ForgotPasswordByPhone = "PhoneVerificationCode"
)

// PasswordExpiration is the password expiration policy. Set is false while
// no PATCH has set it (Logto's {}); a disabled policy has no period.
type PasswordExpiration struct {
	Set             bool
	Enabled         bool
	ValidPeriodDays int64
	// EnabledAt is when the policy was last turned on (epoch ms), kept
	// while it stays on: a password with no recorded change counts from
	// it, so turning the policy on never expires passwords at once.
	EnabledAt int64
}

// SignInExperience is a tenant's stored sign-in experience.
type SignInExperience struct {
	// Fields are the other top-level fields a PATCH set, as their JSON;
	// the api validates them and gives Logto's default for the rest.
	Fields             map[string]json.RawMessage
	PasswordExpiration PasswordExpiration
	// ForgotPasswordMethods is nil for Logto's null (any email or SMS
	// connector will do) and empty (Logto's default) for none.
	ForgotPasswordMethods []string
}

// PasswordExpirationUpdate is the passwordExpiration of a PATCH, already
// checked against Logto's schema: Enabled false turns the policy off; true
// (with ValidPeriodDays at least 1) turns it on or changes its period; nil
// keeps it as it is.
type PasswordExpirationUpdate struct {
	Enabled         *bool
	ValidPeriodDays int64
}

// SignInExperienceUpdate is a PATCH of the sign-in experience. Nil fields
// are left as they are.
type SignInExperienceUpdate struct {
	Fields             map[string]json.RawMessage
	PasswordExpiration *PasswordExpirationUpdate
	// ForgotPasswordMethods points to the new methods, or to nil for null.
	ForgotPasswordMethods *[]string
}

// signInExpRecord is a SignInExperience as stored.
type signInExpRecord struct {
	Fields map[string]json.RawMessage `json:"f,omitempty"`
	// PE is absent until passwordExpiration is first set.
	PE *passwordExpirationRecord `json:"pe,omitempty"`
	// FPM is the forgot password methods; JSON null for Logto's null.
	FPM []string `json:"fpm"`
}

type passwordExpirationRecord struct {
	Enabled   bool  `json:"e,omitempty"`
	Days      int64 `json:"d,omitempty"`
	EnabledAt int64 `json:"at,omitempty"`
}

func (r *signInExpRecord) toSignInExperience() *SignInExperience {
	s := &SignInExperience{Fields: r.Fields, ForgotPasswordMethods: r.FPM}
	if r.PE != nil {
		s.PasswordExpiration = PasswordExpiration{Set: true, Enabled: r.PE.Enabled, ValidPeriodDays: r.PE.Days, EnabledAt: r.PE.EnabledAt}
	}
	return s
}

// readSignInExp returns the tenant's sign-in experience record, or Logto's
// default (no fields, no policy, no forgot password methods).
func readSignInExp(tx *Tx) (*signInExpRecord, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return nil, err
	}
	v := meta.Get(keySignInExperience)
	if v == nil {
		return &signInExpRecord{FPM: []string{}}, nil
	}
	var r signInExpRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("decode sign-in experience: %w", err)
	}
	return &r, nil
}

// passwordExpirationOn reports whether the tenant's policy is on, as the
// expiration route asks it (enabled with a period).
func (r *signInExpRecord) passwordExpirationOn() bool {
	return r.PE != nil && r.PE.Enabled && r.PE.Days > 0
}

// FindSignInExperience returns the tenant's sign-in experience.
func (db *DB) FindSignInExperience(ctx context.Context, tenant string) (*SignInExperience, error) {
	var out *SignInExperience
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := readSignInExp(tx)
		if err != nil {
			return err
		}
		out = r.toSignInExperience()
		return nil
	})
	return out, err
}

// UpdateSignInExperience applies in to the tenant's sign-in experience as
// Logto's PATCH /api/sign-in-exp does, and returns the result. Returns
// EINVALID (sign_in_experiences.forgot_password_method_requires_connector)
// for a forgot password method without a connector of its type, and
// EUNPROCESSABLE (sign_in_experiences.password_expiration_requires_forgot_password)
// when the policy is, or stays, on without a forgot password method that
// has a connector: Logto checks that on every PATCH while the policy is on.
func (db *DB) UpdateSignInExperience(ctx context.Context, tenant string, in SignInExperienceUpdate) (*SignInExperience, error) {
	var out *SignInExperience
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := readSignInExp(tx)
		if err != nil {
			return err
		}
		// Logto checks each method of the PATCH, but a null PATCH leaves
		// the check of the policy below to the stored methods.
		methods := r.FPM
		if in.ForgotPasswordMethods != nil && *in.ForgotPasswordMethods != nil {
			methods = *in.ForgotPasswordMethods
			hasEmail, hasPhone, err := forgotPasswordAvailability(tx, nil, "")
			if err != nil {
				return err
			}
			for _, m := range methods {
				switch {
				case m == ForgotPasswordByEmail && !hasEmail:
					return errForgotPasswordNeedsConnector("email")
				case m == ForgotPasswordByPhone && !hasPhone:
					return errForgotPasswordNeedsConnector("sms")
				}
			}
		}
		pe := r.PE
		if p := in.PasswordExpiration; p != nil && p.Enabled != nil {
			switch {
			case !*p.Enabled:
				pe = &passwordExpirationRecord{}
			case r.PE != nil && r.PE.Enabled && r.PE.EnabledAt != 0:
				pe = &passwordExpirationRecord{Enabled: true, Days: p.ValidPeriodDays, EnabledAt: r.PE.EnabledAt}
			default:
				pe = &passwordExpirationRecord{Enabled: true, Days: p.ValidPeriodDays, EnabledAt: msec(tx.now)}
			}
		}
		// A policy without enabled keeps what is stored; on a tenant that
		// never set one, Logto stores the {} it was sent, which is its
		// default, so nothing is stored here.
		if pe != nil && pe.Enabled {
			email, phone, err := forgotPasswordAvailability(tx, methods, "")
			if err != nil {
				return err
			}
			if !email && !phone {
				return errPasswordExpirationNeedsForgotPassword()
			}
		}
		for k, v := range in.Fields {
			if r.Fields == nil {
				r.Fields = map[string]json.RawMessage{}
			}
			r.Fields[k] = v
		}
		if in.ForgotPasswordMethods != nil {
			r.FPM = *in.ForgotPasswordMethods
		}
		r.PE = pe
		v, err := json.Marshal(r)
		if err != nil {
			return err
		}
		meta, err := tx.bucket(bucketTenantMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySignInExperience, v); err != nil {
			return err
		}
		out = r.toSignInExperience()
		return tx.auditTarget("Management.SignInExperience.Update", "signInExperience", "default")
	})
	return out, err
}

// errForgotPasswordNeedsConnector is Logto's answer to a forgot password
// method whose connector type (email or sms) the tenant has no connector of.
func errForgotPasswordNeedsConnector(what string) *Error {
	return detailErrorf(EINVALID, "sign_in_experiences.forgot_password_method_requires_connector",
		"Forgot password method requires a corresponding %s connector to be configured.", what)
}

func errPasswordExpirationNeedsForgotPassword() *Error {
	return detailErrorf(EUNPROCESSABLE, "sign_in_experiences.password_expiration_requires_forgot_password",
		"Password expiration requires at least one forgot password method with a valid connector.")
}

// forgotPasswordAvailability reports whether methods offer a forgot
// password by email and by phone with the tenant's connectors, leaving out
// connector except (one being deleted), as Logto's
// getForgotPasswordAvailability: nil methods offer whatever has a
// connector.
func forgotPasswordAvailability(tx *Tx, methods []string, except string) (email, phone bool, err error) {
	records, err := tx.bucket(bucketConnectors)
	if err != nil {
		return false, false, err
	}
	err = records.ForEach(func(k, v []byte) error {
		if string(k) == except {
			return nil
		}
		var r connectorRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode connector %s: %w", k, err)
		}
		f, err := FindConnectorFactory(r.Factory)
		if err != nil {
			return nil // a factory this version no longer has sends nothing
		}
		email = email || f.Type == ConnectorEmail
		phone = phone || f.Type == ConnectorSms
		return nil
	})
	if methods != nil {
		email = email && slices.Contains(methods, ForgotPasswordByEmail)
		phone = phone && slices.Contains(methods, ForgotPasswordByPhone)
	}
	return email, phone, err
}

// checkConnectorDeletable refuses to delete connector id when that would
// leave the password expiration policy, which is on, with no way to reset
// a password (Logto's connector delete check). Returns EUNPROCESSABLE.
func checkConnectorDeletable(tx *Tx, id string) error {
	r, err := readSignInExp(tx)
	if err != nil || r.PE == nil || !r.PE.Enabled {
		return err
	}
	email, phone, err := forgotPasswordAvailability(tx, r.FPM, id)
	if err != nil {
		return err
	}
	if !email && !phone {
		return errPasswordExpirationNeedsForgotPassword()
	}
	return nil
}
