package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
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

// UserFilter selects users in FindUsers.
type UserFilter struct {
	Search search.Query
	// IsSuspended, when set, keeps only the users whose isSuspended equals it.
	IsSuspended *bool
	// MemberOf, when not nil, keeps only the members of these organizations
	// (what an organization manager may see).
	MemberOf []string
}

func (f UserFilter) empty() bool {
	return f.Search.Empty() && f.IsSuspended == nil && f.MemberOf == nil
}

func (f UserFilter) match(r *userRecord) bool {
	return (f.IsSuspended == nil || r.IsSuspended == *f.IsSuspended) && f.Search.Match(r.searchField)
}

// UserSearchOptions returns the fields GET /api/users can search, as in Logto,
// plus customData.<key>.
func UserSearchOptions() search.Options {
	return search.Options{Fields: []string{"id", "primaryEmail", "primaryPhone", "username", "name"},
		NestedPrefixes: []string{"customData"}}
}

// searchField returns a field's value for every user search; false means null. A
// customData value compares as itself when it is a string and as its JSON
// text when it is a number or a boolean; an object, an array, null or a
// missing key is null, so it never matches.
func (r *userRecord) searchField(field string) (string, bool) {
	key, ok := strings.CutPrefix(field, "customData.")
	if !ok {
		return r.scalarField(field)
	}
	switch v := r.CustomData[key].(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case float64:
		return jsonNumber(v), true
	}
	return "", false
}

// jsonNumber formats f as encoding/json does, so that customData.n=100000000
// matches the number a client sent (strconv's shortest form would be 1e+08).
func jsonNumber(f float64) string {
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	s := strconv.FormatFloat(f, format, -1, 64)
	if format == 'e' {
		// strconv writes two exponent digits (1e-07), encoding/json one (1e-7).
		if n := len(s); n >= 4 && s[n-4] == 'e' && s[n-3] == '-' && s[n-2] == '0' {
			s = s[:n-2] + s[n-1:]
		}
	}
	return s
}

// Validation follows Logto's guards.
var (
	usernameRE = regexp.MustCompile(`^[A-Z_a-z]\w*$`)
	emailRE    = regexp.MustCompile(`^\S+@\S+\.\S+$`)
	phoneRE    = regexp.MustCompile(`^\d+$`)
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

func validatePhone(v *string) error {
	return validatePattern("primaryPhone", v, phoneRE, "digits only")
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

// newUserRecord validates in and returns the record to insert, with a new
// id and an imported digest in place, but without the hash of a plain
// password: hashing is the expensive part, so callers do it once every input
// is known to be valid. Returns EINVALID.
func newUserRecord(in UserCreate) (userRecord, error) {
	if err := firstErr(validateUsername(in.Username), validateEmail(in.PrimaryEmail),
		validatePhone(in.PrimaryPhone), validateName(in.Name), validateAvatar(in.Avatar),
		validateProfile(in.Profile), validatePasswordInput(in)); err != nil {
		return userRecord{}, err
	}
	rec := userRecord{ID: newID(12), Username: in.Username, PrimaryEmail: in.PrimaryEmail,
		PrimaryPhone: in.PrimaryPhone, Name: in.Name, Avatar: in.Avatar, CustomData: in.CustomData}
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
		return tx.audit("Management.User.Create", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// insertUser writes a new user record and all its indexes.
func insertUser(tx *Tx, r *userRecord) error {
	if err := insertUserRecord(tx, r); err != nil {
		return err
	}
	rank, err := tx.bucket(bucketUsersRank)
	if err != nil {
		return err
	}
	return rankAdd(rank, r.Seq, 1)
}

// insertUserRecord is insertUser without the rank index, which the caller
// updates.
func insertUserRecord(tx *Tx, r *userRecord) error {
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return err
	}
	if ids.Get([]byte(r.ID)) != nil {
		return fmt.Errorf("user id collision %s", r.ID)
	}
	seq, err := users.NextSequence()
	if err != nil {
		return fmt.Errorf("user sequence: %w", err)
	}
	r.Seq = seq
	users.SetFillPercent(1.0) // append-only by sequence: fill every page
	if err := putUserRecord(users, r); err != nil {
		return err
	}
	if err := ids.Put([]byte(r.ID), itob(seq)); err != nil {
		return err
	}
	return putUserIndexes(tx, r)
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

func putUserIndexes(tx *Tx, r *userRecord) error {
	for _, ix := range userIndexes {
		if v := ix.value(r); v != nil && *v != "" {
			b, err := tx.bucket(ix.bucket)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(*v), []byte(r.ID)); err != nil {
				return err
			}
		}
	}
	return nil
}

func deleteUserIndexes(tx *Tx, r *userRecord) error {
	for _, ix := range userIndexes {
		if v := ix.value(r); v != nil && *v != "" {
			b, err := tx.bucket(ix.bucket)
			if err != nil {
				return err
			}
			if err := b.Delete([]byte(*v)); err != nil {
				return err
			}
		}
	}
	return nil
}

// findUserRecord returns the stored record of user id, or ENOTFOUND.
func findUserRecord(tx *Tx, id string) (*userRecord, error) {
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return nil, err
	}
	seq := ids.Get([]byte(id))
	if seq == nil {
		return nil, notFound("user", id)
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return nil, err
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

// FindUserByID returns the user with the given id. Returns ENOTFOUND if there
// is none in tenant.
func (db *DB) FindUserByID(ctx context.Context, tenant, id string) (*User, error) {
	var out *User
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		out = r.toUser()
		return nil
	})
	return out, err
}

// FindUsers returns one page of users, newest first, and the total number of
// users that match filter. Without a search the page is located through the
// rank index, so a deep page costs about what the first one does; an exact
// search on id, username, primaryEmail or primaryPhone reads only the users
// the field's index names (user_plan.go).
func (db *DB) FindUsers(ctx context.Context, tenant string, filter UserFilter, p pagination.Params) ([]*User, int, error) {
	return db.findUsers(ctx, tenant, filter, p, true)
}

// findUsers is FindUsers; with plan false a search always scans, which the
// tests compare the planner (user_plan.go) with.
func (db *DB) findUsers(ctx context.Context, tenant string, filter UserFilter, p pagination.Params, plan bool) ([]*User, int, error) {
	users := make([]*User, 0, p.PageSize)
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		if filter.empty() {
			rank, err := tx.bucket(bucketUsersRank)
			if err != nil {
				return err
			}
			total = rankTotal(rank)
			c := b.Cursor()
			k, v, err := rankSeekNewest(rank, c, p.Offset())
			for ; err == nil && k != nil && len(users) < p.PageSize; k, v = c.Prev() {
				r, err := decodeUserRecord(k, v)
				if err != nil {
					return err
				}
				users = append(users, r.toUser())
			}
			return err
		}
		var r userRecord
		decode := func(k, v []byte) error {
			var err error
			r, err = decodeUserRecord(k, v)
			return err
		}
		// Only a search or isSuspended needs the record to match; a
		// membership-only filter decodes just the page.
		byRecord := !filter.Search.Empty() || filter.IsSuspended != nil
		match := func(k, v []byte) (bool, error) {
			if !byRecord {
				return true, nil
			}
			if err := decode(k, v); err != nil {
				return false, err
			}
			return filter.match(&r), nil
		}
		emit := func(k, v []byte) error {
			if !byRecord {
				if err := decode(k, v); err != nil {
					return err
				}
			}
			users = append(users, r.toUser())
			return nil
		}
		var c pagination.Cursor = pagination.Reverse(b.Cursor())
		if filter.MemberOf != nil {
			// Only the members are read, not every user of the tenant.
			if c, err = membersNewestFirst(tx, b, filter.MemberOf); err != nil {
				return err
			}
		} else if plan {
			// Only the candidates an index gives are read, if one does.
			seqs, ok, err := planUserCandidates(tx, filter.Search)
			if err != nil {
				return err
			}
			if ok {
				c = &seqCursor{users: b, seqs: seqs}
			}
		}
		total, err = pagination.Walk(ctx, c, p, match, emit)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return users, total, nil
}

// membersNewestFirst returns a cursor over the user records of the members
// of orgs, each once, newest first as GET /api/users lists users.
func membersNewestFirst(tx *Tx, users *kv.Bucket, orgs []string) (pagination.Cursor, error) {
	ids, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return nil, err
	}
	var seqs [][]byte
	seen := map[string]bool{}
	for _, org := range orgs {
		members, err := relOrgUsers.list(tx, org)
		if err != nil {
			return nil, err
		}
		for _, id := range members {
			if seen[id] {
				continue
			}
			seen[id] = true
			if seq := ids.Get([]byte(id)); seq != nil {
				seqs = append(seqs, seq)
			}
		}
	}
	slices.SortFunc(seqs, func(a, b []byte) int { return bytes.Compare(b, a) })
	return &seqCursor{users: users, seqs: seqs}, nil
}

// seqCursor walks user records in the order of seqs.
type seqCursor struct {
	users *kv.Bucket
	seqs  [][]byte
	i     int
}

func (c *seqCursor) at() ([]byte, []byte) {
	if c.i >= len(c.seqs) {
		return nil, nil
	}
	return c.seqs[c.i], c.users.Get(c.seqs[c.i])
}

// First implements pagination.Cursor.
func (c *seqCursor) First() ([]byte, []byte) { c.i = 0; return c.at() }

// Next implements pagination.Cursor.
func (c *seqCursor) Next() ([]byte, []byte) { c.i++; return c.at() }

// UpdateUser applies upd to user id and returns the result. Returns ENOTFOUND,
// EINVALID, or ECONFLICT when a new username, email or phone is taken.
func (db *DB) UpdateUser(ctx context.Context, tenant, id string, upd UserUpdate) (*User, error) {
	if err := firstErr(validateUsername(upd.Username.Value), validateEmail(upd.PrimaryEmail.Value),
		validatePhone(upd.PrimaryPhone.Value), validateName(upd.Name.Value), validateAvatar(upd.Avatar.Value),
		validateProfile(upd.Profile), validateProfile(upd.MergeProfile)); err != nil {
		return nil, err
	}
	var out *User
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
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

// SetUserPassword hashes password and stores it for user id. Returns ENOTFOUND
// or EINVALID.
func (db *DB) SetUserPassword(ctx context.Context, tenant, id, password string) (*User, error) {
	if err := ValidatePassword("password", password); err != nil {
		return nil, err
	}
	// Fail fast on an unknown user before spending a hash on it.
	if _, err := db.FindUserByID(ctx, tenant, id); err != nil {
		return nil, err
	}
	hash, err := db.hasher.hash(ctx, tenant, password)
	if err != nil {
		return nil, err
	}
	var out *User
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		old, err := findEditableUser(tx, id)
		if err != nil {
			return err
		}
		r := *old
		r.PasswordHash = hash
		r.UpdatedAt = msec(tx.now)
		users, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		if err := putUserRecord(users, &r); err != nil {
			return err
		}
		out = r.toUser()
		return tx.audit("Management.User.UpdatePassword", AuditPayload{UserID: r.ID})
	})
	return out, err
}

// VerifyUserPassword checks password against user id's stored hash, of any
// kind (native Argon2id or an imported digest). Returns ENOTFOUND, or
// EUNPROCESSABLE (Logto's session.invalid_credentials) when it does not match
// or the user has no password.
//
// As Logto does, a matching imported digest of another kind is then replaced
// by our Argon2id hash of the same password. That re-encodes the credential
// without changing it, so updatedAt and the audit log are left alone.
func (db *DB) VerifyUserPassword(ctx context.Context, tenant, id, password string) error {
	var hash string
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		hash = r.PasswordHash
		return nil
	})
	if err != nil {
		return err
	}
	mismatch := detailErrorf(EUNPROCESSABLE, "session.invalid_credentials", "Wrong password.")
	if hash == "" {
		return mismatch
	}
	// One admission covers the check and the rehash, so that a right
	// password is never refused half way.
	ticket, err := db.hasher.admit(tenant)
	if err != nil {
		return err
	}
	defer ticket.close()
	ok, err := ticket.verify(ctx, hash, password)
	if err != nil {
		return err
	} else if !ok {
		return mismatch
	}
	if needsRehash(hash) {
		return db.rehashPassword(ctx, ticket, tenant, id, hash, password)
	}
	return nil
}

// rehashPassword replaces user id's stored hash old by an Argon2id hash of
// password, unless the hash changed (or the user went) meanwhile.
func (db *DB) rehashPassword(ctx context.Context, ticket *hashTicket, tenant, id, old, password string) error {
	hash, err := ticket.hash(ctx, password)
	if err != nil {
		return err
	}
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findUserRecord(tx, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if r.PasswordHash != old {
			return nil
		}
		r.PasswordHash = hash
		users, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		return putUserRecord(users, r)
	})
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
	if err := relUserRoles.unlinkAll(tx, r.ID); err != nil {
		return err
	}
	if err := deleteUserManagers(tx, r.ID); err != nil {
		return err
	}
	if err := leaveAllOrganizations(tx, relOrgUsers, relOrgUserRoles, r.ID); err != nil {
		return err
	}
	if err := deleteUserInvitations(tx, r.ID); err != nil {
		return err
	}
	if err := deleteServiceKeys(tx, r.ID); err != nil {
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
	return rankAdd(rank, r.Seq, -1)
}

// compile-time check that a bbolt cursor can be walked by pagination.
var _ pagination.BidiCursor = (*kv.Cursor)(nil)
