package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/search"
)

// ApplicationCreate is the input of CreateApplication.
type ApplicationCreate struct {
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

// validateAppCreate applies Logto's rules for a new application.
func validateAppCreate(in *ApplicationCreate) error {
	if err := firstErr(validateAppName(&in.Name), validateDescription(in.Description)); err != nil {
		return err
	}
	switch {
	case in.Type == AppSAML:
		return detailErrorf(EINVALID, "application.saml.use_saml_app_api",
			"SAML applications are not supported by idbolt yet (Logto serves them at /api/saml-applications).")
	case in.Type == AppProtected && !in.HasProtectedAppMetadata:
		return detailErrorf(EINVALID, "application.protected_app_metadata_is_required", "Protected app metadata is required.")
	case in.Type == AppProtected:
		return detailErrorf(ENOTIMPLEMENTED, "application.protected_app_not_configured",
			"Protected applications are not supported by idbolt.")
	case !ValidAppType(in.Type):
		return fieldError("type", "must be one of Native, SPA, Traditional, MachineToMachine")
	case in.IsThirdParty && in.Type != AppTraditional:
		return detailErrorf(EINVALID, "application.invalid_third_party_application_type",
			"Only traditional web applications can be marked as a third-party app.")
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
	var secret string
	if hasSecrets(in.Type) {
		secret = NewSecret()
	}
	id := newID(21)
	var out *Application
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		now := msec(tx.now)
		r := appRecord{ID: id, Name: in.Name, Description: in.Description, Type: in.Type,
			OIDC: in.OIDCClientMetadata, CustomClient: in.CustomClientMetadata, CustomData: in.CustomData,
			IsThirdParty: in.IsThirdParty, CreatedAt: now}
		if secret != "" {
			r.Secrets = []secretRecord{{Name: "Default secret", Hash: db.hashSecret(secret), CreatedAt: now}}
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
