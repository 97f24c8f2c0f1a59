package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/kv"
)

// User is an end user of a tenant, with Logto's fields.
type User struct {
	ID            string
	Username      *string
	PrimaryEmail  *string
	PrimaryPhone  *string
	Name          *string
	Avatar        *string
	CustomData    map[string]any
	Identities    map[string]any
	Profile       Profile
	ApplicationID *string
	IsSuspended   bool
	HasPassword   bool
	LastSignInAt  *int64
	CreatedAt     int64
	UpdatedAt     int64
	// PasswordDigest and PasswordAlgorithm are the stored password in the
	// form Logto imports and exports (passwordDigest, passwordAlgorithm);
	// they are set only by FindUsers with UserFilter.WithPasswordDigests
	// and by FindUserWithPasswordDigest.
	PasswordDigest    *string
	PasswordAlgorithm *string
}

// Profile holds the OpenID Connect standard profile claims of a user, as Logto
// names them. Unknown keys are dropped on decode.
type Profile struct {
	FamilyName        string   `json:"familyName,omitempty"`
	GivenName         string   `json:"givenName,omitempty"`
	MiddleName        string   `json:"middleName,omitempty"`
	Nickname          string   `json:"nickname,omitempty"`
	PreferredUsername string   `json:"preferredUsername,omitempty"`
	Profile           string   `json:"profile,omitempty"`
	Website           string   `json:"website,omitempty"`
	Gender            string   `json:"gender,omitempty"`
	Birthdate         string   `json:"birthdate,omitempty"`
	Zoneinfo          string   `json:"zoneinfo,omitempty"`
	Locale            string   `json:"locale,omitempty"`
	Address           *Address `json:"address,omitempty"`
}

// Address is the OpenID Connect address claim.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"streetAddress,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Country       string `json:"country,omitempty"`
}

// merge returns p with every non-empty field of q laid over it.
func (p Profile) merge(q Profile) Profile {
	set := func(dst *string, src string) {
		if src != "" {
			*dst = src
		}
	}
	set(&p.FamilyName, q.FamilyName)
	set(&p.GivenName, q.GivenName)
	set(&p.MiddleName, q.MiddleName)
	set(&p.Nickname, q.Nickname)
	set(&p.PreferredUsername, q.PreferredUsername)
	set(&p.Profile, q.Profile)
	set(&p.Website, q.Website)
	set(&p.Gender, q.Gender)
	set(&p.Birthdate, q.Birthdate)
	set(&p.Zoneinfo, q.Zoneinfo)
	set(&p.Locale, q.Locale)
	if q.Address != nil {
		p.Address = q.Address
	}
	return p
}

// Field is one field of a PATCH body: Set is false when the field was absent
// (leave unchanged); Value is nil when it was null (clear it).
type Field[T any] struct {
	Set   bool
	Value *T
}

// UnmarshalJSON records that the field was present, and null or a value.
func (f *Field[T]) UnmarshalJSON(data []byte) error {
	f.Set = true
	if string(data) == "null" {
		f.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	f.Value = &v
	return nil
}

// UserCreate is the input of CreateUser.
type UserCreate struct {
	// ID is the new user's id; empty makes one. A given id (an import
	// keeping a source's ids) must be free: ECONFLICT otherwise.
	ID           string
	Username     *string
	PrimaryEmail *string
	PrimaryPhone *string
	Name         *string
	Avatar       *string
	Password     *string
	// PasswordDigest is an existing hash to import instead of Password, in
	// the format PasswordAlgorithm names (Logto's names: Argon2i, Argon2id,
	// Bcrypt, SHA256, SHA1, MD5; Argon2d and Legacy are refused).
	PasswordDigest    *string
	PasswordAlgorithm *string
	CustomData        map[string]any
	Profile           *Profile
}

// UserUpdate is the input of UpdateUser; absent fields stay unchanged.
type UserUpdate struct {
	Username     Field[string]
	PrimaryEmail Field[string]
	PrimaryPhone Field[string]
	Name         Field[string]
	Avatar       Field[string]
	CustomData   map[string]any // replaces the whole object when non-nil
	Profile      *Profile       // replaces the whole profile when non-nil
	IsSuspended  *bool
	// MergeCustomData and MergeProfile merge into the stored objects instead
	// of replacing them (the custom-data and profile sub-routes).
	MergeCustomData map[string]any
	MergeProfile    *Profile
}

// empty reports whether upd names no field at all.
func (upd *UserUpdate) empty() bool {
	return !upd.Username.Set && !upd.PrimaryEmail.Set && !upd.PrimaryPhone.Set && !upd.Name.Set &&
		!upd.Avatar.Set && upd.CustomData == nil && upd.Profile == nil && upd.IsSuspended == nil &&
		upd.MergeCustomData == nil && upd.MergeProfile == nil
}

// Validation follows Logto's guards.
var (
	usernameRE = regexp.MustCompile(`^[A-Z_a-z]\w*$`)
	emailRE    = regexp.MustCompile(`^\S+@\S+\.\S+$`)
)

const (
	maxShortField = 128
	maxURLField   = 2048
	maxPassword   = 256
)

// validatePattern checks an optional value against a length bound and re.
func validatePattern(field string, v *string, re *regexp.Regexp, rule string) error {
	if v != nil && (len(*v) > maxShortField || !re.MatchString(*v)) {
		return fieldError(field, "must be %s, at most %d characters", rule, maxShortField)
	}
	return nil
}

func validateUsername(v *string) error {
	return validatePattern("username", v, usernameRE, "a letter or underscore followed by letters, digits and underscores")
}

func validateEmail(v *string) error {
	// \S lets NUL and other control characters through.
	return firstErr(validatePattern("primaryEmail", v, emailRE, "an email address"), checkName("primaryEmail", v))
}

func validateName(v *string) error {
	if v != nil && (utf8.RuneCountInString(*v) > maxShortField || !utf8.ValidString(*v)) {
		return fieldError("name", "must be at most %d characters", maxShortField)
	}
	return checkName("name", v)
}

// validateProfile checks the name-like claims of a profile (nil: not
// given); the others are free text that Logto does not restrict.
func validateProfile(p *Profile) error {
	if p == nil {
		return nil
	}
	for _, f := range []struct {
		field string
		v     *string
	}{{"profile.familyName", &p.FamilyName}, {"profile.givenName", &p.GivenName}, {"profile.middleName", &p.MiddleName},
		{"profile.nickname", &p.Nickname}, {"profile.preferredUsername", &p.PreferredUsername}} {
		if err := checkName(f.field, f.v); err != nil {
			return err
		}
	}
	return nil
}

func validateAvatar(v *string) error {
	if v == nil || *v == "" {
		return nil
	}
	if !isWebURL(*v) {
		return fieldError("avatar", "must be an http(s) URL of at most %d characters, or empty", maxURLField)
	}
	return nil
}

// ValidatePassword checks a new password's length.
func ValidatePassword(field, v string) error {
	if v == "" || utf8.RuneCountInString(v) > maxPassword {
		return fieldError(field, "must be 1 to %d characters", maxPassword)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// validatePasswordInput applies Logto's rules on password, passwordDigest
// and passwordAlgorithm.
func validatePasswordInput(in UserCreate) error {
	if in.PasswordAlgorithm != nil {
		if err := checkPasswordAlgorithm(*in.PasswordAlgorithm); err != nil {
			return err
		}
	}
	switch {
	case in.Password != nil && in.PasswordDigest != nil:
		return detailErrorf(EINVALID, "user.password_and_digest", "You cannot set both plain text password and password digest.")
	case in.PasswordDigest != nil && in.PasswordAlgorithm == nil:
		return detailErrorf(EINVALID, "user.password_algorithm_required", "Password algorithm is required.")
	case in.Password != nil:
		return ValidatePassword("password", *in.Password)
	}
	return nil
}

// newUserRecord validates in and returns the record to insert, with an
// imported digest in place but without the hash of a plain password
// (hashing is the expensive part, so callers do it once every input is
// known to be valid) and without an id, which comes with the sequence at
// insert. Returns EINVALID.
func newUserRecord(in UserCreate) (userRecord, error) {
	if err := firstErr(validateUsername(in.Username), validateEmail(in.PrimaryEmail),
		validateName(in.Name), validateAvatar(in.Avatar),
		validateProfile(in.Profile), validatePasswordInput(in)); err != nil {
		return userRecord{}, err
	}
	phone, err := normalizePhoneField(in.PrimaryPhone)
	if err != nil {
		return userRecord{}, err
	}
	if in.ID != "" {
		if _, err := givenOrNewID(in.ID, userIDLen); err != nil {
			return userRecord{}, err
		}
	}
	rec := userRecord{ID: in.ID, Username: in.Username, PrimaryEmail: in.PrimaryEmail,
		PrimaryPhone: phone, Name: in.Name, Avatar: in.Avatar, CustomData: in.CustomData}
	if in.Profile != nil {
		rec.Profile = *in.Profile
	}
	if in.PasswordDigest != nil {
		hash, err := importPasswordDigest(*in.PasswordAlgorithm, *in.PasswordDigest)
		if err != nil {
			return userRecord{}, err
		}
		rec.PasswordHash = hash
	}
	return rec, nil
}

// CreateUser validates in, hashes the password (or checks the imported
// digest) and stores a new user. Returns EINVALID for bad input and ECONFLICT
// (422) when the username, email or phone is taken.
func (db *DB) CreateUser(ctx context.Context, tenant string, in UserCreate) (*User, error) {
	rec, err := newUserRecord(in)
	if err != nil {
		return nil, err
	}
	if in.Password != nil {
		if rec.PasswordHash, err = db.hasher.hash(ctx, tenant, *in.Password); err != nil {
			return nil, err
		}
	}
	var out *User
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		r := rec // the batch may run this more than once
		r.CreatedAt, r.UpdatedAt = msec(tx.now), msec(tx.now)
		if err := checkUserUnique(tx, "", r.Username, r.PrimaryEmail, r.PrimaryPhone); err != nil {
			return err
		}
		if err := checkGivenUserID(tx, r.ID); err != nil {
			return err
		}
		roles, err := defaultUserRoles(ctx, tx)
		if err != nil {
			return err
		}
		if err := insertUser(tx, &r); err != nil {
			return err
		}
		if _, err := assign(tx, relUserRoles, r.ID, roles, false, nil); err != nil {
			return err
		}
		out = r.toUser()
		tx.wroteUser(&r)
		return tx.audit("Management.User.Create", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// insertUser writes a new user record and all its indexes, and sets r's
// sequence and id.
func insertUser(tx *Tx, r *userRecord) error {
	recs := []userRecord{*r}
	if err := insertUserRecords(tx, recs); err != nil {
		return err
	}
	*r = recs[0]
	return nil
}

// userIndex is one unique secondary index of users.
type userIndex struct {
	bucket []byte
	detail string
	what   string
	value  func(r *userRecord) *string
}

var userIndexes = []userIndex{
	{bucketUsersByName, "user.username_already_in_use", "username", func(r *userRecord) *string { return r.Username }},
	{bucketUsersByEmail, "user.email_already_in_use", "email", func(r *userRecord) *string { return lowerPtr(r.PrimaryEmail) }},
	{bucketUsersByPhone, "user.phone_already_in_use", "phone number", func(r *userRecord) *string { return r.PrimaryPhone }},
}

func lowerPtr(s *string) *string {
	if s == nil {
		return nil
	}
	l := strings.ToLower(*s)
	return &l
}

// checkUserUnique returns ECONFLICT if a unique value is held by a user other
// than self. It only reads, so it runs before any write.
func checkUserUnique(tx *Tx, self string, username, email, phone *string) error {
	probe := userRecord{Username: username, PrimaryEmail: email, PrimaryPhone: phone}
	for _, ix := range userIndexes {
		v := ix.value(&probe)
		if v == nil || *v == "" {
			continue
		}
		b, err := tx.bucket(ix.bucket)
		if err != nil {
			return err
		}
		if owner := b.Get([]byte(*v)); owner != nil && string(owner) != self {
			return detailErrorf(ECONFLICT, ix.detail, "This %s is already in use.", ix.what)
		}
	}
	return nil
}

// putUserIndexes adds r's entries to the unique indexes it has a value for.
func putUserIndexes(tx *Tx, r *userRecord) error {
	return eachUserIndex(tx, r, func(b *kv.Bucket, key []byte) error { return b.Put(key, []byte(r.ID)) })
}

// deleteUserIndexes removes r's entries from the unique indexes.
func deleteUserIndexes(tx *Tx, r *userRecord) error {
	return eachUserIndex(tx, r, func(b *kv.Bucket, key []byte) error { return b.Delete(key) })
}

// eachUserIndex calls fn with each unique index r has a non-empty value
// for and r's key in it.
func eachUserIndex(tx *Tx, r *userRecord, fn func(b *kv.Bucket, key []byte) error) error {
	for _, ix := range userIndexes {
		if v := ix.value(r); v != nil && *v != "" {
			b, err := tx.bucket(ix.bucket)
			if err != nil {
				return err
			}
			if err := fn(b, []byte(*v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// findUserRecord returns the stored record of user id, or ENOTFOUND: by
// the tenant's id permutation for ids it made, else by user_ids.
func findUserRecord(tx *Tx, id string) (*userRecord, error) {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return nil, err
	}
	if r, ok, err := findPermutedUser(tx, users, id); err != nil || ok {
		return r, err
	}
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return nil, err
	}
	seq := ids.Get([]byte(id))
	if seq == nil {
		return nil, notFound("user", id)
	}
	v := users.Get(seq)
	if v == nil {
		return nil, fmt.Errorf("user %s: index points at missing record", id)
	}
	r, err := decodeUserRecord(seq, v)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// maxCachedUserBytes is the largest stored user record that FindUserByID
// keeps in its cache, so that a full cache holds at most maxCacheEntries
// such records (tens of MB) whatever customData users carry.
const maxCachedUserBytes = 2048

// FindUserByID returns the user with the given id. Returns ENOTFOUND if there
// is none in tenant.
//
// A user found is cached for the data generation it was read in
// (db_cache.go): GET /api/users/{id} then opens no read transaction. Each
// caller gets its own User, whose maps are copies. Only users found are
// cached, so made-up ids never fill the cache.
func (db *DB) FindUserByID(ctx context.Context, tenant, id string) (*User, error) {
	gen := db.generation()
	key := cacheKey(tenant, id)
	if r, ok := db.userCache.get(key, gen); ok {
		return r.toUserCopy(), ctx.Err()
	}
	var out *User
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		if users, err := tx.bucket(bucketUsers); err == nil && len(users.Get(itob(r.Seq))) <= maxCachedUserBytes {
			db.userCache.put(key, gen, r)
			out = r.toUserCopy() // r's maps now belong to the cache
			return nil
		}
		out = r.toUser()
		return nil
	})
	return out, err
}

// FindUserWithPasswordDigest returns the user with the given id, as
// FindUserByID does, with PasswordDigest and PasswordAlgorithm set (Logto's
// includePasswordHash on GET /api/users/{id}). Returns ENOTFOUND if there is
// none in tenant.
func (db *DB) FindUserWithPasswordDigest(ctx context.Context, tenant, id string) (*User, error) {
	var out *User
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		out = r.toUser()
		out.PasswordDigest, out.PasswordAlgorithm = r.passwordDigest()
		return nil
	})
	return out, err
}

// UpdateUser applies upd to user id and returns the result. Returns ENOTFOUND,
// EINVALID, EUNPROCESSABLE (entity.invalid_input) for an update that names
// no field, as Logto answers PATCH {}, or (user.invalid_phone) for a phone
// that is not a valid number, or ECONFLICT when a new username, email or
// phone is taken.
func (db *DB) UpdateUser(ctx context.Context, tenant, id string, upd UserUpdate) (*User, error) {
	if err := firstErr(validateUsername(upd.Username.Value), validateEmail(upd.PrimaryEmail.Value),
		validateName(upd.Name.Value), validateAvatar(upd.Avatar.Value),
		validateProfile(upd.Profile), validateProfile(upd.MergeProfile)); err != nil {
		return nil, err
	}
	phone, err := normalizePhoneField(upd.PrimaryPhone.Value)
	if err != nil {
		return nil, err
	}
	upd.PrimaryPhone.Value = phone
	var out *User
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		if upd.empty() {
			// Checked after the lookup, so an unknown user is still 404.
			return detailErrorf(EUNPROCESSABLE, "entity.invalid_input", "The update has no fields to change.")
		}
		r := *old
		apply := func(dst **string, f Field[string]) {
			if f.Set {
				*dst = f.Value
			}
		}
		apply(&r.Username, upd.Username)
		apply(&r.PrimaryEmail, upd.PrimaryEmail)
		apply(&r.PrimaryPhone, upd.PrimaryPhone)
		apply(&r.Name, upd.Name)
		apply(&r.Avatar, upd.Avatar)
		if upd.CustomData != nil {
			r.CustomData = upd.CustomData
		}
		if upd.MergeCustomData != nil {
			merged := make(map[string]any, len(r.CustomData)+len(upd.MergeCustomData))
			for k, v := range r.CustomData {
				merged[k] = v
			}
			for k, v := range upd.MergeCustomData {
				merged[k] = v
			}
			r.CustomData = merged
		}
		if upd.Profile != nil {
			r.Profile = *upd.Profile
		}
		if upd.MergeProfile != nil {
			r.Profile = r.Profile.merge(*upd.MergeProfile)
		}
		if upd.IsSuspended != nil {
			r.IsSuspended = *upd.IsSuspended
		}
		if err := checkUserUnique(tx, id, r.Username, r.PrimaryEmail, r.PrimaryPhone); err != nil {
			return err
		}
		r.UpdatedAt = msec(tx.now)
		if err := replaceUser(tx, old, &r); err != nil {
			return err
		}
		out = r.toUser()
		tx.wroteUser(&r)
		return tx.audit("Management.User.Update", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// replaceUser overwrites old with r (same id and sequence) and moves indexes.
func replaceUser(tx *Tx, old, r *userRecord) error {
	if err := deleteUserIndexes(tx, old); err != nil {
		return err
	}
	if err := putUserIndexes(tx, r); err != nil {
		return err
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	return putUserRecord(users, r)
}

// DeleteUser removes user id and its index entries. Returns ENOTFOUND.
func (db *DB) DeleteUser(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		if err := deleteUserRecord(tx, r); err != nil {
			return err
		}
		return tx.audit("Management.User.Delete", AuditPayload{UserID: r.ID})
	})
}

func deleteUserRecord(tx *Tx, r *userRecord) error {
	if err := cascadeDelete(tx, entityUser, r.ID); err != nil {
		return err
	}
	if err := deleteUserManagers(tx, r.ID); err != nil {
		return err
	}
	if err := deleteUserInvitations(tx, r.ID); err != nil {
		return err
	}
	if err := deleteServiceKeys(tx, r.ID); err != nil {
		return err
	}
	if err := deleteUserIdentities(tx, r); err != nil {
		return err
	}
	if err := deleteUserPATs(tx, r.ID); err != nil {
		return err
	}
	if err := deletePasswordState(tx, r.ID); err != nil {
		return err
	}
	if err := deleteUserIndexes(tx, r); err != nil {
		return err
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return err
	}
	rank, err := tx.bucket(bucketUsersRank)
	if err != nil {
		return err
	}
	if err := users.Delete(itob(r.Seq)); err != nil {
		return err
	}
	if err := ids.Delete([]byte(r.ID)); err != nil {
		return err
	}
	return rankindex.Add(rank, r.Seq, -1)
}
