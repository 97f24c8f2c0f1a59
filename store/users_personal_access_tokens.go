package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/idbolt/idbolt/store/kv"
)

// A personal access token is a secret a user's tool exchanges at the token
// endpoint for an access token as that user (RFC 8693), as in Logto. Its
// value is shown once, when it is made; the file keeps its keyed hash, by
// which it is found.

// Buckets of personal access tokens (tenantSchema).
var (
	bucketPATs       = []byte("personal_access_tokens")
	bucketPATsByHash = []byte("personal_access_tokens_by_hash")
)

// patPrefix starts every token's value, as Logto's do.
const patPrefix = "pat_"

// maxPATsPerUser bounds a user's tokens: each is a standing credential.
const maxPATsPerUser = 100

// PersonalAccessToken is a user's token. Value is set only in the answer
// that creates it.
type PersonalAccessToken struct {
	UserID    string
	Name      string
	Value     string
	CreatedAt int64
	ExpiresAt *int64
}

// patRecord is a PersonalAccessToken as stored, at "<user id>\x00<name>".
type patRecord struct {
	Hash      []byte `json:"hash"`
	CreatedAt int64  `json:"createdAt"`
	ExpiresAt *int64 `json:"expiresAt,omitempty"`
}

func patKey(userID, name string) []byte { return append(append([]byte(userID), 0), name...) }

func errPATNotFound(name string) error {
	return detailErrorf(ENOTFOUND, "entity.not_found", "The user has no personal access token %q.", name)
}

func errPATNameExists(name string) error {
	return detailErrorf(EUNPROCESSABLE, "user.personal_access_token_name_exists",
		"The user already has a personal access token named %q.", name)
}

// checkPATName validates a token's name: it is a path segment too.
func checkPATName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > 128 || !utf8.ValidString(name) || bytes.ContainsAny([]byte(name), "\x00/") {
		return fieldError("name", "must be 1 to 128 characters without / or NUL")
	}
	return nil
}

// CreatePersonalAccessToken makes a token for user userID. Returns
// EINVALID (request.invalid_input for an expiresAt not in the future),
// ENOTFOUND, or EUNPROCESSABLE (user.personal_access_token_name_exists,
// or too many tokens).
func (db *DB) CreatePersonalAccessToken(ctx context.Context, tenant, userID, name string, expiresAt *int64) (*PersonalAccessToken, error) {
	if err := checkPATName(name); err != nil {
		return nil, err
	}
	value := patPrefix + newID(32)
	var out *PersonalAccessToken
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if expiresAt != nil && *expiresAt <= msec(tx.now) {
			return detailErrorf(EINVALID, "request.invalid_input", "The value of `expiresAt` must be in the future.")
		}
		u, err := findUserRecord(tx, userID)
		if err != nil {
			return err
		}
		pats, byHash, err := patBuckets(tx)
		if err != nil {
			return err
		}
		key := patKey(u.ID, name)
		if pats.Get(key) != nil {
			return errPATNameExists(name)
		}
		n := 0
		if err := eachUserPAT(pats, u.ID, func(_ string, _, _ []byte) error { n++; return nil }); err != nil {
			return err
		}
		if n >= maxPATsPerUser {
			return detailErrorf(EUNPROCESSABLE, "request.invalid_input", "A user has at most %d personal access tokens.", maxPATsPerUser)
		}
		r := patRecord{Hash: db.hashSecret(value), CreatedAt: msec(tx.now), ExpiresAt: expiresAt}
		if err := putJSON(pats, key, &r); err != nil {
			return err
		}
		if err := byHash.Put(r.Hash, key); err != nil {
			return err
		}
		out = &PersonalAccessToken{UserID: u.ID, Name: name, Value: value, CreatedAt: r.CreatedAt, ExpiresAt: expiresAt}
		return tx.audit("Management.User.CreatePersonalAccessToken", AuditPayload{UserID: u.ID, Params: map[string]string{"name": name}})
	})
	return out, err
}

// patBuckets returns the two buckets of personal access tokens.
func patBuckets(tx *Tx) (pats, byHash *kv.Bucket, err error) {
	if pats, err = tx.bucket(bucketPATs); err != nil {
		return nil, nil, err
	}
	byHash, err = tx.bucket(bucketPATsByHash)
	return pats, byHash, err
}

// FindPersonalAccessTokens returns user userID's tokens, oldest first,
// without their values. Returns ENOTFOUND.
func (db *DB) FindPersonalAccessTokens(ctx context.Context, tenant, userID string) ([]*PersonalAccessToken, error) {
	out := []*PersonalAccessToken{}
	err := db.View(ctx, tenant, func(tx *Tx) error {
		u, err := findUserRecord(tx, userID)
		if err != nil {
			return err
		}
		pats, err := tx.bucket(bucketPATs)
		if err != nil {
			return err
		}
		return eachUserPAT(pats, u.ID, func(name string, k, v []byte) error {
			var r patRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode personal access token %q: %w", k, err)
			}
			out = append(out, &PersonalAccessToken{UserID: u.ID, Name: name, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt})
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b *PersonalAccessToken) int { return cmp.Compare(a.CreatedAt, b.CreatedAt) })
	return out, err
}

// RenamePersonalAccessToken renames user userID's token name to newName.
// Returns EINVALID, ENOTFOUND or EUNPROCESSABLE
// (user.personal_access_token_name_exists).
func (db *DB) RenamePersonalAccessToken(ctx context.Context, tenant, userID, name, newName string) (*PersonalAccessToken, error) {
	if err := checkPATName(newName); err != nil {
		return nil, err
	}
	var out *PersonalAccessToken
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		u, err := findUserRecord(tx, userID)
		if err != nil {
			return err
		}
		pats, byHash, err := patBuckets(tx)
		if err != nil {
			return err
		}
		old := patKey(u.ID, name)
		v := pats.Get(old)
		if v == nil {
			return errPATNotFound(name)
		}
		var r patRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode personal access token %q: %w", old, err)
		}
		out = &PersonalAccessToken{UserID: u.ID, Name: newName, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
		if newName == name {
			return nil
		}
		key := patKey(u.ID, newName)
		if pats.Get(key) != nil {
			return errPATNameExists(newName)
		}
		v = bytes.Clone(v)
		if err := pats.Delete(old); err != nil {
			return err
		}
		if err := pats.Put(key, v); err != nil {
			return err
		}
		if err := byHash.Put(r.Hash, key); err != nil {
			return err
		}
		return tx.audit("Management.User.UpdatePersonalAccessToken", AuditPayload{UserID: u.ID, Params: map[string]string{"name": newName}})
	})
	return out, err
}

// DeletePersonalAccessToken deletes user userID's token name. Returns
// ENOTFOUND.
func (db *DB) DeletePersonalAccessToken(ctx context.Context, tenant, userID, name string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		u, err := findUserRecord(tx, userID)
		if err != nil {
			return err
		}
		if err := deletePAT(tx, patKey(u.ID, name)); err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return errPATNotFound(name)
			}
			return err
		}
		return tx.audit("Management.User.DeletePersonalAccessToken", AuditPayload{UserID: u.ID, Params: map[string]string{"name": name}})
	})
}

// deletePAT deletes the token at key and its hash. Returns ENOTFOUND.
func deletePAT(tx *Tx, key []byte) error {
	pats, byHash, err := patBuckets(tx)
	if err != nil {
		return err
	}
	v := pats.Get(key)
	if v == nil {
		return Errorf(ENOTFOUND, "no personal access token %q", key)
	}
	var r patRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("decode personal access token %q: %w", key, err)
	}
	if err := byHash.Delete(r.Hash); err != nil {
		return err
	}
	return pats.Delete(key)
}

// eachUserPAT calls fn with the name, key and record of each of user id's
// tokens in pats, in name order.
func eachUserPAT(pats *kv.Bucket, id string, fn func(name string, k, v []byte) error) error {
	prefix := patKey(id, "")
	c := pats.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(string(k[len(prefix):]), k, v); err != nil {
			return err
		}
	}
	return nil
}

// deleteUserPATs deletes user id's tokens, with the user.
func deleteUserPATs(tx *Tx, id string) error {
	pats, err := tx.bucket(bucketPATs)
	if err != nil {
		return err
	}
	var keys [][]byte
	if err := eachUserPAT(pats, id, func(_ string, k, _ []byte) error { keys = append(keys, bytes.Clone(k)); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := deletePAT(tx, k); err != nil {
			return err
		}
	}
	return nil
}

// personalAccessTokens checks the tokens against their hash index: each
// record decodes and is found by its hash, and the index holds nothing else.
func (c *integrityCheck) personalAccessTokens() error {
	pats, err := c.tx.bucket(bucketPATs)
	if err != nil {
		return err
	}
	byHash, err := c.tx.bucket(bucketPATsByHash)
	if err != nil {
		return err
	}
	n := 0
	if err := pats.ForEach(func(k, v []byte) error {
		n++
		var r patRecord
		if err := json.Unmarshal(v, &r); err != nil {
			c.report("personal access token %q does not decode: %v", k, err)
			return nil
		}
		if got := byHash.Get(r.Hash); !bytes.Equal(got, k) {
			c.report("personal access token %q: its hash is indexed to %q", k, got)
		}
		return nil
	}); err != nil {
		return err
	}
	if got := byHash.Stats().KeyN; got != n {
		c.report("personal_access_tokens_by_hash holds %d entries for %d tokens", got, n)
	}
	return nil
}

// ExchangeRequest is an RFC 8693 token exchange: the client that asks (a
// secret for a confidential one, none for a SPA or native one), the subject
// token (a personal access token or a subject token), and the resource,
// organization and scopes wanted.
type ExchangeRequest struct {
	ClientID, Secret string
	SubjectToken     string
	Resource         string
	Scopes           []string
	// OrganizationID, when set, asks for a token within that organization
	// of the user's: an organization token without Resource, a resource
	// token carrying the organization roles' resource scopes with it.
	OrganizationID string
}

// ExchangeGrant is what an exchange gets: a token for UserID, issued to
// App, for Resource with requested ∩ the scopes of the user's roles there;
// with OrganizationID, of the user's roles in that organization, and
// Resource nil for an organization token.
type ExchangeGrant struct {
	App            *Application
	UserID         string
	Resource       *Resource
	OrganizationID string
	Scopes         []string
	// SubjectTokenContext is the context its subject token was made with
	// (GrantSubjectTokenExchange), for custom JWT claims scripts.
	SubjectTokenContext map[string]any
}

// GrantPATExchange resolves a token exchange of a personal access token,
// as Logto does: the client must be a first-party application that allows
// token exchange (customClientMetadata.allowTokenExchange); the token must
// exist and not have expired, and its user must not be suspended.
//
// Returns EUNAUTHORIZED (oidc.invalid_client) for a client that does not
// authenticate or is disabled, EFORBIDDEN (oidc.unauthorized_client) for
// one not allowed the exchange or (oidc.invalid_grant) for a token that
// does not exist, expired or is a suspended user's or (oidc.access_denied)
// for an organization the user is not a member of, and EINVALID
// (oidc.invalid_target) for an unknown resource.
func (db *DB) GrantPATExchange(ctx context.Context, tenant string, req ExchangeRequest) (*ExchangeGrant, error) {
	presented := db.hashSecret(req.Secret)
	subject := db.hashSecret(req.SubjectToken)
	var out *ExchangeGrant
	err := db.View(ctx, tenant, func(tx *Tx) error {
		app, err := exchangeClient(tx, req.ClientID, req.Secret, presented)
		if err != nil {
			return err
		}
		pats, byHash, err := patBuckets(tx)
		if err != nil {
			return err
		}
		key := byHash.Get(subject)
		if key == nil {
			return errInvalidGrant("subject token not found")
		}
		var r patRecord
		if ok, err := getJSON(pats, key, &r); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("personal access token index points at missing %q", key)
		}
		if r.ExpiresAt != nil && *r.ExpiresAt <= msec(tx.now) {
			return errInvalidGrant("subject token is expired")
		}
		userID, _, _ := bytes.Cut(key, []byte{0})
		out, err = userExchangeGrant(tx, app, string(userID), req)
		return err
	})
	return out, err
}

// userExchangeGrant is what app gets as user userID for req: at the
// resource with req's indicator (the default resource when empty),
// requested ∩ the scopes of the user's roles there; within req's
// organization, those of the user's roles in it (organizationScopes). A
// suspended user gets nothing (invalid_grant), nor does a user outside the
// organization (access_denied, as Logto).
func userExchangeGrant(tx *Tx, app *appRecord, userID string, req ExchangeRequest) (*ExchangeGrant, error) {
	u, err := findUserRecord(tx, userID)
	if err != nil {
		return nil, err
	}
	if u.IsSuspended {
		return nil, errInvalidGrant("the subject token's user is suspended")
	}
	out := &ExchangeGrant{App: app.toApplication(), UserID: u.ID, OrganizationID: req.OrganizationID}
	if req.OrganizationID != "" {
		res, scopes, member, err := organizationScopes(tx, relOrgUsers, relOrgUserRoles, req.OrganizationID, u.ID, req.Resource, req.Scopes)
		if err != nil {
			return nil, err
		} else if !member {
			return nil, detailErrorf(EFORBIDDEN, "oidc.access_denied", "user is not a member of the organization")
		}
		out.Resource, out.Scopes = res, scopes
		return out, nil
	}
	res, err := grantResource(tx, req.Resource)
	if err != nil {
		return nil, err
	}
	roles, err := relUserRoles.list(tx, u.ID)
	if err != nil {
		return nil, err
	}
	resolve, err := resourceScopeResolver(tx, res.ID)
	if err != nil {
		return nil, err
	}
	if out.Scopes, err = grantedScopes(tx, roles, relRoleScopes, resolve, req.Scopes); err != nil {
		return nil, err
	}
	out.Resource = res.toResource()
	return out, nil
}

// exchangeClient authenticates the client of a token exchange: with its
// secret, or a SPA or native application by its id alone (a public client
// has no secret; the subject token is the credential), and checks that it
// may exchange tokens.
func exchangeClient(tx *Tx, clientID, secret string, presented []byte) (*appRecord, error) {
	var app *appRecord
	if secret == "" {
		a, err := findApp(tx, clientID)
		if err != nil || (a.Type != AppSPA && a.Type != AppNative) {
			return nil, detailErrorf(EUNAUTHORIZED, "oidc.invalid_client", "client authentication failed")
		}
		app = a
	} else {
		a, _, err := authenticateApp(tx, clientID, presented)
		if err != nil {
			return nil, err
		}
		app = a
	}
	if disabled, err := isDisabled(tx, app.ID); err != nil {
		return nil, err
	} else if disabled {
		return nil, errClientDisabled()
	}
	if app.IsThirdParty || app.CustomClient == nil || !isTrue(app.CustomClient.AllowTokenExchange) {
		return nil, detailErrorf(EFORBIDDEN, "oidc.unauthorized_client", "The application does not allow token exchange.")
	}
	return app, nil
}
