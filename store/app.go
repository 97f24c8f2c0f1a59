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

// AppSecret is one client secret of an application. Only a keyed hash of the
// value is stored; the value is shown once, when it is made.
type AppSecret struct {
	ApplicationID string
	Name          string
	CreatedAt     int64
	ExpiresAt     *int64
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
	m := hmac.New(sha256.New, db.pepper)
	m.Write([]byte(secret))
	return m.Sum(nil)
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
func (db *DB) GrantClientCredentials(ctx context.Context, tenant string, req ClientGrantRequest) (*ClientGrant, error) {
	presented := db.hashSecret(req.Secret)
	var out *ClientGrant
	err := db.View(ctx, tenant, func(tx *Tx) error {
		app, err := authenticateApp(tx, req.ClientID, presented)
		if err != nil {
			return err
		}
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
	return out, err
}

// dummyAppRecord stands in for the record of an unknown client: decoding it and
// comparing against its secret makes an unknown id cost what a wrong secret
// costs, so response times do not tell which client ids exist.
const dummyAppRecord = `{"id":"","nm":"","ty":"MachineToMachine","sec":[{"nm":"Default secret","h":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","ca":0}],"ca":0}`

// authenticateApp finds the app and checks the presented secret hash against
// every live secret of it in constant time.
func authenticateApp(tx *Tx, clientID string, presented []byte) (*appRecord, error) {
	apps, err := tx.bucket(bucketApps)
	if err != nil {
		return nil, err
	}
	data := apps.Get([]byte(clientID))
	found := data != nil
	if !found {
		data = []byte(dummyAppRecord)
	}
	var app appRecord
	if err := json.Unmarshal(data, &app); err != nil {
		return nil, fmt.Errorf("decode app %q: %w", clientID, err)
	}
	ok := 0
	now := msec(tx.now)
	for _, s := range app.Secrets {
		match := subtle.ConstantTimeCompare(presented, s.Hash)
		if s.ExpiresAt == nil || *s.ExpiresAt > now {
			ok |= match
		}
	}
	if !found || ok != 1 {
		return nil, detailErrorf(EUNAUTHORIZED, "oidc.invalid_client", "client authentication failed")
	}
	return &app, nil
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
