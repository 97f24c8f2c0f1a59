package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/internal/rankindex"
	"github.com/idbolt/idbolt/store/kv"
	"github.com/idbolt/idbolt/store/search"
)

// UserFilter selects users in FindUsers.
type UserFilter struct {
	Search search.Query
	// IsSuspended, when set, keeps only the users whose isSuspended equals it.
	IsSuspended *bool
	// MemberOf, when not nil, keeps only the members of these organizations
	// (what an organization manager may see).
	MemberOf []string
	// ExcludeRoleID, when not empty, leaves out the users that have this
	// role (Logto's excludeRoleId). An unknown role leaves out nobody, as in
	// Logto.
	ExcludeRoleID string
	// ExcludeOrganizationID, when not empty, leaves out the members of this
	// organization (excludeOrganizationId); an unknown one leaves out nobody.
	ExcludeOrganizationID string
	// WithPasswordDigests fills User.PasswordDigest and PasswordAlgorithm
	// (Logto's includePasswordHash). It selects nothing.
	WithPasswordDigests bool
}

// empty reports whether f keeps every user, leaving exclusions aside.
func (f UserFilter) empty() bool {
	return f.Search.Empty() && f.IsSuspended == nil && f.MemberOf == nil
}

// excludedUsers returns the sequence numbers of the users f leaves out by
// role or organization, ascending, or nil when it leaves out nobody.
// Returns EINVALID when f names both, as Logto does.
func (f UserFilter) excludedUsers(tx *Tx) ([]uint64, error) {
	var ids []string
	var err error
	switch {
	case f.ExcludeRoleID != "" && f.ExcludeOrganizationID != "":
		return nil, &Error{Code: EINVALID, Detail: "request.invalid_input", Field: "excludeRoleId",
			Message: "Parameter `excludeRoleId` and `excludeOrganizationId` cannot be used at the same time."}
	case f.ExcludeRoleID != "":
		ids, err = relUserRoles.inverse().list(tx, f.ExcludeRoleID)
	case f.ExcludeOrganizationID != "":
		ids, err = relOrgUsers.list(tx, f.ExcludeOrganizationID)
	}
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return memberSeqs(tx, ids)
}

// memberSeqs returns the sequence numbers of users ids, sorted ascending.
// The ids come from a relation, whose integrity (checked by
// CheckIntegrity) says they are live users, so no record is read: an id in
// user_ids has its sequence there, and any other was made by the tenant's
// permutation and decodes to its sequence (users_ids.go). That keeps an
// exclusion of 50,000 users from decoding 50,000 records.
func memberSeqs(tx *Tx, ids []string) ([]uint64, error) {
	index, err := tx.bucket(bucketUserIDs)
	if err != nil {
		return nil, err
	}
	perm, havePerm, err := tx.userIDPermutation()
	if err != nil {
		return nil, err
	}
	seqs := make([]uint64, 0, len(ids))
	for _, id := range ids {
		if ref := index.Get([]byte(id)); ref != nil {
			seqs = append(seqs, btoi(ref))
			continue
		}
		seq, ok := uint64(0), false
		if havePerm {
			seq, ok = perm.seq(id)
		}
		if !ok {
			return nil, fmt.Errorf("user %s: related but neither indexed nor permuted", id)
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return slices.Compact(seqs), nil
}

func (f UserFilter) match(r *userRecord) bool {
	return (f.IsSuspended == nil || r.IsSuspended == *f.IsSuspended) && f.Search.Match(r.searchField)
}

// UserSearchOptions returns the fields GET /api/users can search, as in Logto,
// plus customData.<key> and identities.<target> (the user's id at that
// provider).
func UserSearchOptions() search.Options {
	return search.Options{Fields: []string{"id", "primaryEmail", "primaryPhone", "username", "name"},
		NestedPrefixes: []string{"customData", "identities"}, Regex: true}
}

// searchField returns a field's value for every user search; false means null. An
// identity compares as the user's id at its provider. A
// customData value compares as itself when it is a string and as its JSON
// text when it is a number or a boolean; an object, an array, null or a
// missing key is null, so it never matches.
func (r *userRecord) searchField(field string) (string, bool) {
	if target, ok := strings.CutPrefix(field, "identities."); ok {
		ident, ok := r.identityOf(target)
		return ident.UserID, ok
	}
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

// FindUsers returns one page of users, newest first, and the total number of
// users that match filter. Without a search the page is located through the
// rank index (less the excluded users, if any), so a deep page costs about
// what the first one does; an exact search on id, username, primaryEmail or
// primaryPhone reads only the users the field's index names
// (users_search_plan.go). Returns EINVALID (request.invalid_input) when a
// posix or similar_to search runs out of time (search.Query.Err), or when
// filter excludes by role and by organization at once.
func (db *DB) FindUsers(ctx context.Context, tenant string, filter UserFilter, p pagination.Params) ([]*User, int, error) {
	return db.findUsers(ctx, tenant, filter, p, true)
}

// findUsers is FindUsers; with plan false a search always scans, which the
// tests compare the planner (users_search_plan.go) with.
func (db *DB) findUsers(ctx context.Context, tenant string, filter UserFilter, p pagination.Params, plan bool) ([]*User, int, error) {
	filter.Search = withPhoneNormalForms(filter.Search)
	users := make([]*User, 0, p.PageSize)
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		b, err := tx.bucket(bucketUsers)
		if err != nil {
			return err
		}
		excluded, err := filter.excludedUsers(tx)
		if err != nil {
			return err
		}
		isExcluded := func(k []byte) bool {
			_, found := slices.BinarySearch(excluded, btoi(k))
			return found
		}
		toUser := func(r *userRecord) *User {
			u := r.toUser()
			if filter.WithPasswordDigests {
				u.PasswordDigest, u.PasswordAlgorithm = r.passwordDigest()
			}
			return u
		}
		if filter.empty() {
			rank, err := tx.bucket(bucketUsersRank)
			if err != nil {
				return err
			}
			total = rankindex.Total(rank) - len(excluded)
			c := b.Cursor()
			k, v, err := rankindex.SeekNewestExcept(rank, c, p.Offset(), excluded)
			for ; err == nil && k != nil && len(users) < p.PageSize; k, v = c.Prev() {
				if isExcluded(k) {
					continue
				}
				r, err := decodeUserRecord(k, v)
				if err != nil {
					return err
				}
				users = append(users, toUser(&r))
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
			if isExcluded(k) {
				return false, nil
			}
			if !byRecord {
				return true, nil
			}
			if err := decode(k, v); err != nil {
				return false, err
			}
			ok := filter.match(&r)
			// A regular expression out of time stops the walk.
			return ok, searchErr(filter.Search.Err())
		}
		emit := func(k, v []byte) error {
			if !byRecord {
				if err := decode(k, v); err != nil {
					return err
				}
			}
			users = append(users, toUser(&r))
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

// withPhoneNormalForms returns q with every exact primaryPhone value
// joined by its normal form (users_phone.go), so that +61 412 345 678
// finds the phone stored as 61412345678, as the index and uniqueness
// compare. The value as given stays, for phones stored before
// normalisation. q itself is not changed.
func withPhoneNormalForms(q search.Query) search.Query {
	items := q.Items
	for i := range items {
		it := &items[i]
		if it.Field != "primaryPhone" || it.Mode != search.ModeExact {
			continue
		}
		var values []string
		for _, v := range it.Values {
			for _, w := range phoneSearchValues(v) {
				if !slices.Contains(values, w) {
					values = append(values, w)
				}
			}
		}
		if len(values) == len(it.Values) {
			continue
		}
		if &items[0] == &q.Items[0] {
			items = slices.Clone(q.Items)
			it = &items[i]
		}
		it.Values = values
	}
	q.Items = items
	return q
}

// searchErr turns the *search.Error of a search stopped while matching
// into an EINVALID naming the parameter, as a syntax error is; nil stays
// nil.
func searchErr(err error) error {
	var se *search.Error
	if errors.As(err, &se) {
		return &Error{Code: EINVALID, Detail: "request.invalid_input", Field: se.Param, Message: se.Error()}
	}
	return err
}

// membersNewestFirst returns a cursor over the user records of the members
// of orgs, each once, newest first as GET /api/users lists users.
func membersNewestFirst(tx *Tx, users *kv.Bucket, orgs []string) (pagination.Cursor, error) {
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
			seq, ok, err := findUserSeqKey(tx, id)
			if err != nil {
				return nil, err
			}
			if ok {
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

// compile-time check that a bbolt cursor can be walked by pagination.
var _ pagination.BidiCursor = (*kv.Cursor)(nil)
