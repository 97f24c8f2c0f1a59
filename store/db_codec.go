package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// itob encodes a sequence number as an 8-byte big-endian key, so that a
// cursor walks keys in creation order.
func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// btoi decodes an 8-byte big-endian key.
func btoi(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// pairKey joins two ids into one relation key; 0x00 never occurs in an id.
func pairKey(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// idAlphabet is Logto's id alphabet: lowercase letters and digits.
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// newID returns a random id of n characters from idAlphabet (Logto uses 12 for
// users and 21 for applications). Rejection sampling keeps it uniform.
// givenOrNewID returns given, an id chosen by the caller (an import that
// keeps a source's ids), or a new random id of n characters when given is
// empty. A given id is 1 to 128 characters of [0-9A-Za-z_-]: Logto's ids
// and the ids idbolt has ever made fit, and nothing that could disturb a
// key, a path or a log line does. Returns EINVALID naming id.
func givenOrNewID(given string, n int) (string, error) {
	if given == "" {
		return newID(n), nil
	}
	if len(given) > 128 || strings.Trim(given, idAlphabet+"ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") != "" {
		return "", fieldError("id", "must be 1 to 128 characters of 0-9, a-z, A-Z, _ and -")
	}
	return given, nil
}

// errIDInUse is the ECONFLICT of a given id that a record of kind holds.
func errIDInUse(kind, id string) error {
	return detailErrorf(ECONFLICT, "entity.unique_integrity_violation", "The %s id %q is already in use.", kind, id)
}

func newID(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err)) // unreachable on supported platforms
		}
		for _, c := range buf {
			if c < 252 && len(out) < n { // 252 = 7*36: the largest multiple of 36 in a byte
				out = append(out, idAlphabet[c%36])
			}
		}
	}
	return string(out)
}

// msec returns t as Logto's timestamp: milliseconds since the epoch.
func msec(t time.Time) int64 { return t.UnixMilli() }

// getJSON decodes the record at key into v. It returns false if there is none.
// A record that fails to decode is an error, never skipped.
func getJSON(b interface{ Get([]byte) []byte }, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

// putJSON encodes v and stores it at key.
func putJSON(b interface{ Put([]byte, []byte) error }, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	return b.Put(key, data)
}

// userRecord is a user as stored. Field names are short and stable so that an
// API rename never rewrites data.
type userRecord struct {
	ID            string         `json:"id"`
	Seq           uint64         `json:"seq"`
	Username      *string        `json:"un,omitempty"`
	PrimaryEmail  *string        `json:"em,omitempty"`
	PrimaryPhone  *string        `json:"ph,omitempty"`
	Name          *string        `json:"nm,omitempty"`
	Avatar        *string        `json:"av,omitempty"`
	CustomData    map[string]any `json:"cd,omitempty"`
	Identities    map[string]any `json:"idn,omitempty"`
	Profile       Profile        `json:"pr"`
	ApplicationID *string        `json:"app,omitempty"`
	IsSuspended   bool           `json:"sus,omitempty"`
	PasswordHash  string         `json:"pw,omitempty"`
	LastSignInAt  *int64         `json:"lsi,omitempty"`
	// ServiceAccount is the client id of the API client this user stands
	// for; such a user changes only through /api/api-clients.
	ServiceAccount string `json:"sa,omitempty"`
	CreatedAt      int64  `json:"ca"`
	UpdatedAt      int64  `json:"ua"`
}

func (r *userRecord) toUser() *User {
	u := &User{
		ID: r.ID, Username: r.Username, PrimaryEmail: r.PrimaryEmail, PrimaryPhone: r.PrimaryPhone,
		Name: r.Name, Avatar: r.Avatar, CustomData: r.CustomData, Identities: r.Identities,
		Profile: r.Profile, ApplicationID: r.ApplicationID, IsSuspended: r.IsSuspended,
		HasPassword: r.PasswordHash != "", LastSignInAt: r.LastSignInAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if u.CustomData == nil {
		u.CustomData = map[string]any{}
	}
	if u.Identities == nil {
		u.Identities = map[string]any{}
	}
	return u
}

// toUserCopy is toUser for a record others share (a cached one): the
// user's maps and address are copies, so a caller that changes them
// changes only its own.
func (r *userRecord) toUserCopy() *User {
	u := r.toUser()
	if r.CustomData != nil { // else toUser made a new empty map
		u.CustomData = cloneJSONObject(r.CustomData)
	}
	if r.Identities != nil {
		u.Identities = cloneJSONObject(r.Identities)
	}
	if u.Profile.Address != nil {
		address := *u.Profile.Address
		u.Profile.Address = &address
	}
	return u
}

// cloneJSONObject returns a deep copy of a decoded JSON object.
func cloneJSONObject(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneJSONValue(v)
	}
	return out
}

// cloneJSONValue returns a deep copy of a decoded JSON value: objects and
// arrays are copied, the other values are immutable.
func cloneJSONValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneJSONObject(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = cloneJSONValue(e)
		}
		return out
	}
	return v
}

// scalarField returns one of the user's top-level searchable fields; false
// means null. Search goes through searchField, which adds customData.<key>.
func (r *userRecord) scalarField(field string) (string, bool) {
	var p *string
	switch field {
	case "id":
		return r.ID, true
	case "username":
		p = r.Username
	case "primaryEmail":
		p = r.PrimaryEmail
	case "primaryPhone":
		p = r.PrimaryPhone
	case "name":
		p = r.Name
	}
	if p == nil {
		return "", false
	}
	return *p, true
}

// appRecord is an application as stored, secrets included (hashed). The two
// metadata objects are Logto's own nested shapes and keep their names.
type appRecord struct {
	ID                    string                `json:"id"`
	Seq                   uint64                `json:"seq,omitempty"`
	Name                  string                `json:"nm"`
	Description           *string               `json:"ds,omitempty"`
	Type                  string                `json:"ty"`
	Secrets               []secretRecord        `json:"sec,omitempty"`
	OIDC                  *OIDCClientMetadata   `json:"oidc,omitempty"`
	CustomClient          *CustomClientMetadata `json:"ccm,omitempty"`
	CustomData            map[string]any        `json:"cd,omitempty"`
	IsThirdParty          bool                  `json:"tp,omitempty"`
	AppLevelAccessControl bool                  `json:"alac,omitempty"`
	CreatedAt             int64                 `json:"ca"`
}

type secretRecord struct {
	Name      string `json:"nm"`
	Hash      []byte `json:"h"`
	CreatedAt int64  `json:"ca"`
	ExpiresAt *int64 `json:"ea,omitempty"`
	// Sealed is the value sealed under the master key, bound to the tenant,
	// the application and Hash (appSecretAD). Only secrets created while
	// the tenant had readableApplicationSecrets on have one.
	Sealed []byte `json:"sv,omitempty"`
}

func (r *appRecord) toApplication() *Application {
	a := &Application{ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type,
		CustomData: r.CustomData, IsThirdParty: r.IsThirdParty,
		AppLevelAccessControlEnabled: r.AppLevelAccessControl, CreatedAt: r.CreatedAt}
	if r.OIDC != nil {
		a.OIDCClientMetadata = *r.OIDC
	}
	if r.CustomClient != nil {
		a.CustomClientMetadata = *r.CustomClient
	}
	if a.OIDCClientMetadata.RedirectURIs == nil {
		a.OIDCClientMetadata.RedirectURIs = []string{}
	}
	if a.OIDCClientMetadata.PostLogoutRedirectURIs == nil {
		a.OIDCClientMetadata.PostLogoutRedirectURIs = []string{}
	}
	if a.CustomData == nil {
		a.CustomData = map[string]any{}
	}
	return a
}

// searchField returns a field's value for application search.
func (r *appRecord) searchField(field string) (string, bool) {
	return searchIDNameDescription(field, r.ID, r.Name, r.Description)
}

type resourceRecord struct {
	ID             string `json:"id"`
	Seq            uint64 `json:"seq,omitempty"`
	Name           string `json:"nm"`
	Indicator      string `json:"ind"`
	IsDefault      bool   `json:"def,omitempty"`
	AccessTokenTTL int    `json:"ttl"`
	ReadOnly       bool   `json:"ro,omitempty"`
	CreatedAt      int64  `json:"ca"`
}

func (r *resourceRecord) toResource() *Resource {
	return &Resource{ID: r.ID, Name: r.Name, Indicator: r.Indicator, IsDefault: r.IsDefault,
		AccessTokenTTL: r.AccessTokenTTL, ReadOnly: r.ReadOnly, CreatedAt: r.CreatedAt}
}

type scopeRecord struct {
	ID          string  `json:"id"`
	Seq         uint64  `json:"seq,omitempty"`
	ResourceID  string  `json:"res"`
	Name        string  `json:"nm"`
	Description *string `json:"ds,omitempty"`
	CreatedAt   int64   `json:"ca"`
}

func (r *scopeRecord) toScope() *Scope {
	return &Scope{ID: r.ID, ResourceID: r.ResourceID, Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt}
}

// searchField returns a field's value for scope search.
func (r *scopeRecord) searchField(field string) (string, bool) {
	return searchIDNameDescription(field, r.ID, r.Name, r.Description)
}

type roleRecord struct {
	ID          string `json:"id"`
	Seq         uint64 `json:"seq,omitempty"`
	Name        string `json:"nm"`
	Description string `json:"ds,omitempty"`
	Type        string `json:"ty"`
	IsDefault   bool   `json:"def,omitempty"`
	ReadOnly    bool   `json:"ro,omitempty"`
	CreatedAt   int64  `json:"ca"`
}

func (r *roleRecord) toRole() *Role {
	return &Role{ID: r.ID, Name: r.Name, Description: r.Description, Type: r.Type, IsDefault: r.IsDefault,
		ReadOnly: r.ReadOnly, CreatedAt: r.CreatedAt}
}

// searchField returns a field's value for role search.
func (r *roleRecord) searchField(field string) (string, bool) {
	return searchIDNameDescription(field, r.ID, r.Name, &r.Description)
}

// searchIDNameDescription serves the searchable fields that applications,
// scopes and roles share (Logto searches these three on each); a nil
// description is null.
func searchIDNameDescription(field, id, name string, description *string) (string, bool) {
	switch field {
	case "id":
		return id, true
	case "name":
		return name, true
	case "description":
		if description != nil {
			return *description, true
		}
	}
	return "", false
}

// signingKeyRecord is a stored signing key. Sealed is the private JWK
// sealed under the master key; Private is the clear JWK that files written
// before encryption at rest hold, sealed by Open on first start.
type signingKeyRecord struct {
	ID        string `json:"kid"`
	Alg       string `json:"alg"`
	Private   []byte `json:"priv,omitempty"`
	Sealed    []byte `json:"sealed,omitempty"`
	CreatedAt int64  `json:"ca"`
	RetireAt  int64  `json:"ra,omitempty"`
}

type tenantRecord struct {
	ID        string     `json:"id"`
	Name      string     `json:"nm"`
	RateLimit *RateLimit `json:"rl,omitempty"`
	CreatedAt int64      `json:"ca"`
	// EmailWebhookURL receives the tenant's emails, signed with the key
	// sealed in EmailWebhookKeySealed; both are empty when there is no
	// webhook. EmailWebhookKey is the clear key of files written before
	// encryption at rest, sealed by Open on first start.
	EmailWebhookURL       string `json:"ewu,omitempty"`
	EmailWebhookKey       string `json:"ewk,omitempty"`
	EmailWebhookKeySealed []byte `json:"ewks,omitempty"`
	// ReadableSecrets is the readableApplicationSecrets switch: secrets
	// created while it is on also keep their value, sealed.
	ReadableSecrets bool `json:"rsec,omitempty"`
	// CORSOrigins are the browser origins allowed to call the tenant's
	// Management API and token endpoint (tenants_cors.go), normalized.
	// Optional, so files of older versions need no migration.
	CORSOrigins []string `json:"cors,omitempty"`
}

// toTenant never copies the webhook's signing key: it is shown only once,
// by the update that makes it.
func (r *tenantRecord) toTenant() *Tenant {
	t := &Tenant{ID: r.ID, Name: r.Name, RateLimit: r.RateLimit, CreatedAt: r.CreatedAt,
		ReadableApplicationSecrets: r.ReadableSecrets, CORSAllowedOrigins: r.CORSOrigins}
	if t.CORSAllowedOrigins == nil {
		t.CORSAllowedOrigins = []string{}
	}
	if r.EmailWebhookURL != "" {
		u := r.EmailWebhookURL
		t.EmailWebhookURL = &u
	}
	return t
}

// auditRecord is an audit entry as read from the log (logs_record.go has
// both stored formats). A legacy record holds its payload as JSON; a compact
// one its undecoded fields, read only when the entry is returned or
// filtered on.
type auditRecord struct {
	ID        string
	Key       string
	Payload   json.RawMessage // legacy records
	compact   bool
	fields    []byte // of a compact record; valid within the transaction read in
	CreatedAt int64
}

// toEntry returns the entry; of a compact record it writes the payload JSON
// and fails if the fields are malformed.
func (r *auditRecord) toEntry() (*AuditEntry, error) {
	payload := r.Payload
	if r.compact {
		var err error
		if payload, err = appendCompactPayloadJSON(make([]byte, 0, 2*len(r.fields)+64), r.Key, r.fields); err != nil {
			return nil, fmt.Errorf("audit entry %s: %w", r.ID, err)
		}
	}
	return &AuditEntry{ID: r.ID, Key: r.Key, Payload: payload, CreatedAt: r.CreatedAt}, nil
}
