package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/idbolt/idbolt/pagination"
)

// Organization is a Logto organization.
type Organization struct {
	ID            string
	Name          string
	Description   *string
	CustomData    map[string]any
	IsMfaRequired bool
	Color         OrganizationColor
	Branding      OrganizationBranding
	CustomCSS     *string
	CreatedAt     int64
}

// OrganizationColor is an organization's sign-in colors, Logto's nested
// object; absent fields are absent on the wire too.
type OrganizationColor struct {
	PrimaryColor      *string `json:"primaryColor,omitempty"`
	IsDarkModeEnabled *bool   `json:"isDarkModeEnabled,omitempty"`
	DarkPrimaryColor  *string `json:"darkPrimaryColor,omitempty"`
}

// OrganizationBranding is an organization's logos, Logto's nested object.
type OrganizationBranding struct {
	LogoURL     *string `json:"logoUrl,omitempty"`
	DarkLogoURL *string `json:"darkLogoUrl,omitempty"`
	Favicon     *string `json:"favicon,omitempty"`
	DarkFavicon *string `json:"darkFavicon,omitempty"`
}

// OrganizationCreate is the input of CreateOrganization.
type OrganizationCreate struct {
	// ID is the new organization's id; empty makes one. A given id (an
	// import keeping a source's ids) must be free: ECONFLICT otherwise.
	ID            string
	Name          string
	Description   *string
	CustomData    map[string]any
	IsMfaRequired bool
	Color         *OrganizationColor
	Branding      *OrganizationBranding
	CustomCSS     *string
}

// OrganizationUpdate is the input of UpdateOrganization; nil fields stay
// unchanged. Description and CustomCSS may be set to null.
type OrganizationUpdate struct {
	Name          *string
	Description   Field[string]
	CustomData    map[string]any
	IsMfaRequired *bool
	Color         *OrganizationColor
	Branding      *OrganizationBranding
	CustomCSS     Field[string]
}

// OrganizationFilter selects organizations in FindOrganizations.
type OrganizationFilter struct {
	// Keyword matches id or name, case-insensitively, anywhere (Logto's q).
	Keyword string
	// Featured adds the member count and three featured members.
	Featured bool
	// IDs, when not nil, keeps only these organizations (what a manager of
	// some organizations may see).
	IDs []string
}

// OrganizationWithFeatured is an organization as GET /api/organizations
// lists it with showFeatured.
type OrganizationWithFeatured struct {
	*Organization
	UsersCount    int
	FeaturedUsers []FeaturedUser
}

// OrganizationRoleRef names an organization role beside a membership.
type OrganizationRoleRef struct {
	ID   string
	Name string
}

// OrganizationWithRoles is an organization with the roles a member holds in it.
type OrganizationWithRoles struct {
	*Organization
	Roles []OrganizationRoleRef
}

type orgRecord struct {
	ID            string                `json:"id"`
	Name          string                `json:"nm"`
	Description   *string               `json:"ds,omitempty"`
	CustomData    map[string]any        `json:"cd,omitempty"`
	IsMfaRequired bool                  `json:"mfa,omitempty"`
	Color         *OrganizationColor    `json:"col,omitempty"`
	Branding      *OrganizationBranding `json:"br,omitempty"`
	CustomCSS     *string               `json:"css,omitempty"`
	CreatedAt     int64                 `json:"ca"`
}

func (r *orgRecord) toOrganization() *Organization {
	o := &Organization{ID: r.ID, Name: r.Name, Description: r.Description, CustomData: r.CustomData,
		IsMfaRequired: r.IsMfaRequired, CustomCSS: r.CustomCSS, CreatedAt: r.CreatedAt}
	if o.CustomData == nil {
		o.CustomData = map[string]any{}
	}
	if r.Color != nil {
		o.Color = *r.Color
	}
	if r.Branding != nil {
		o.Branding = *r.Branding
	}
	return o
}

const (
	maxOrgDescription = 256
	maxCustomCSS      = 64 << 10
)

// hexColor is Logto's color format: #rgb or #rrggbb.
var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`)

func validateOrgFields(name, description *string, color *OrganizationColor, branding *OrganizationBranding, css *string) error {
	if err := validateTemplateFields(name, description); err != nil {
		return err
	}
	if css != nil && len(*css) > maxCustomCSS {
		return fieldError("customCss", "must be at most %d bytes", maxCustomCSS)
	}
	if color != nil {
		for field, c := range map[string]*string{"color.primaryColor": color.PrimaryColor, "color.darkPrimaryColor": color.DarkPrimaryColor} {
			if c != nil && !hexColor.MatchString(*c) {
				return fieldError(field, "must be a hex color such as #5d34f2")
			}
		}
	}
	if branding != nil {
		for field, u := range map[string]*string{"branding.logoUrl": branding.LogoURL, "branding.darkLogoUrl": branding.DarkLogoURL,
			"branding.favicon": branding.Favicon, "branding.darkFavicon": branding.DarkFavicon} {
			if u != nil && !isBrandingURL(*u) {
				return fieldError(field, "must be an absolute URL of at most %d characters, not javascript:, data: or vbscript:", maxURLField)
			}
		}
	}
	return nil
}

// specialSchemes are the WHATWG URL schemes that need a host, as
// new URL() in Logto's guard requires.
var specialSchemes = map[string]bool{"http": true, "https": true, "ws": true, "wss": true, "ftp": true}

// isBrandingURL reports whether s may be an organization's logo or favicon:
// any absolute URL, as Logto's guard (zod's url(), that is new URL()) takes,
// of at most maxURLField bytes, except the schemes that run script where the
// URL is shown (scriptSchemes: javascript:, data:, vbscript:), which Logto
// accepts and idbolt refuses.
func isBrandingURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || len(s) > maxURLField || u.Scheme == "" || !uriSchemeRE.MatchString(u.Scheme) {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return !scriptSchemes[scheme] && (!specialSchemes[scheme] || u.Host != "")
}

// isWebURL reports whether s is an absolute http or https URL of at most
// maxURLField bytes.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return len(s) <= maxURLField && err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// findOrg returns the record of organization id, or ENOTFOUND.
func findOrg(tx *Tx, id string) (*orgRecord, error) {
	var r orgRecord
	if err := getRecord(tx, bucketOrgs, "organization", id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// addOrgCount records that an organization was created (1) or deleted (-1).
func addOrgCount(tx *Tx, delta int64) error {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return err
	}
	return addCount(meta, keyOrgCount, delta)
}

// orgCount returns the number of organizations.
func orgCount(tx *Tx) (int, error) {
	meta, err := tx.bucket(bucketTenantMeta)
	if err != nil {
		return 0, err
	}
	return int(getCount(meta, keyOrgCount)), nil
}

func putOrg(tx *Tx, r *orgRecord) error {
	orgs, err := tx.bucket(bucketOrgs)
	if err != nil {
		return err
	}
	return putJSON(orgs, []byte(r.ID), r)
}

// CreateOrganization stores a new organization. Returns EINVALID.
func (db *DB) CreateOrganization(ctx context.Context, tenant string, in OrganizationCreate) (*Organization, error) {
	if err := validateOrgFields(&in.Name, in.Description, in.Color, in.Branding, in.CustomCSS); err != nil {
		return nil, err
	}
	id, err := givenOrNewID(in.ID, 12)
	if err != nil {
		return nil, err
	}
	var out *Organization
	err = db.Update(ctx, tenant, func(tx *Tx) error {
		orgs, err := tx.bucket(bucketOrgs)
		if err != nil {
			return err
		}
		if orgs.Get([]byte(id)) != nil {
			return errIDInUse("organization", id)
		}
		r := orgRecord{ID: id, Name: in.Name, Description: in.Description, CustomData: in.CustomData,
			IsMfaRequired: in.IsMfaRequired, Color: in.Color, Branding: in.Branding, CustomCSS: in.CustomCSS,
			CreatedAt: msec(tx.now)}
		if err := putOrg(tx, &r); err != nil {
			return err
		}
		if err := addOrgCount(tx, 1); err != nil {
			return err
		}
		out = r.toOrganization()
		return tx.auditTarget("Management.Organization.Create", "organization", id)
	})
	return out, err
}

// FindOrganizationByID returns organization id. Returns ENOTFOUND.
func (db *DB) FindOrganizationByID(ctx context.Context, tenant, id string) (*Organization, error) {
	var out *Organization
	err := db.View(ctx, tenant, func(tx *Tx) error {
		r, err := findOrg(tx, id)
		if err != nil {
			return err
		}
		out = r.toOrganization()
		return nil
	})
	return out, err
}

// FindOrganizations returns one page of organizations in id order (Logto's
// list has no explicit order; its samples come out in id order) and the
// number that match filter.
func (db *DB) FindOrganizations(ctx context.Context, tenant string, filter OrganizationFilter, p pagination.Params) ([]*OrganizationWithFeatured, int, error) {
	out := []*OrganizationWithFeatured{}
	var total int
	err := db.View(ctx, tenant, func(tx *Tx) error {
		orgs, err := tx.bucket(bucketOrgs)
		if err != nil {
			return err
		}
		var r orgRecord
		decode := func(k, v []byte) error {
			r = orgRecord{}
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode organization %s: %w", k, err)
			}
			return nil
		}
		var match func(k, v []byte) (bool, error)
		if filter.Keyword != "" || filter.IDs != nil {
			match = func(k, v []byte) (bool, error) {
				if filter.IDs != nil && !slices.Contains(filter.IDs, string(k)) {
					return false, nil
				}
				if err := decode(k, v); err != nil {
					return false, err
				}
				return containsFold(r.ID, filter.Keyword) || containsFold(r.Name, filter.Keyword), nil
			}
		}
		emit := func(k, v []byte) error {
			if match == nil {
				if err := decode(k, v); err != nil {
					return err
				}
			}
			o := &OrganizationWithFeatured{Organization: r.toOrganization()}
			if filter.Featured {
				if o.UsersCount, o.FeaturedUsers, err = featuredMembers(ctx, tx, r.ID); err != nil {
					return err
				}
			}
			out = append(out, o)
			return nil
		}
		if match == nil {
			// Unfiltered: the stored count is the total, and the walk
			// may stop after the page.
			if total, err = orgCount(tx); err != nil {
				return err
			}
			return pageKeys(ctx, orgs.Cursor(), p, emit)
		}
		total, err = pagination.Walk(ctx, orgs.Cursor(), p, match, emit)
		return err
	})
	return out, total, err
}

// containsFold reports whether s contains substr, ignoring case: Logto's
// ilike '%q%'.
func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}

// featuredMembers returns an organization's member count and its first
// three members.
func featuredMembers(ctx context.Context, tx *Tx, orgID string) (int, []FeaturedUser, error) {
	users := []FeaturedUser{}
	n, err := relOrgUsers.walk(ctx, tx, orgID, pagination.Params{Page: 1, PageSize: featuredLimit}, nil, func(id string) error {
		u, err := findUserRecord(tx, id)
		if err != nil {
			return err
		}
		users = append(users, FeaturedUser{ID: u.ID, Avatar: u.Avatar, Name: u.Name})
		return nil
	})
	return n, users, err
}

// UpdateOrganization applies upd to organization id. Returns ENOTFOUND or
// EINVALID.
func (db *DB) UpdateOrganization(ctx context.Context, tenant, id string, upd OrganizationUpdate) (*Organization, error) {
	if err := validateOrgFields(upd.Name, upd.Description.Value, upd.Color, upd.Branding, upd.CustomCSS.Value); err != nil {
		return nil, err
	}
	var out *Organization
	err := db.Update(ctx, tenant, func(tx *Tx) error {
		r, err := findOrg(tx, id)
		if err != nil {
			return notExists(err, "organization")
		}
		if upd.Name != nil {
			r.Name = *upd.Name
		}
		if upd.Description.Set {
			r.Description = upd.Description.Value
		}
		if upd.CustomData != nil {
			r.CustomData = upd.CustomData
		}
		if upd.IsMfaRequired != nil {
			r.IsMfaRequired = *upd.IsMfaRequired
		}
		if upd.Color != nil {
			r.Color = upd.Color
		}
		if upd.Branding != nil {
			r.Branding = upd.Branding
		}
		if upd.CustomCSS.Set {
			r.CustomCSS = upd.CustomCSS.Value
		}
		if err := putOrg(tx, r); err != nil {
			return err
		}
		out = r.toOrganization()
		return tx.auditTarget("Management.Organization.Update", "organization", id)
	})
	return out, err
}

// DeleteOrganization removes organization id with its memberships, their
// roles and its invitations, in one transaction. Returns ENOTFOUND.
func (db *DB) DeleteOrganization(ctx context.Context, tenant, id string) error {
	return db.Update(ctx, tenant, func(tx *Tx) error {
		if _, err := findOrg(tx, id); err != nil {
			return err
		}
		if err := cascadeDelete(tx, entityOrg, id); err != nil {
			return err
		}
		if err := deleteOrgInvitations(tx, id); err != nil {
			return err
		}
		if err := deleteOrgManagers(tx, id); err != nil {
			return err
		}
		orgs, err := tx.bucket(bucketOrgs)
		if err != nil {
			return err
		}
		if err := orgs.Delete([]byte(id)); err != nil {
			return err
		}
		if err := addOrgCount(tx, -1); err != nil {
			return err
		}
		return tx.auditTarget("Management.Organization.Delete", "organization", id)
	})
}

// notExists turns ENOTFOUND into Logto's answer to an update of a missing
// row, entity.not_exists naming what is missing.
func notExists(err error, what string) error {
	if ErrorCode(err) == ENOTFOUND {
		return detailErrorf(ENOTFOUND, "entity.not_exists", "The %s does not exist.", what)
	}
	return err
}

// removeMember ends a membership and drops the member's roles in it.
func removeMember(tx *Tx, members, roles relation, orgID, memberID string) error {
	if err := roles.unlinkAll(tx, string(pairKey(orgID, memberID))); err != nil {
		return err
	}
	_, err := members.unlink(tx, orgID, memberID)
	return err
}

// leaveAllOrganizations ends every membership of a user or application that
// is being deleted.
func leaveAllOrganizations(tx *Tx, members, roles relation, memberID string) error {
	orgs, err := members.inverse().list(tx, memberID)
	if err != nil {
		return err
	}
	for _, org := range orgs {
		if err := removeMember(tx, members, roles, org, memberID); err != nil {
			return err
		}
	}
	return nil
}
