package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/search"
)

// userResponse is a user on the wire, with Logto's field names and order.
type userResponse struct {
	ID            string         `json:"id"`
	Username      *string        `json:"username"`
	PrimaryEmail  *string        `json:"primaryEmail"`
	PrimaryPhone  *string        `json:"primaryPhone"`
	Name          *string        `json:"name"`
	Avatar        *string        `json:"avatar"`
	CustomData    map[string]any `json:"customData"`
	Identities    map[string]any `json:"identities"`
	LastSignInAt  *int64         `json:"lastSignInAt"`
	CreatedAt     int64          `json:"createdAt"`
	UpdatedAt     int64          `json:"updatedAt"`
	Profile       store.Profile  `json:"profile"`
	ApplicationID *string        `json:"applicationId"`
	IsSuspended   bool           `json:"isSuspended"`
	HasPassword   bool           `json:"hasPassword"`
}

// userListEntry is a user in GET /api/users and GET /api/users/{id} with
// the fields their include* parameters add.
type userListEntry struct {
	userResponse
	// SSOIdentities is always empty when asked for (includeSsoIdentities):
	// idbolt has no enterprise SSO, so no user has such an identity.
	SSOIdentities *[]struct{} `json:"ssoIdentities,omitempty"`
	// PasswordDigest and PasswordAlgorithm are set with includePasswordHash;
	// present, they may be null (a user without a password).
	PasswordDigest    **string `json:"passwordDigest,omitempty"`
	PasswordAlgorithm **string `json:"passwordAlgorithm,omitempty"`
}

// userIncludes are the include* query parameters of the user reads.
type userIncludes struct {
	ssoIdentities, passwordHash bool
}

func (inc userIncludes) entry(u *store.User) userListEntry {
	out := userListEntry{userResponse: toUserResponse(u)}
	if inc.ssoIdentities {
		out.SSOIdentities = &[]struct{}{}
	}
	if inc.passwordHash {
		out.PasswordDigest, out.PasswordAlgorithm = &u.PasswordDigest, &u.PasswordAlgorithm
	}
	return out
}

// yes reads a flag as Logto's yes() does: 1, true, y or yes, in any case,
// is true, and anything else (or nothing) false.
func yes(q url.Values, name string) bool {
	switch strings.ToLower(q.Get(name)) {
	case "1", "true", "y", "yes":
		return true
	}
	return false
}

func toUserResponse(u *store.User) userResponse {
	return userResponse{
		ID: u.ID, Username: u.Username, PrimaryEmail: u.PrimaryEmail, PrimaryPhone: u.PrimaryPhone,
		Name: u.Name, Avatar: u.Avatar, CustomData: u.CustomData, Identities: u.Identities,
		LastSignInAt: u.LastSignInAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, Profile: u.Profile,
		ApplicationID: u.ApplicationID, IsSuspended: u.IsSuspended, HasPassword: u.HasPassword,
	}
}

// userCreateRequest is the body of POST /api/users.
type userCreateRequest struct {
	Username          *string        `json:"username"`
	PrimaryEmail      *string        `json:"primaryEmail"`
	PrimaryPhone      *string        `json:"primaryPhone"`
	Name              *string        `json:"name"`
	Avatar            *string        `json:"avatar"`
	Password          *string        `json:"password"`
	PasswordDigest    *string        `json:"passwordDigest"`
	PasswordAlgorithm *string        `json:"passwordAlgorithm"`
	CustomData        map[string]any `json:"customData"`
	Profile           *store.Profile `json:"profile"`
}

func (req *userCreateRequest) toStore() store.UserCreate {
	return store.UserCreate{
		Username: req.Username, PrimaryEmail: req.PrimaryEmail, PrimaryPhone: req.PrimaryPhone,
		Name: req.Name, Avatar: req.Avatar, Password: req.Password, PasswordDigest: req.PasswordDigest,
		PasswordAlgorithm: req.PasswordAlgorithm, CustomData: req.CustomData, Profile: req.Profile,
	}
}

func (s *Server) handleUserCreate(w http.ResponseWriter, r *request) error {
	var req userCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	u, err := s.store.CreateUser(r.Context(), r.tenant, req.toStore())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toUserResponse(u))
	return nil
}

func (s *Server) handleUserList(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	p, err := pagination.Parse(q)
	if err != nil {
		return err
	}
	inc := userIncludes{ssoIdentities: yes(q, "includeSsoIdentities"), passwordHash: yes(q, "includePasswordHash")}
	filter := store.UserFilter{MemberOf: r.visibleOrganizations(), ExcludeRoleID: q.Get("excludeRoleId"),
		ExcludeOrganizationID: q.Get("excludeOrganizationId"), WithPasswordDigests: inc.passwordHash}
	// An organization manager must not learn through an exclusion which of
	// its members hold a role or belong to an organization it does not
	// manage.
	restricted := filter.MemberOf != nil
	for _, p := range []struct {
		name    string
		refused bool
	}{{"includePasswordHash", inc.passwordHash && !mayReadPasswordDigests(r)},
		{"excludeRoleId", restricted && filter.ExcludeRoleID != ""},
		{"excludeOrganizationId", restricted && filter.ExcludeOrganizationID != "" && !slices.Contains(filter.MemberOf, filter.ExcludeOrganizationID)}} {
		if p.refused {
			return &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden", Field: p.name,
				Message: p.name + " is not allowed for this caller."}
		}
	}
	if filter.Search, err = search.Parse(q, store.UserSearchOptions()); err != nil {
		return searchError(err)
	}
	if filter.IsSuspended, err = parseBoolFilter(q, "isSuspended"); err != nil {
		return err
	}
	users, total, err := s.store.FindUsers(r.Context(), r.tenant, filter, p)
	if err != nil {
		return err
	}
	out := make([]userListEntry, len(users))
	for i, u := range users {
		out[i] = inc.entry(u)
	}
	if inc.passwordHash {
		s.auditPasswordDigestRead(r, "", len(users))
	}
	pagination.WriteHeaders(w.Header(), s.baseURL, r.URL.EscapedPath(), r.URL.RawQuery, p, total)
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

// parseBoolFilter reads an optional true|false query parameter; nil means
// absent. A repeated parameter must repeat the same value. Returns EINVALID
// naming name.
func parseBoolFilter(q url.Values, name string) (*bool, error) {
	vals, ok := q[name]
	if !ok {
		return nil, nil
	}
	var v bool
	for i, s := range vals {
		if (s != "true" && s != "false") || s != vals[0] {
			return nil, &store.Error{Code: store.EINVALID, Detail: "guard.invalid_input", Field: name,
				Message: fmt.Sprintf("%s: must be true or false, once; got %.32q", name, vals[i])}
		}
		v = s == "true"
	}
	return &v, nil
}

// searchError turns a search syntax error into a 400 that names the parameter.
func searchError(err error) error {
	if se, ok := err.(*search.Error); ok {
		return &store.Error{Code: store.EINVALID, Detail: "request.invalid_input", Field: se.Param, Message: se.Error()}
	}
	return err
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *request) error {
	q := r.URL.Query()
	inc := userIncludes{ssoIdentities: yes(q, "includeSsoIdentities"), passwordHash: yes(q, "includePasswordHash")}
	find := s.store.FindUserByID
	if inc.passwordHash {
		if !mayReadPasswordDigests(r) {
			return &store.Error{Code: store.EFORBIDDEN, Detail: "auth.forbidden", Field: "includePasswordHash",
				Message: "includePasswordHash is not allowed for this caller."}
		}
		find = s.store.FindUserWithPasswordDigest
	}
	u, err := find(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	if inc.passwordHash {
		s.auditPasswordDigestRead(r, u.ID, 1)
	}
	entry := inc.entry(u)
	s.writeJSON(w, r, http.StatusOK, &entry)
	return nil
}

// mayReadPasswordDigests reports whether r's caller may read password
// digests (includePasswordHash): one who may change every user, with scope
// all or as IAM_OWNER, since a digest is as good as the password to an
// offline attack. A viewer or an organization manager may not; it is
// refused with 403 rather than served without the fields, so that a
// migration never mistakes a refusal for users without passwords.
func mayReadPasswordDigests(r *request) bool {
	return r.managers == nil || r.managers.Tenant >= write
}

// passwordDigestReadKey is the audit log key of a read of password digests.
const passwordDigestReadKey = "Management.User.PasswordDigest.Read"

// auditPasswordDigestRead records in the tenant's audit log that r's
// caller read the password digests of count users: userID's, or a page of
// a listing when userID is empty.
func (s *Server) auditPasswordDigestRead(r *request, userID string, count int) {
	s.store.AuditAsync(r.tenant, store.AuditPayload{Key: passwordDigestReadKey, Result: "Success",
		IP: auth.ClientIP(r.Request), UserAgent: r.UserAgent(), ApplicationID: r.principal.ClientID,
		UserID: userID, Params: map[string]string{"users": strconv.Itoa(count)}})
}

// userUpdateRequest is the body of PATCH /api/users/{userId}.
type userUpdateRequest struct {
	Username     store.Field[string] `json:"username"`
	PrimaryEmail store.Field[string] `json:"primaryEmail"`
	PrimaryPhone store.Field[string] `json:"primaryPhone"`
	Name         store.Field[string] `json:"name"`
	Avatar       store.Field[string] `json:"avatar"`
	CustomData   map[string]any      `json:"customData"`
	Profile      *store.Profile      `json:"profile"`
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *request) error {
	var req userUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	return s.updateUser(w, r, store.UserUpdate{
		Username: req.Username, PrimaryEmail: req.PrimaryEmail, PrimaryPhone: req.PrimaryPhone,
		Name: req.Name, Avatar: req.Avatar, CustomData: req.CustomData, Profile: req.Profile,
	})
}

// updateUser applies upd and answers with the updated user.
func (s *Server) updateUser(w http.ResponseWriter, r *request, upd store.UserUpdate) error {
	u, err := s.store.UpdateUser(r.Context(), r.tenant, r.param("userId"), upd)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toUserResponse(u))
	return nil
}

func (s *Server) handleUserDelete(w http.ResponseWriter, r *request) error {
	if err := s.store.DeleteUser(r.Context(), r.tenant, r.param("userId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserCustomDataGet(w http.ResponseWriter, r *request) error {
	u, err := s.store.FindUserByID(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, u.CustomData)
	return nil
}

// userCustomDataRequest is the body of PATCH /api/users/{userId}/custom-data.
type userCustomDataRequest struct {
	CustomData map[string]any `json:"customData"`
}

func (s *Server) handleUserCustomDataUpdate(w http.ResponseWriter, r *request) error {
	var req userCustomDataRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.CustomData != nil, "customData"); err != nil {
		return err
	}
	u, err := s.store.UpdateUser(r.Context(), r.tenant, r.param("userId"),
		store.UserUpdate{MergeCustomData: req.CustomData})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, u.CustomData)
	return nil
}

// userProfileRequest is the body of PATCH /api/users/{userId}/profile.
type userProfileRequest struct {
	Profile *store.Profile `json:"profile"`
}

func (s *Server) handleUserProfileUpdate(w http.ResponseWriter, r *request) error {
	var req userProfileRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.Profile != nil, "profile"); err != nil {
		return err
	}
	u, err := s.store.UpdateUser(r.Context(), r.tenant, r.param("userId"),
		store.UserUpdate{MergeProfile: req.Profile})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, u.Profile)
	return nil
}

// passwordRequest is the body of the password routes.
type passwordRequest struct {
	Password *string `json:"password"`
}

func decodePassword(w http.ResponseWriter, r *request) (string, error) {
	var req passwordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return "", err
	}
	if err := requireField(req.Password != nil, "password"); err != nil {
		return "", err
	}
	return *req.Password, nil
}

func (s *Server) handleUserPasswordUpdate(w http.ResponseWriter, r *request) error {
	password, err := decodePassword(w, r)
	if err != nil {
		return err
	}
	u, err := s.store.SetUserPassword(r.Context(), r.tenant, r.param("userId"), password)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toUserResponse(u))
	return nil
}

func (s *Server) handleUserPasswordVerify(w http.ResponseWriter, r *request) error {
	password, err := decodePassword(w, r)
	if err != nil {
		return err
	}
	if err := s.store.VerifyUserPassword(r.Context(), r.tenant, r.param("userId"), password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// passwordExpirationRequest is the body of PATCH /api/users/{userId}/password/expiration.
type passwordExpirationRequest struct {
	IsExpired *bool `json:"isExpired"`
}

func (s *Server) handleUserPasswordExpiration(w http.ResponseWriter, r *request) error {
	var req passwordExpirationRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.IsExpired != nil, "isExpired"); err != nil {
		return err
	}
	u, err := s.store.SetUserPasswordExpired(r.Context(), r.tenant, r.param("userId"), *req.IsExpired)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toUserResponse(u))
	return nil
}

func (s *Server) handleUserHasPassword(w http.ResponseWriter, r *request) error {
	u, err := s.store.FindUserByID(r.Context(), r.tenant, r.param("userId"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, hasPasswordResponse{HasPassword: u.HasPassword})
	return nil
}

// userSuspendRequest is the body of PATCH /api/users/{userId}/is-suspended.
type userSuspendRequest struct {
	IsSuspended *bool `json:"isSuspended"`
}

func (s *Server) handleUserSuspend(w http.ResponseWriter, r *request) error {
	var req userSuspendRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.IsSuspended != nil, "isSuspended"); err != nil {
		return err
	}
	return s.updateUser(w, r, store.UserUpdate{IsSuspended: req.IsSuspended})
}

// hasPasswordResponse is the answer of GET /api/users/{userId}/has-password.
type hasPasswordResponse struct {
	HasPassword bool `json:"hasPassword"`
}
