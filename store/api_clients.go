package store

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// An API client is a program's identity, as Flip's "API clients" and
// ZITADEL's service users: a caller-chosen client id, backed by a
// MachineToMachine application of the same id (its secrets and roles) and by
// a user named service-account-<clientId> (its keys and its place in the
// user list). The three are created, changed and deleted together, so
// /api/users and /api/applications refuse to change them on their own.

// Per-tenant buckets of API clients.
var (
	bucketAPIClients      = []byte("api_clients")       // client id -> apiClientRecord
	bucketAPIClientsOrder = []byte("api_clients_order") // seq -> client id
	bucketAPIClientState  = []byte("api_client_state")  // client id -> clientState
)

var apiClientsTable = table{"api client", bucketAPIClients, bucketAPIClientsOrder}

// ServiceAccountPrefix starts the username of an API client's user.
const ServiceAccountPrefix = "service-account-"

// MaxSecretGrace bounds how long a rotated secret may keep working.
const MaxSecretGrace = 7 * 24 * 3600

// maxGraceSecrets bounds the old secrets kept through a grace period.
const maxGraceSecrets = 3

var apiClientIDRE = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// APIClient is a program's identity in a tenant.
type APIClient struct {
	ClientID    string
	UserID      string // the service-account user
	Description *string
	FirstName   string
	LastName    string
	RoleIDs     []string // tenant roles of the backing application
	IsDisabled  bool
	CreatedAt   int64
	UpdatedAt   int64
}

// Name is the display name of the client's user: first and last name.
func (c *APIClient) Name() string { return joinName(c.FirstName, c.LastName) }

// APIClientCreate is the input of CreateAPIClient.
type APIClientCreate struct {
	ClientID    string
	RoleIDs     []string
	FirstName   string
	LastName    string
	Description *string
}

// APIClientUpdate is the input of UpdateAPIClient; nil fields stay as they
// are. RoleIDs replaces the roles.
type APIClientUpdate struct {
	Description Field[string]
	FirstName   *string
	LastName    *string
	RoleIDs     []string
}

// APIClientSearchOptions returns the fields GET /api/api-clients searches.
func APIClientSearchOptions() search.Options {
	return search.Options{Fields: []string{"clientId", "description", "name"}}
}

type apiClientRecord struct {
	ClientID    string  `json:"id"`
	Seq         uint64  `json:"seq"`
	UserID      string  `json:"uid"`
	Description *string `json:"ds,omitempty"`
	CreatedAt   int64   `json:"ca"`
	UpdatedAt   int64   `json:"ua"`
}

func joinName(first, last string) string { return strings.TrimSpace(first + " " + last) }

func validateAPIClientNames(first, last *string) error {
	for _, f := range []struct {
		name  string
		value *string
	}{{"firstName", first}, {"lastName", last}} {
		if err := checkName(f.name, f.value); err != nil {
			return err
		}
		if f.value != nil && utf8.RuneCountInString(*f.value) > 64 {
			return fieldError(f.name, "must be at most 64 characters on one line")
		}
	}
	return nil
}

func errClientIDTaken(id string) *Error {
	return detailErrorf(EUNPROCESSABLE, "api_client.client_id_in_use", "The client id %q is already in use.", id)
}

// errManagedByAPIClient refuses a change of an API client's user or
// application made outside /api/api-clients.
func errManagedByAPIClient(entity, clientID string) *Error {
	return detailErrorf(EUNPROCESSABLE, entity+".managed_by_api_client",
		"This %s belongs to API client %q; change it with /api/api-clients/%s.", entity, clientID, clientID)
}

// serviceAccountUser returns the user record of an API client.
func serviceAccountUser(tx *Tx, c *apiClientRecord) (*userRecord, error) {
	u, err := findUserRecord(tx, c.UserID)
	if err != nil {
		// Not a domain error: the client exists, so its user must.
		return nil, fmt.Errorf("api client %s: user %s: %v", c.ClientID, c.UserID, err)
	}
	return u, nil
}

// findAPIClient returns the record of API client id, or ENOTFOUND.
func findAPIClient(tx *Tx, id string) (*apiClientRecord, error) {
	var r apiClientRecord
	if err := apiClientsTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// clientState is what the Management API checks of an API client on every
// request: whether it is disabled, and the instant from which its tokens
// count (tokens issued before it are refused): its creation, its last
// enable, or just after its last disable or the delete of an earlier client
// of the same id. A deleted client leaves its state behind, marked Deleted,
// so that a new client of the same id counts tokens only from after the
// delete.
//
// Stored as 9 bytes: flag bits, then a big-endian time. Files written
// before stateNanos stored Unix seconds (the second after a disable);
// they are read as that second, so their meaning is unchanged.
type clientState struct {
	Disabled bool
	Deleted  bool
	// NotBefore is in Unix nanoseconds: a token issued in the same second
	// as an enable, but after it, must count (second precision refused it).
	NotBefore int64
}

const (
	stateDisabled = 1 << iota
	stateDeleted
	stateNanos // NotBefore is in nanoseconds, not seconds
)

func (s clientState) encode() []byte {
	b := make([]byte, 9)
	b[0] = stateNanos
	if s.Disabled {
		b[0] |= stateDisabled
	}
	if s.Deleted {
		b[0] |= stateDeleted
	}
	copy(b[1:], itob(uint64(s.NotBefore)))
	return b
}

// readClientState returns the state of client id; ok is false for a client
// that is not an API client.
func readClientState(tx *Tx, id string) (s clientState, ok bool, err error) {
	b, err := tx.bucket(bucketAPIClientState)
	if err != nil {
		return s, false, err
	}
	v := b.Get([]byte(id))
	if v == nil {
		return s, false, nil
	} else if len(v) != 9 {
		return s, false, fmt.Errorf("api client %s: state of %d bytes", id, len(v))
	}
	s = clientState{Disabled: v[0]&stateDisabled != 0, Deleted: v[0]&stateDeleted != 0, NotBefore: int64(btoi(v[1:]))}
	if v[0]&stateNanos == 0 {
		s.NotBefore = time.Unix(s.NotBefore, 0).UnixNano()
	}
	return s, true, nil
}

func putClientState(tx *Tx, id string, s clientState) error {
	b, err := tx.bucket(bucketAPIClientState)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), s.encode())
}

// isDisabled reports whether client id is a disabled API client.
func isDisabled(tx *Tx, id string) (bool, error) {
	s, _, err := readClientState(tx, id)
	return s.Disabled, err
}

// toAPIClient joins the client's record with its user and roles.
func toAPIClient(tx *Tx, r *apiClientRecord) (*APIClient, error) {
	u, err := serviceAccountUser(tx, r)
	if err != nil {
		return nil, err
	}
	roles, err := relAppRoles.list(tx, r.ClientID)
	if err != nil {
		return nil, err
	}
	disabled, err := isDisabled(tx, r.ClientID)
	if err != nil {
		return nil, err
	}
	return &APIClient{ClientID: r.ClientID, UserID: r.UserID, Description: r.Description,
		FirstName: u.Profile.GivenName, LastName: u.Profile.FamilyName, RoleIDs: roles,
		IsDisabled: disabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}, nil
}

// CreateAPIClient stores a new API client with its application, first
// secret and user, and returns it with the secret, which is never shown
// again. Returns EINVALID; EUNPROCESSABLE (api_client.client_id_in_use when
// an API client or application has the id; the role errors of
// AssignApplicationRoles); ENOTFOUND for an unknown role.
func (db *DB) CreateAPIClient(ctx context.Context, tenant string, in APIClientCreate) (*APIClient, string, error) {
	if !apiClientIDRE.MatchString(in.ClientID) {
		return nil, "", fieldError("clientId", "must be 3-64 characters of a-z, 0-9, '.', '_' and '-'")
	}
	if err := firstErr(validateAPIClientNames(&in.FirstName, &in.LastName), validateDescription(in.Description)); err != nil {
		return nil, "", err
	}
	secret := NewSecret()
	var out *APIClient
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		now := msec(tx.now)
		if taken, err := appsTable.exists(tx, in.ClientID); err != nil {
			return err
		} else if taken {
			return errClientIDTaken(in.ClientID)
		}
		username := ServiceAccountPrefix + in.ClientID
		if err := checkUserUnique(tx, "", &username, nil, nil); ErrorCode(err) == ECONFLICT {
			return errClientIDTaken(in.ClientID)
		} else if err != nil {
			return err
		}
		previous, _, err := readClientState(tx, in.ClientID)
		if err != nil {
			return err
		}
		check := roleOfType(tx, RoleMachineToMachine, errUserRoleForApp)
		for _, id := range in.RoleIDs {
			if err := check(id); err != nil {
				return err
			}
		}
		// Every refusal is above; writes start here.
		app := appRecord{ID: in.ClientID, Name: username, Description: in.Description, Type: AppMachineToMachine,
			Secrets: []secretRecord{{Name: secretName(now), Hash: db.hashSecret(secret), CreatedAt: now}}, CreatedAt: now}
		if err := putApp(tx, &app); err != nil {
			return err
		}
		if _, err := assign(tx, relAppRoles, app.ID, in.RoleIDs, false, nil); err != nil {
			return err
		}
		name := joinName(in.FirstName, in.LastName)
		u := userRecord{Username: &username, ApplicationID: &app.ID, ServiceAccount: in.ClientID,
			Profile: Profile{GivenName: in.FirstName, FamilyName: in.LastName}, CreatedAt: now, UpdatedAt: now}
		if name != "" {
			u.Name = &name
		}
		if err := insertUser(tx, &u); err != nil {
			return err
		}
		// A client id can be reused after a delete: tokens of the old client
		// must not count for the new one.
		notBefore := max(previous.NotBefore, tx.now.UnixNano())
		if err := putClientState(tx, in.ClientID, clientState{NotBefore: notBefore}); err != nil {
			return err
		}
		r := apiClientRecord{ClientID: in.ClientID, UserID: u.ID, Description: in.Description, CreatedAt: now, UpdatedAt: now}
		if err := apiClientsTable.insert(tx, r.ClientID, &r.Seq, &r); err != nil {
			return err
		}
		if out, err = toAPIClient(tx, &r); err != nil {
			return err
		}
		return tx.audit("Management.APIClient.Create", AuditPayload{ApplicationID: r.ClientID, UserID: u.ID,
			Target: &AuditTarget{Type: "api_client", ID: r.ClientID}})
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// secretName names a generated secret by its creation time, so that the
// secrets list of the backing application tells them apart.
func secretName(now int64) string { return fmt.Sprintf("API client secret %d", now) }

// FindAPIClient returns API client id. Returns ENOTFOUND.
func (db *DB) FindAPIClient(ctx context.Context, tenant, id string) (*APIClient, error) {
	var out *APIClient
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findAPIClient(tx, id)
		if err != nil {
			return err
		}
		out, err = toAPIClient(tx, r)
		return err
	})
	return out, err
}

// FindAPIClients returns one page of API clients, newest first, that match
// q on client id, description or name, and how many match.
func (db *DB) FindAPIClients(ctx context.Context, tenant string, q search.Query, p pagination.Params) ([]*APIClient, int, error) {
	out := []*APIClient{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var c *APIClient
		load := func(id string, v []byte) error {
			var r apiClientRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode api client %s: %w", id, err)
			}
			var err error
			c, err = toAPIClient(tx, &r)
			return err
		}
		match := func(id string, v []byte) (bool, error) {
			if err := load(id, v); err != nil {
				return false, err
			}
			return q.Match(func(field string) (string, bool) {
				switch field {
				case "clientId":
					return c.ClientID, true
				case "description":
					if c.Description == nil {
						return "", false
					}
					return *c.Description, true
				case "name":
					return c.Name(), true
				}
				return "", false
			}), nil
		}
		emit := func(id string, v []byte) error {
			if q.Empty() {
				if err := load(id, v); err != nil {
					return err
				}
			}
			out = append(out, c)
			return nil
		}
		if q.Empty() {
			match = nil // only the page is loaded
		}
		var err error
		total, err = apiClientsTable.walk(ctx, tx, p, true, match, emit)
		return err
	})
	return out, total, err
}

// UpdateAPIClient changes the description, names or roles of API client id.
// A role change applies to the client's next token. Returns ENOTFOUND,
// EINVALID, or the role errors of AssignApplicationRoles.
func (db *DB) UpdateAPIClient(ctx context.Context, tenant, id string, upd APIClientUpdate) (*APIClient, error) {
	if err := firstErr(validateAPIClientNames(upd.FirstName, upd.LastName), validateDescription(upd.Description.Value)); err != nil {
		return nil, err
	}
	var out *APIClient
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findAPIClient(tx, id)
		if err != nil {
			return err
		}
		old, err := serviceAccountUser(tx, r)
		if err != nil {
			return err
		}
		if upd.RoleIDs != nil {
			check := roleOfType(tx, RoleMachineToMachine, errUserRoleForApp)
			for _, role := range upd.RoleIDs {
				if err := check(role); err != nil {
					return err
				}
			}
		}
		app, err := findApp(tx, id)
		if err != nil {
			return fmt.Errorf("api client %s: application: %v", id, err)
		}
		// Every refusal is above; writes start here.
		now := msec(tx.now)
		if upd.RoleIDs != nil {
			if _, err := assign(tx, relAppRoles, id, upd.RoleIDs, true, nil); err != nil {
				return err
			}
		}
		if upd.Description.Set {
			r.Description = upd.Description.Value
			app.Description = r.Description
			if err := appsTable.update(tx, id, app); err != nil {
				return err
			}
		}
		if upd.FirstName != nil || upd.LastName != nil {
			u := *old
			if upd.FirstName != nil {
				u.Profile.GivenName = *upd.FirstName
			}
			if upd.LastName != nil {
				u.Profile.FamilyName = *upd.LastName
			}
			u.Name = nil
			if name := joinName(u.Profile.GivenName, u.Profile.FamilyName); name != "" {
				u.Name = &name
			}
			u.UpdatedAt = now
			if err := replaceUser(tx, old, &u); err != nil {
				return err
			}
		}
		r.UpdatedAt = now
		if err := apiClientsTable.update(tx, id, r); err != nil {
			return err
		}
		if out, err = toAPIClient(tx, r); err != nil {
			return err
		}
		return tx.auditTarget("Management.APIClient.Update", "api_client", id)
	})
	return out, err
}

// RotateAPIClientSecret gives API client id a new secret and returns it.
// The secrets it had stop working at once when grace is 0, else grace
// seconds from now (or when they expire, if earlier). Returns ENOTFOUND,
// EINVALID for a grace outside 0..MaxSecretGrace, or EUNPROCESSABLE
// (application.instance_administrator) for an instance administrator.
func (db *DB) RotateAPIClientSecret(ctx context.Context, tenant, id string, grace int64) (string, *int64, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return "", nil, fieldError("graceSeconds", "must be between 0 and %d", MaxSecretGrace)
	}
	secret := NewSecret()
	var oldUntil *int64
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findAPIClient(tx, id); err != nil {
			return err
		}
		if err := refuseSystemAdminChange(tx, id); err != nil {
			return err
		}
		app, err := findApp(tx, id)
		if err != nil {
			return err
		}
		now := msec(tx.now)
		kept := []secretRecord{}
		oldUntil = nil
		if grace > 0 {
			until := now + grace*1000
			for _, s := range app.Secrets {
				if s.ExpiresAt != nil && *s.ExpiresAt <= now {
					continue // already dead: dropped
				}
				if s.ExpiresAt == nil || *s.ExpiresAt > until {
					s.ExpiresAt = &until
				}
				kept = append(kept, s)
			}
			// Rotating again within the grace keeps the newest few, so
			// that authentication never compares against a long list.
			kept = kept[max(0, len(kept)-maxGraceSecrets):]
			if len(kept) > 0 {
				oldUntil = &until
			}
		}
		name := secretName(now)
		for slices.ContainsFunc(kept, func(s secretRecord) bool { return s.Name == name }) {
			name += "'" // two rotations in one millisecond
		}
		app.Secrets = append(kept, secretRecord{Name: name, Hash: db.hashSecret(secret), CreatedAt: now})
		if err := appsTable.update(tx, id, app); err != nil {
			return err
		}
		return tx.auditTarget("Management.APIClient.Secret.Rotate", "api_client", id)
	})
	if err != nil {
		return "", nil, err
	}
	return secret, oldUntil, nil
}

// SetAPIClientDisabled disables or enables API client id. A disabled client
// gets no token, and the tokens it holds are refused (see ClientActive).
// Returns ENOTFOUND, or EUNPROCESSABLE (application.instance_administrator)
// when disabling an instance administrator.
func (db *DB) SetAPIClientDisabled(ctx context.Context, tenant, id string, disabled bool) (*APIClient, error) {
	var out *APIClient
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findAPIClient(tx, id)
		if err != nil {
			return err
		}
		if disabled {
			if err := refuseSystemAdminChange(tx, id); err != nil {
				return err
			}
		}
		state, _, err := readClientState(tx, id)
		if err != nil {
			return err
		}
		// Tokens issued up to the disable stay refused after an enable, even
		// those of the same second: a client is disabled because its secret
		// or key may be out. Tokens issued from the enable on count, even
		// those of the same second: the token endpoint checks the client
		// after this transaction commits and stamps the token after its
		// check, so a token it hands out after the enable is never older
		// than tx.now (and none is handed out while the client is disabled).
		key, from := "Management.APIClient.Enable", tx.now.UnixNano()
		if disabled {
			key, from = "Management.APIClient.Disable", from+1
		}
		state.NotBefore = max(state.NotBefore, from)
		state.Disabled = disabled
		if err := putClientState(tx, id, state); err != nil {
			return err
		}
		r.UpdatedAt = msec(tx.now)
		if err := apiClientsTable.update(tx, id, r); err != nil {
			return err
		}
		if out, err = toAPIClient(tx, r); err != nil {
			return err
		}
		return tx.auditTarget(key, "api_client", id)
	})
	return out, err
}

// DeleteAPIClient removes API client id with its application (secrets,
// roles, memberships) and its user (keys, roles, memberships), in one
// transaction. Its tokens stop working at once. Returns ENOTFOUND, or
// EUNPROCESSABLE (application.instance_administrator) for an instance
// administrator.
func (db *DB) DeleteAPIClient(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findAPIClient(tx, id)
		if err != nil {
			return err
		}
		u, err := serviceAccountUser(tx, r)
		if err != nil {
			return err
		}
		if _, err := findApp(tx, id); err != nil {
			return fmt.Errorf("api client %s: application: %v", id, err) // checked before the first write
		}
		if err := refuseSystemAdminChange(tx, id); err != nil {
			return err
		}
		if err := deleteUserRecord(tx, u); err != nil {
			return err
		}
		if err := deleteAppRecord(tx, id); err != nil {
			return err
		}
		if err := putClientState(tx, id, clientState{Deleted: true, NotBefore: tx.now.UnixNano() + 1}); err != nil {
			return err
		}
		if err := apiClientsTable.delete(tx, id, r.Seq); err != nil {
			return err
		}
		return tx.audit("Management.APIClient.Delete", AuditPayload{ApplicationID: id, UserID: r.UserID,
			Target: &AuditTarget{Type: "api_client", ID: id}})
	})
}

// ClientActive reports whether a token of clientID issued at issuedAt may
// still call: its application exists and, for an API client, the client is
// enabled and was not disabled, enabled or created after the token was
// issued (compared to the nanosecond). The
// Management API asks on every request, so that deleting or disabling a
// client stops its tokens at once. Returns ENOTFOUND for an unknown tenant.
func (db *DB) ClientActive(ctx context.Context, tenant, clientID string, issuedAt time.Time) (bool, error) {
	gen := db.generation()
	key := cacheKey(tenant, clientID)
	c, ok := db.clientCache.get(key, gen)
	if !ok {
		err := db.View(ctx, tenant, func(tx *Tx) error {
			var err error
			c, err = readClientStateAt(tx, clientID)
			return err
		})
		if err != nil {
			return false, err
		}
		db.clientCache.put(key, gen, c)
	}
	return c.active(issuedAt), nil
}

// clientStateAt is what decides whether an application's tokens still
// count, as ClientActive caches it.
type clientStateAt struct {
	exists, hasState bool
	state            clientState
}

// active reports whether a token issued at issuedAt counts.
func (c clientStateAt) active(issuedAt time.Time) bool {
	if !c.exists || !c.hasState {
		return c.exists
	}
	return !c.state.Disabled && !c.state.Deleted && issuedAt.UnixNano() >= c.state.NotBefore
}

func readClientStateAt(tx *Tx, clientID string) (clientStateAt, error) {
	var c clientStateAt
	var err error
	if c.exists, err = appsTable.exists(tx, clientID); err != nil || !c.exists {
		return c, err
	}
	c.state, c.hasState, err = readClientState(tx, clientID)
	return c, err
}

func clientActive(tx *Tx, clientID string, issuedAt time.Time) (bool, error) {
	c, err := readClientStateAt(tx, clientID)
	return c.active(issuedAt), err
}

// findEditableUser returns user id for a change through /api/users: ENOTFOUND,
// or EUNPROCESSABLE (user.managed_by_api_client) for an API client's user.
func findEditableUser(tx *Tx, id string) (*userRecord, error) {
	u, err := findUserRecord(tx, id)
	if err != nil {
		return nil, err
	}
	if u.ServiceAccount != "" {
		return nil, errManagedByAPIClient("user", u.ServiceAccount)
	}
	return u, nil
}

// findEditableApp returns application id for a change through
// /api/applications: ENOTFOUND, or EUNPROCESSABLE
// (application.managed_by_api_client) for an API client's application.
func findEditableApp(tx *Tx, id string) (*appRecord, error) {
	app, err := findApp(tx, id)
	if err != nil {
		return nil, err
	}
	if err := refuseAPIClientAppWrite(tx, id); err != nil {
		return nil, err
	}
	return app, nil
}

// refuseAPIClientAppWrite refuses a change of an API client's application
// (deleting it, or its secrets) made through /api/applications.
func refuseAPIClientAppWrite(tx *Tx, appID string) error {
	if ok, err := apiClientsTable.exists(tx, appID); err != nil {
		return err
	} else if ok {
		return errManagedByAPIClient("application", appID)
	}
	return nil
}

// errClientDisabled refuses a token to a disabled API client.
func errClientDisabled() *Error {
	return detailErrorf(EUNAUTHORIZED, "oidc.invalid_client", "client is disabled")
}

// apiClients checks that every API client has its order entry, state,
// MachineToMachine application and service-account user, and that every
// service-account user and state belongs to an API client.
func (c *integrityCheck) apiClients() error {
	if err := c.table(apiClientsTable); err != nil {
		return err
	}
	clients, err := c.tx.bucket(bucketAPIClients)
	if err != nil {
		return err
	}
	err = clients.ForEach(func(k, v []byte) error {
		var r apiClientRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode api client %s: %w", k, err)
		}
		if ok, err := c.typed(appsTable, AppMachineToMachine)(r.ClientID); err != nil {
			return err
		} else if !ok {
			c.report("api client %s: no MachineToMachine application", r.ClientID)
		}
		if _, ok, err := readClientState(c.tx, r.ClientID); err != nil {
			return err
		} else if !ok {
			c.report("api client %s: no state", r.ClientID)
		}
		u, err := findUserRecord(c.tx, r.UserID)
		if ErrorCode(err) == ENOTFOUND {
			c.report("api client %s: user %s missing", r.ClientID, r.UserID)
			return nil
		} else if err != nil {
			return err
		}
		if u.ServiceAccount != r.ClientID || u.Username == nil || *u.Username != ServiceAccountPrefix+r.ClientID {
			c.report("api client %s: user %s is not its service account", r.ClientID, r.UserID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	states, err := c.tx.bucket(bucketAPIClientState)
	if err != nil {
		return err
	}
	if err := states.ForEach(func(k, _ []byte) error {
		s, _, err := readClientState(c.tx, string(k))
		if err != nil {
			return err
		}
		if live := clients.Get(k) != nil; live == s.Deleted {
			c.report("api client state %s: deleted %v, client exists %v", k, s.Deleted, live)
		}
		return nil
	}); err != nil {
		return err
	}
	users, err := c.tx.bucket(bucketUsers)
	if err != nil {
		return err
	}
	return users.ForEach(func(k, v []byte) error {
		u, err := decodeUserRecord(k, v)
		if err != nil {
			return err
		}
		if u.ServiceAccount == "" {
			return nil
		}
		var r apiClientRecord
		if ok, err := getJSON(clients, []byte(u.ServiceAccount), &r); err != nil {
			return err
		} else if !ok || r.UserID != u.ID {
			c.report("user %s: service account of api client %s, which is missing or not its own", u.ID, u.ServiceAccount)
		}
		return nil
	})
}
