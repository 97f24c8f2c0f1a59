package store

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// Application types, as Logto names them.
const (
	AppNative           = "Native"
	AppSPA              = "SPA"
	AppTraditional      = "Traditional"
	AppMachineToMachine = "MachineToMachine"
	AppProtected        = "Protected"
	AppSAML             = "SAML"
)

// ValidAppType reports whether t is one of Logto's application types.
func ValidAppType(t string) bool {
	switch t {
	case AppNative, AppSPA, AppTraditional, AppMachineToMachine, AppProtected, AppSAML:
		return true
	}
	return false
}

// hasSecrets reports whether apps of type t are confidential clients.
func hasSecrets(t string) bool { return t == AppTraditional || t == AppMachineToMachine }

// Application is an OAuth client of a tenant. Its id is its client id.
type Application struct {
	ID                           string
	Name                         string
	Description                  *string
	Type                         string
	OIDCClientMetadata           OIDCClientMetadata
	CustomClientMetadata         CustomClientMetadata
	CustomData                   map[string]any
	IsThirdParty                 bool
	AppLevelAccessControlEnabled bool
	CreatedAt                    int64
	// IsAdmin is set by FindApplicationByID: the app holds a role with the
	// Management API's scope all.
	IsAdmin bool
}

// OIDCClientMetadata is Logto's oidcClientMetadata of an application.
type OIDCClientMetadata struct {
	RedirectURIs                     []string `json:"redirectUris"`
	PostLogoutRedirectURIs           []string `json:"postLogoutRedirectUris"`
	BackchannelLogoutURI             string   `json:"backchannelLogoutUri,omitempty"`
	BackchannelLogoutSessionRequired *bool    `json:"backchannelLogoutSessionRequired,omitempty"`
	LogoURI                          string   `json:"logoUri,omitempty"`
}

// CustomClientMetadata is Logto's customClientMetadata of an application.
type CustomClientMetadata struct {
	CorsAllowedOrigins      []string `json:"corsAllowedOrigins,omitempty"`
	IDTokenTTL              *int     `json:"idTokenTtl,omitempty"`
	RefreshTokenTTL         *int     `json:"refreshTokenTtl,omitempty"`
	RefreshTokenTTLInDays   *int     `json:"refreshTokenTtlInDays,omitempty"`
	TenantID                *string  `json:"tenantId,omitempty"`
	AlwaysIssueRefreshToken *bool    `json:"alwaysIssueRefreshToken,omitempty"`
	RotateRefreshToken      *bool    `json:"rotateRefreshToken,omitempty"`
	AllowTokenExchange      *bool    `json:"allowTokenExchange,omitempty"`
	IsDeviceFlow            *bool    `json:"isDeviceFlow,omitempty"`
	MaxAllowedGrants        *int     `json:"maxAllowedGrants,omitempty"`
}

// AppSecret is one client secret of an application. A keyed hash of the
// value is stored, and the value is shown once, when it is made; a tenant
// with ReadableApplicationSecrets also keeps the value sealed, and Value
// carries it when the secrets are listed.
type AppSecret struct {
	ApplicationID string
	Name          string
	CreatedAt     int64
	ExpiresAt     *int64
	// Value is the secret itself, set by FindApplicationSecrets only for a
	// secret made while the tenant's switch was on, and only while it is.
	Value string
}

// secretBytes is the entropy of a generated client secret (256 bits).
const secretBytes = 32

// NewSecret returns a random client secret of 43 URL-safe characters.
func NewSecret() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // unreachable on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret returns the keyed hash of a client secret. Secrets are random
// with 256 bits of entropy, so a fast keyed hash is as strong as a slow one
// and keeps token issuance cheap.
func (db *DB) hashSecret(secret string) []byte {
	key := db.pepper.Load()
	h, _ := db.secretMACs.Get().(*secretMAC)
	if h == nil || h.key != key {
		h = &secretMAC{key: key, mac: hmac.New(sha256.New, *key)} // keyed once, reused while the key stays
	} else {
		h.mac.Reset()
	}
	io.WriteString(h.mac, secret)
	sum := h.mac.Sum(make([]byte, 0, sha256.Size))
	db.secretMACs.Put(h)
	return sum
}

// secretMAC is an HMAC keyed with one pepper, kept in DB.secretMACs.
type secretMAC struct {
	key *[]byte
	mac hash.Hash
}

// ClientGrantRequest is a client_credentials token request after parsing.
type ClientGrantRequest struct {
	ClientID string
	Secret   string
	Resource string   // RFC 8707 resource indicator
	Scopes   []string // requested scopes; nil grants none
	// OrganizationID asks for a token of an organization the app is a
	// member of (Logto's organization_id parameter).
	OrganizationID string
}

// ClientGrant is what a successful client_credentials request is granted.
type ClientGrant struct {
	App *Application
	// Resource is the API resource the token is for; nil for an
	// organization token, whose audience is OrganizationAudience.
	Resource       *Resource
	Scopes         []string // requested ∩ granted through the app's roles, in request order
	OrganizationID string   // set for organization_id requests
}

// OrganizationAudience is the audience of an organization token, as Logto's.
func OrganizationAudience(orgID string) string { return "urn:logto:organization:" + orgID }

// OrganizationTokenTTL is the lifetime of an organization token, in seconds
// (Logto's reserved-resource lifetime).
const OrganizationTokenTTL = 3600

// GrantClientCredentials authenticates a client and resolves what it may get
// for the resource, in one read transaction.
//
// Returns EUNAUTHORIZED (oidc.invalid_client) for an unknown client or a wrong
// or expired secret — the two take the same path and the same time, so the
// answer does not tell which ids exist; EFORBIDDEN (oidc.unauthorized_client)
// for an app type that may not use the grant; EINVALID (oidc.invalid_target)
// for a missing or unknown resource; EFORBIDDEN (oidc.invalid_grant) when
// OrganizationID names an organization the app is not a member of.
//
// A grant is cached for the data generation it was read in (db_cache.go),
// keyed by the hash of the presented secret: only a secret that was right
// before can hit, so a wrong one always takes the path through the file,
// and the answer's time still does not tell which ids exist.
func (db *DB) GrantClientCredentials(ctx context.Context, tenant string, req ClientGrantRequest) (*ClientGrant, error) {
	presented := db.hashSecret(req.Secret)
	gen := db.generation()
	key := cacheKey(append([]string{tenant, req.ClientID, string(presented), req.Resource, req.OrganizationID}, req.Scopes...)...)
	if c, ok := db.grantCache.get(key, gen); ok && (c.secretExpires == 0 || c.secretExpires > msec(db.now())) {
		grant := c.grant
		return &grant, ctx.Err()
	}
	var out *ClientGrant
	var secretExpires int64
	err := db.View(ctx, tenant, func(tx *Tx) error {
		app, expires, err := authenticateApp(tx, req.ClientID, presented)
		if err != nil {
			return err
		}
		secretExpires = expires
		if app.Type != AppMachineToMachine {
			return detailErrorf(EFORBIDDEN, "oidc.unauthorized_client", "The application type may not use the client_credentials grant.")
		}
		if disabled, err := isDisabled(tx, app.ID); err != nil {
			return err
		} else if disabled {
			return errClientDisabled()
		}
		if req.OrganizationID != "" {
			out, err = grantOrganization(tx, app, req)
			return err
		}
		if req.Resource == SystemIndicator {
			out, err = systemGrant(tx, app, req.Scopes)
			return err
		}
		res, err := grantResource(tx, req.Resource)
		if err != nil {
			return err
		}
		scopes, err := appResourceScopes(tx, app.ID, res.ID, req.Scopes)
		if err != nil {
			return err
		}
		out = &ClientGrant{App: app.toApplication(), Resource: res.toResource(), Scopes: scopes}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.grantCache.put(key, gen, cachedGrant{grant: *out, secretExpires: secretExpires})
	return out, nil
}

// cachedGrant is a grant as GrantClientCredentials caches it: with when the
// secret that authenticated it expires (0: never), which the cache cannot
// see coming.
type cachedGrant struct {
	grant         ClientGrant
	secretExpires int64
}

// dummyAppRecord stands in for the record of an unknown client: decoding it and
// comparing against its secret makes an unknown id cost what a wrong secret
// costs, so response times do not tell which client ids exist.
const dummyAppRecord = `{"id":"","nm":"","ty":"MachineToMachine","sec":[{"nm":"Default secret","h":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","ca":0}],"ca":0}`

// authenticateApp finds the app and checks the presented secret hash against
// every live secret of it in constant time. It returns when the secret that
// matched expires (0: never).
func authenticateApp(tx *Tx, clientID string, presented []byte) (*appRecord, int64, error) {
	apps, err := tx.bucket(bucketApps)
	if err != nil {
		return nil, 0, err
	}
	data := apps.Get([]byte(clientID))
	found := data != nil
	if !found {
		data = []byte(dummyAppRecord)
	}
	var app appRecord
	if err := json.Unmarshal(data, &app); err != nil {
		return nil, 0, fmt.Errorf("decode app %q: %w", clientID, err)
	}
	ok := 0
	var expires int64
	now := msec(tx.now)
	for _, s := range app.Secrets {
		match := subtle.ConstantTimeCompare(presented, s.Hash)
		if s.ExpiresAt == nil || *s.ExpiresAt > now {
			ok |= match
			if match == 1 && s.ExpiresAt != nil {
				expires = *s.ExpiresAt
			}
		}
	}
	if !found || ok != 1 {
		return nil, 0, detailErrorf(EUNAUTHORIZED, "oidc.invalid_client", "client authentication failed")
	}
	return &app, expires, nil
}

// grantedScopes returns the names of requested, in request order and without
// repeats, that one of roles holds through rel (role -> scope id). It reads
// index keys only, no scope record: resolve turns a name into a scope id
// (nil when unknown), and the scope is granted when a pair of rel joins one
// of the roles to it. The cost is bounded by requested scopes times roles,
// however many roles a scope has elsewhere.
func grantedScopes(tx *Tx, roles []string, rel relation, resolve func(name string) []byte, requested []string) ([]string, error) {
	pairs, err := tx.bucket(rel.fwd)
	if err != nil {
		return nil, err
	}
	out := []string{}
	seen := make(map[string]bool, len(requested))
	var key []byte // reused: Get does not keep its key
	for _, name := range requested {
		if seen[name] {
			continue
		}
		seen[name] = true
		id := resolve(name)
		if id == nil {
			continue
		}
		for _, role := range roles {
			key = append(append(append(key[:0], role...), 0), id...)
			if pairs.Get(key) != nil {
				out = append(out, name)
				break
			}
		}
	}
	return out, nil
}

// appResourceScopes returns requested ∩ the scopes of resource resourceID
// that app appID holds through its roles, in request order (grantedScopes).
func appResourceScopes(tx *Tx, appID, resourceID string, requested []string) ([]string, error) {
	roles, err := relAppRoles.list(tx, appID)
	if err != nil {
		return nil, err
	}
	resolve, err := resourceScopeResolver(tx, resourceID)
	if err != nil {
		return nil, err
	}
	return grantedScopes(tx, roles, relRoleScopes, resolve, requested)
}

// resourceScopeResolver returns a resolve function for grantedScopes that
// looks a name up among the scopes of resource resourceID.
func resourceScopeResolver(tx *Tx, resourceID string) (func(name string) []byte, error) {
	byName, err := tx.bucket(bucketScopesByName)
	if err != nil {
		return nil, err
	}
	var key []byte
	return func(name string) []byte {
		key = append(append(append(key[:0], resourceID...), 0), name...)
		return byName.Get(key)
	}, nil
}

// grantResource resolves the resource of a token request: the indicator
// asked for or, when none is, the tenant's default resource (as Logto's
// defaultResource setting does).
func grantResource(tx *Tx, indicator string) (*resourceRecord, error) {
	if indicator == SystemIndicator {
		// Instance administration is no tenant resource (systemGrant).
		return nil, errUnknownTarget()
	}
	if indicator == "" {
		res, err := findDefaultResource(tx)
		if err != nil {
			return nil, err
		} else if res == nil {
			return nil, detailErrorf(EINVALID, "oidc.invalid_target", "resource is not provided")
		}
		return res, nil
	}
	res, err := findResourceByIndicator(tx, indicator)
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, errUnknownTarget()
		}
		return nil, err
	}
	return res, nil
}

// putApp stores a new application.
func putApp(tx *Tx, app *appRecord) error {
	if ok, err := appsTable.exists(tx, app.ID); err != nil {
		return err
	} else if ok {
		return detailErrorf(ECONFLICT, "application.id_already_in_use", "Application %q already exists.", app.ID)
	}
	return appsTable.insert(tx, app.ID, &app.Seq, app)
}

// findApp returns the stored record of application id, or ENOTFOUND.
func findApp(tx *Tx, id string) (*appRecord, error) {
	var r appRecord
	if err := appsTable.get(tx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteApplication removes application id and every relation that points
// at it in one transaction. Returns ENOTFOUND, or EUNPROCESSABLE for an API
// client's application or an instance administrator's
// (application.instance_administrator).
func (db *DB) DeleteApplication(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if err := refuseAPIClientAppWrite(tx, id); err != nil {
			return err
		}
		if err := refuseSystemAdminChange(tx, id); err != nil {
			return err
		}
		if err := deleteAppRecord(tx, id); err != nil {
			return err
		}
		return tx.auditTarget("Management.Application.Delete", "application", id)
	})
}

// deleteAppRecord removes application id with its roles and memberships;
// the caller has checked refuseSystemAdminChange. Returns ENOTFOUND.
func deleteAppRecord(tx *Tx, id string) error {
	app, err := findApp(tx, id)
	if err != nil {
		return err
	}
	if err := cascadeDelete(tx, entityApp, id); err != nil {
		return err
	}
	return appsTable.delete(tx, id, app.Seq)
}

// ApplicationCreate is the input of CreateApplication.
type ApplicationCreate struct {
	// ID is the new application's id (its client id); empty makes one. A
	// given id (an import keeping a source's ids) must be free: ECONFLICT
	// otherwise.
	ID                   string
	Name                 string
	Description          *string
	Type                 string
	OIDCClientMetadata   *OIDCClientMetadata
	CustomClientMetadata *CustomClientMetadata
	CustomData           map[string]any
	IsThirdParty         bool
	// HasProtectedAppMetadata says the request carried protectedAppMetadata,
	// which idbolt does not support yet.
	HasProtectedAppMetadata bool
}

// ApplicationUpdate is the input of UpdateApplication; nil fields stay as
// they are.
type ApplicationUpdate struct {
	Name                         *string
	Description                  Field[string]
	OIDCClientMetadata           *OIDCClientMetadata
	CustomClientMetadata         *CustomClientMetadata
	CustomData                   map[string]any // replaces the stored object when not nil
	MergeCustomData              map[string]any // merged into it (the custom-data route), as Logto does
	AppLevelAccessControlEnabled *bool
	// IsAdmin assigns (true) or removes (false) the built-in Management API
	// access role, as Logto's isAdmin toggle does.
	IsAdmin *bool
}

// ApplicationFilter selects applications in FindApplications.
type ApplicationFilter struct {
	Types         []string // any of; empty means all
	Search        search.Query
	IsThirdParty  *bool
	ExcludeRoleID string // leave out apps that hold this role
	// ExcludeOrganizationID leaves out the apps that are members of this
	// organization.
	ExcludeOrganizationID string
}

// ApplicationSearchOptions returns the fields GET /api/applications searches.
func ApplicationSearchOptions() search.Options {
	return search.Options{Fields: []string{"id", "name", "description"}}
}

const (
	maxAppName      = 256
	maxDescription  = 2048
	maxRedirectURIs = 64
	maxSecrets      = 20
)

// uriSchemeRE is RFC 3986's scheme, which a native app's redirect URI may use
// in place of http(s) (for example com.example.app:/callback).
var uriSchemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// scriptSchemes run code in a browser rather than reach an app, so no redirect
// URI may use them. url.Parse lowercases the scheme.
var scriptSchemes = map[string]bool{"javascript": true, "vbscript": true, "data": true}

func validateRedirectURIs(field string, uris []string, native bool) error {
	if len(uris) > maxRedirectURIs {
		return fieldError(field, "must hold at most %d URIs", maxRedirectURIs)
	}
	for i, raw := range uris {
		u, err := url.Parse(raw)
		ok := err == nil && len(raw) <= maxURLField && u.IsAbs() && uriSchemeRE.MatchString(u.Scheme) && !scriptSchemes[u.Scheme] && u.Fragment == "" && !strings.Contains(raw, "#")
		if ok && !native {
			ok = (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
		}
		if !ok {
			kind := "an absolute http(s) URI without fragment"
			if native {
				kind = "an absolute URI without fragment"
			}
			return fieldError(fmt.Sprintf("%s[%d]", field, i), "must be %s, at most %d characters", kind, maxURLField)
		}
	}
	return nil
}

func validateOIDCMetadata(m *OIDCClientMetadata, appType string) error {
	if m == nil {
		return nil
	}
	native := appType == AppNative
	if err := validateRedirectURIs("oidcClientMetadata.redirectUris", m.RedirectURIs, native); err != nil {
		return err
	}
	if err := validateRedirectURIs("oidcClientMetadata.postLogoutRedirectUris", m.PostLogoutRedirectURIs, native); err != nil {
		return err
	}
	for _, f := range [...]struct{ field, v string }{{"backchannelLogoutUri", m.BackchannelLogoutURI}, {"logoUri", m.LogoURI}} {
		if f.v == "" {
			continue
		}
		if err := validateRedirectURIs(f.field, []string{f.v}, false); err != nil {
			return fieldError("oidcClientMetadata."+f.field, "must be an absolute http(s) URI")
		}
	}
	return nil
}

func validateCustomClientMetadata(m *CustomClientMetadata) error {
	if m == nil {
		return nil
	}
	positive := [...]struct {
		field string
		v     *int
	}{{"idTokenTtl", m.IDTokenTTL}, {"refreshTokenTtl", m.RefreshTokenTTL},
		{"refreshTokenTtlInDays", m.RefreshTokenTTLInDays}, {"maxAllowedGrants", m.MaxAllowedGrants}}
	for _, f := range positive {
		if f.v != nil && *f.v < 1 {
			return fieldError("customClientMetadata."+f.field, "must be a positive integer")
		}
	}
	if m.RefreshTokenTTLInDays != nil && *m.RefreshTokenTTLInDays > 90 {
		return fieldError("customClientMetadata.refreshTokenTtlInDays", "must be at most 90")
	}
	for i, origin := range m.CorsAllowedOrigins {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fieldError(fmt.Sprintf("customClientMetadata.corsAllowedOrigins[%d]", i), "must be an http(s) origin")
		}
	}
	return nil
}

func validateAppName(name *string) error {
	if name != nil && (*name == "" || utf8.RuneCountInString(*name) > maxAppName || !utf8.ValidString(*name)) {
		return fieldError("name", "must be 1 to %d characters", maxAppName)
	}
	return checkName("name", name)
}

func validateDescription(d *string) error {
	if d != nil && (utf8.RuneCountInString(*d) > maxDescription || !utf8.ValidString(*d)) {
		return fieldError("description", "must be at most %d characters", maxDescription)
	}
	return checkDescription("description", d)
}

// thirdPartyTypes are the application types Logto lets be third-party apps.
var thirdPartyTypes = map[string]bool{AppTraditional: true, AppSPA: true, AppNative: true}

func isTrue(b *bool) bool { return b != nil && *b }

// errDeviceFlowNativeOnly refuses customClientMetadata.isDeviceFlow on an
// application that is not Native, as Logto.
func errDeviceFlowNativeOnly() *Error {
	return detailErrorf(EUNPROCESSABLE, "application.device_flow_native_only",
		"Device flow is only available for native applications.")
}

// errThirdPartyTokenExchange refuses allowTokenExchange on a third-party
// application, as Logto.
func errThirdPartyTokenExchange() *Error {
	return detailErrorf(EUNPROCESSABLE, "application.third_party_application_cannot_enable_token_exchange",
		"Third-party applications cannot enable token exchange.")
}

// validateAppCreate applies Logto's rules for a new application, in Logto's
// order.
func validateAppCreate(in *ApplicationCreate) error {
	if err := firstErr(validateAppName(&in.Name), validateDescription(in.Description)); err != nil {
		return err
	}
	cm := in.CustomClientMetadata
	switch {
	case in.Type == AppSAML:
		return detailErrorf(EINVALID, "application.saml.use_saml_app_api",
			"SAML applications are not supported by idbolt yet (Logto serves them at /api/saml-applications).")
	case in.Type != AppNative && cm != nil && isTrue(cm.IsDeviceFlow):
		return errDeviceFlowNativeOnly()
	case in.Type == AppProtected && !in.HasProtectedAppMetadata:
		return detailErrorf(EINVALID, "application.protected_app_metadata_is_required", "Protected app metadata is required.")
	case in.Type == AppProtected:
		return detailErrorf(ENOTIMPLEMENTED, "application.protected_app_not_configured",
			"Protected applications are not supported by idbolt.")
	case !ValidAppType(in.Type):
		return fieldError("type", "must be one of Native, SPA, Traditional, MachineToMachine")
	case in.IsThirdParty && !thirdPartyTypes[in.Type]:
		return detailErrorf(EINVALID, "application.invalid_third_party_application_type",
			"Only Traditional, SPA and Native applications can be marked as third-party apps.")
	case in.IsThirdParty && cm != nil && isTrue(cm.AllowTokenExchange):
		return errThirdPartyTokenExchange()
	}
	return firstErr(validateOIDCMetadata(in.OIDCClientMetadata, in.Type), validateCustomClientMetadata(in.CustomClientMetadata))
}

// CreateApplication stores a new application. An app that can hold secrets
// (Traditional, MachineToMachine) gets a "Default secret", whose value is
// returned here and never again. Returns EINVALID and ENOTIMPLEMENTED.
func (db *DB) CreateApplication(ctx context.Context, tenant string, in ApplicationCreate) (*Application, string, error) {
	if err := validateAppCreate(&in); err != nil {
		return nil, "", err
	}
	id, err := givenOrNewID(in.ID, 21)
	if err != nil {
		return nil, "", err
	}
	var secret string
	if hasSecrets(in.Type) {
		secret = NewSecret()
	}
	var out *Application
	err = db.Update(ctx, tenant, func(tx *Tx) (err error) {
		if in.ID != "" {
			if taken, err := appsTable.exists(tx, id); err != nil || taken {
				return cmpErr(err, errIDInUse("application", id))
			}
		}
		now := msec(tx.now)
		r := appRecord{ID: id, Name: in.Name, Description: in.Description, Type: in.Type,
			OIDC: in.OIDCClientMetadata, CustomClient: in.CustomClientMetadata, CustomData: in.CustomData,
			IsThirdParty: in.IsThirdParty, CreatedAt: now}
		if secret != "" {
			s := secretRecord{Name: "Default secret", Hash: db.hashSecret(secret), CreatedAt: now}
			if s.Sealed, err = sealIfReadable(tx, id, secret, s.Hash); err != nil {
				return err
			}
			r.Secrets = []secretRecord{s}
		}
		if err := putApp(tx, &r); err != nil {
			return err
		}
		out = r.toApplication()
		return tx.auditTarget("Management.Application.Create", "application", id)
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// FindApplicationByID returns application id with IsAdmin set. Returns
// ENOTFOUND.
func (db *DB) FindApplicationByID(ctx context.Context, tenant, id string) (*Application, error) {
	var out *Application
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findApp(tx, id)
		if err != nil {
			return err
		}
		out = r.toApplication()
		admin, err := findManagementRole(tx)
		if err != nil {
			return err
		}
		out.IsAdmin, err = relAppRoles.has(tx, id, admin)
		return err
	})
	return out, err
}

// FindApplications returns one page of applications, newest first, and the
// number that match filter.
func (db *DB) FindApplications(ctx context.Context, tenant string, filter ApplicationFilter, p pagination.Params) ([]*Application, int, error) {
	out := []*Application{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		var r appRecord
		match := func(id string, v []byte) (bool, error) {
			if filter.ExcludeRoleID != "" {
				if has, err := relAppRoles.has(tx, id, filter.ExcludeRoleID); err != nil || has {
					return false, err
				}
			}
			if filter.ExcludeOrganizationID != "" {
				if has, err := relOrgApps.has(tx, filter.ExcludeOrganizationID, id); err != nil || has {
					return false, err
				}
			}
			r = appRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return false, fmt.Errorf("decode application %s: %w", id, err)
			}
			if len(filter.Types) > 0 && !slices.Contains(filter.Types, r.Type) {
				return false, nil
			}
			if filter.IsThirdParty != nil && r.IsThirdParty != *filter.IsThirdParty {
				return false, nil
			}
			return filter.Search.Match(r.searchField), nil
		}
		emit := func(string, []byte) error {
			out = append(out, r.toApplication())
			return nil
		}
		var err error
		total, err = appsTable.walk(ctx, tx, p, true, match, emit)
		return err
	})
	return out, total, err
}

// UpdateApplication applies upd to application id. Returns ENOTFOUND,
// EINVALID, or EUNPROCESSABLE (application.invalid_type) for isAdmin on an app
// that is not machine-to-machine.
func (db *DB) UpdateApplication(ctx context.Context, tenant, id string, upd ApplicationUpdate) (*Application, error) {
	if err := firstErr(validateAppName(upd.Name), validateDescription(upd.Description.Value),
		validateCustomClientMetadata(upd.CustomClientMetadata)); err != nil {
		return nil, err
	}
	var out *Application
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findEditableApp(tx, id)
		if err != nil {
			return err
		}
		if err := validateOIDCMetadata(upd.OIDCClientMetadata, r.Type); err != nil {
			return err
		}
		// Logto's rules for customClientMetadata, which replaces the
		// stored one whole: a third-party app cannot allow token exchange,
		// and the device flow is chosen at creation.
		if cm := upd.CustomClientMetadata; cm != nil {
			if r.IsThirdParty && isTrue(cm.AllowTokenExchange) {
				return errThirdPartyTokenExchange()
			}
			if isTrue(cm.IsDeviceFlow) != (r.CustomClient != nil && isTrue(r.CustomClient.IsDeviceFlow)) {
				return detailErrorf(EUNPROCESSABLE, "application.device_flow_not_changeable",
					"The device flow setting of an application cannot be changed.")
			}
		}
		var admin string
		if upd.IsAdmin != nil {
			if r.Type != AppMachineToMachine {
				return detailErrorf(EUNPROCESSABLE, "application.invalid_type",
					"Only machine to machine applications can have associated roles.")
			}
			if admin, err = findManagementRole(tx); err != nil {
				return err
			}
		}
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		if upd.Description.Set {
			r.Description = upd.Description.Value
		}
		if upd.OIDCClientMetadata != nil {
			r.OIDC = upd.OIDCClientMetadata
		}
		if upd.CustomClientMetadata != nil {
			r.CustomClient = upd.CustomClientMetadata
		}
		if upd.CustomData != nil {
			r.CustomData = upd.CustomData
		}
		if upd.MergeCustomData != nil {
			r.CustomData = mergeObject(r.CustomData, upd.MergeCustomData)
		}
		if upd.AppLevelAccessControlEnabled != nil {
			r.AppLevelAccessControl = *upd.AppLevelAccessControlEnabled
		}
		if err := appsTable.update(tx, id, r); err != nil {
			return err
		}
		if upd.IsAdmin != nil && *upd.IsAdmin {
			_, err = relAppRoles.link(tx, id, admin)
		} else if upd.IsAdmin != nil {
			_, err = relAppRoles.unlink(tx, id, admin)
		}
		if err != nil {
			return err
		}
		out = r.toApplication()
		return tx.auditTarget("Management.Application.Update", "application", id)
	})
	return out, err
}

// mergeObject returns the keys of patch laid over base (top level only).
func mergeObject(base, patch map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(patch))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range patch {
		out[k] = v
	}
	return out
}

// findManagementRole returns the id of the tenant's built-in "Logto
// Management API access" role.
func findManagementRole(tx *Tx) (string, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return "", err
	}
	id := meta.Get(keyManagementRole)
	if id == nil {
		return "", fmt.Errorf("tenant %s has no management role", tx.tenant)
	}
	return string(id), nil
}
