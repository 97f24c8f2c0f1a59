package logtoimport

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store"
)

// Kinds of what an import copies, in the order it copies them: what refers
// to something comes after it. Users come before roles so that a role
// marked isDefault is not given to every imported user.
const (
	KindResources        = "resources"
	KindScopes           = "scopes"
	KindUsers            = "users"
	KindApplications     = "applications"
	KindRoles            = "roles"
	KindUserRoles        = "user roles"
	KindApplicationRoles = "application roles"
	KindOrgScopes        = "organization scopes"
	KindOrgRoles         = "organization roles"
	KindOrganizations    = "organizations"
	KindOrgMembers       = "organization members"
	KindOrgApplications  = "organization applications"
)

// Importer copies a Source into one tenant of a store. Set every field
// before Run; an Importer runs once.
type Importer struct {
	Source *Source
	DB     *store.DB
	Tenant string
	// Secrets receives one JSON line per new application secret:
	// {"tenant","applicationId","name","secret"}. It should be a file
	// only its owner can read.
	Secrets io.Writer
	// Progress is told of each step; nil reports nothing.
	Progress Progress

	summary  Summary
	scopes   map[string]string // source scope id -> target scope id
	roles    map[string]string // source role id -> target role id
	orgScope map[string]string // source organization scope id -> target
	orgRoles map[string]string // source organization role id -> target
	orgs     []string          // ids of the source's organizations present in the target
}

// Summary counts what an import did, per kind.
type Summary struct {
	Kinds []*KindSummary
}

// KindSummary is what an import did with one kind of entity.
type KindSummary struct {
	Kind                    string
	Copied, Skipped, Failed int
	// Reasons counts the failures by reason.
	Reasons map[string]int
}

// Failed is the number of entries that failed, of every kind.
func (s *Summary) Failed() int {
	n := 0
	for _, k := range s.Kinds {
		n += k.Failed
	}
	return n
}

// Write prints the summary, one line per kind, with the failures' reasons.
func (s *Summary) Write(w io.Writer) {
	for _, k := range s.Kinds {
		fmt.Fprintf(w, "%-26s copied %d, skipped %d, failed %d\n", k.Kind+":", k.Copied, k.Skipped, k.Failed)
		reasons := make([]string, 0, len(k.Reasons))
		for r := range k.Reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			fmt.Fprintf(w, "  %d failed: %s\n", k.Reasons[r], r)
		}
	}
}

func (k *KindSummary) result() string {
	s := fmt.Sprintf("copied %d, skipped %d", k.Copied, k.Skipped)
	if k.Failed > 0 {
		s += fmt.Sprintf(", failed %d", k.Failed)
	}
	return s
}

func (k *KindSummary) fail(reason string) {
	reason = printable(reason) // it may quote the source's ids and names
	k.Failed++
	if k.Reasons == nil {
		k.Reasons = map[string]int{}
	}
	k.Reasons[reason]++
}

// failErr counts a failure whose reason is a store error (its message,
// which names the field and rule) or another error.
// refused counts err as a failure of what when the target refused the
// entity, so that the import goes on with the next, and returns any other
// error, which stops the import.
func (k *KindSummary) refused(what string, err error) error {
	if !isRefusal(err) {
		return err
	}
	k.failErr(what, err)
	return nil
}

func (k *KindSummary) failErr(what string, err error) {
	msg := store.ErrorMessage(err)
	if store.ErrorCode(err) == store.EINTERNAL {
		msg = err.Error()
	}
	k.fail(what + ": " + msg)
}

// Run copies everything, kind after kind, and returns the summary. It stops
// at the first error of the source or of the target file (a *SourceError,
// or the store's), with the summary so far: each entity was written in its
// own transaction, so the file is consistent, and running the import again
// goes on from there. An entity the target refuses (a rule idbolt has and
// the source did not) is counted as failed, with the reason, and the
// import goes on.
func (im *Importer) Run(ctx context.Context) (*Summary, error) {
	im.scopes, im.roles, im.orgScope, im.orgRoles = map[string]string{}, map[string]string{}, map[string]string{}, map[string]string{}
	if im.Progress == nil {
		im.Progress = noProgress{}
	}
	for _, step := range []func(context.Context) error{
		im.copyResources, im.copyUsers, im.copyApplications, im.copyRoles, im.copyRoleHolders,
		im.copyOrgScopes, im.copyOrgRoles, im.copyOrganizations, im.copyOrgMembers,
	} {
		if err := step(ctx); err != nil {
			return &im.summary, err
		}
	}
	return &im.summary, nil
}

// kind starts the count of kind and its progress step.
func (im *Importer) kind(name string) *KindSummary {
	k := &KindSummary{Kind: name}
	im.summary.Kinds = append(im.summary.Kinds, k)
	im.Progress.Start(name, -1)
	return k
}

// all reads every page of a target listing.
func all[T any](find func(p pagination.Params) ([]T, int, error)) ([]T, error) {
	var out []T
	for page := 1; ; page++ {
		items, total, err := find(pagination.Params{Page: page, PageSize: pagination.MaxPageSize, Explicit: true})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// managementIndicator matches the indicator of a Logto tenant's Management
// API resource, which every tenant has built in: it is mapped to the
// target's own, never copied.
var managementIndicator = regexp.MustCompile(`^https://[a-z0-9-]+\.logto\.app/api$`)

type srcScope struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Description *string `json:"description"`
}

type srcResource struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Indicator      string     `json:"indicator"`
	IsDefault      bool       `json:"isDefault"`
	AccessTokenTTL *int       `json:"accessTokenTtl"`
	Scopes         []srcScope `json:"scopes"`
}

// copyResources copies API resources and their scopes, and maps the
// source's scope ids to the target's. A resource is matched by id, then by
// indicator; a scope by name within its resource.
func (im *Importer) copyResources(ctx context.Context) error {
	ctx = ctxActor(ctx)
	existing, err := all(func(p pagination.Params) ([]store.ResourceWithScopes, int, error) {
		return im.DB.FindResources(ctx, im.Tenant, p, true, nil)
	})
	if err != nil {
		return err
	}
	byID, byIndicator := map[string]*store.ResourceWithScopes{}, map[string]*store.ResourceWithScopes{}
	for i := range existing {
		byID[existing[i].ID], byIndicator[existing[i].Indicator] = &existing[i], &existing[i]
	}
	res, scopes := im.kind(KindResources), &KindSummary{Kind: KindScopes}
	err = eachPage(ctx, im.Source, "/api/resources", url.Values{"includeScopes": {"true"}}, func(total int, page []srcResource) error {
		im.Progress.SetTotal(total)
		for _, r := range page {
			im.Progress.Add(1)
			target := byID[r.ID]
			switch {
			case r.ID == store.ManagementResourceID || managementIndicator.MatchString(r.Indicator):
				target = byID[store.ManagementResourceID]
			case target == nil:
				target = byIndicator[r.Indicator]
			}
			if target != nil {
				res.Skipped++
			} else {
				created, err := im.DB.CreateResource(ctx, im.Tenant, store.ResourceCreate{ID: r.ID, Name: r.Name,
					Indicator: r.Indicator, AccessTokenTTL: r.AccessTokenTTL})
				if err != nil {
					if err := res.refused("resource "+r.Indicator, err); err != nil {
						return err
					}
					for range r.Scopes {
						scopes.fail("resource " + r.Indicator + " was not copied")
					}
					continue
				}
				if r.IsDefault {
					if created, err = im.DB.SetResourceDefault(ctx, im.Tenant, created.ID, true); err != nil {
						return err
					}
				}
				res.Copied++
				target = &store.ResourceWithScopes{Resource: created}
			}
			if err := im.copyScopes(ctx, target, r.Scopes, scopes); err != nil {
				return err
			}
		}
		return nil
	})
	im.Progress.Done(res.result() + "; scopes " + scopes.result())
	im.summary.Kinds = append(im.summary.Kinds, scopes)
	return err
}

// copyScopes creates the scopes of a source resource that target lacks, by
// name, and maps every one.
func (im *Importer) copyScopes(ctx context.Context, target *store.ResourceWithScopes, src []srcScope, k *KindSummary) error {
	have := map[string]string{}
	for _, s := range target.Scopes {
		have[s.Name] = s.ID
	}
	for _, s := range src {
		if id, ok := have[s.Name]; ok {
			im.scopes[s.ID] = id
			k.Skipped++
			continue
		}
		if target.ReadOnly {
			k.fail("scope " + s.Name + " of the Management API: idbolt's has only scope all")
			continue
		}
		created, err := im.DB.CreateScope(ctx, im.Tenant, target.ID, s.Name, s.Description)
		if err != nil {
			if err := k.refused("scope "+s.Name+" of "+target.Indicator, err); err != nil {
				return err
			}
			continue
		}
		im.scopes[s.ID] = created.ID
		k.Copied++
	}
	return nil
}

type srcUser struct {
	ID                string         `json:"id"`
	Username          *string        `json:"username"`
	PrimaryEmail      *string        `json:"primaryEmail"`
	PrimaryPhone      *string        `json:"primaryPhone"`
	Name              *string        `json:"name"`
	Avatar            *string        `json:"avatar"`
	CustomData        map[string]any `json:"customData"`
	Profile           *store.Profile `json:"profile"`
	IsSuspended       bool           `json:"isSuspended"`
	PasswordDigest    *string        `json:"passwordDigest"`
	PasswordAlgorithm *string        `json:"passwordAlgorithm"`
	HasPassword       *bool          `json:"hasPassword"`
}

// copyUsers copies users with their ids, password digests, custom data,
// profile and suspension. The new users of a page are created in one
// transaction (CreateUsers); when the target refuses one of them, the
// page's users are created one by one, so that each refusal is counted
// with its reason and the others are copied. A user whose id exists is
// skipped, but a suspension it lacks is applied (an earlier run may have
// stopped between the two writes).
func (im *Importer) copyUsers(ctx context.Context) error {
	ctx = ctxActor(ctx)
	k := im.kind(KindUsers)
	err := eachPage(ctx, im.Source, "/api/users", url.Values{"includePasswordHash": {"true"}}, func(total int, page []srcUser) error {
		im.Progress.SetTotal(total)
		var fresh []srcUser
		for _, u := range page {
			if u.HasPassword != nil && *u.HasPassword && u.PasswordDigest == nil {
				return &SourceError{Op: "GET /api/users?includePasswordHash=true", Reason: fmt.Sprintf("user %s has a password but no passwordDigest", u.ID),
					Hint: "the source ignores includePasswordHash: a Logto older than 1.28, or an idbolt older than this one"}
			}
			existing, err := im.DB.FindUserByID(ctx, im.Tenant, u.ID)
			if err == nil {
				im.Progress.Add(1)
				k.Skipped++
				if u.IsSuspended && !existing.IsSuspended {
					if err := im.suspend(ctx, u.ID); err != nil {
						return err
					}
				}
				continue
			} else if store.ErrorCode(err) != store.ENOTFOUND {
				return err
			}
			fresh = append(fresh, u)
		}
		return im.createUsers(ctx, fresh, k)
	})
	im.Progress.Done(k.result())
	return err
}

// createUsers creates users, all in one transaction or, when the target
// refuses one, one by one.
func (im *Importer) createUsers(ctx context.Context, users []srcUser, k *KindSummary) error {
	if len(users) == 0 {
		return nil
	}
	ins := make([]store.UserCreate, len(users))
	for i, u := range users {
		ins[i] = store.UserCreate{ID: u.ID, Username: u.Username, PrimaryEmail: u.PrimaryEmail, PrimaryPhone: u.PrimaryPhone,
			Name: u.Name, Avatar: u.Avatar, CustomData: u.CustomData, Profile: u.Profile,
			PasswordDigest: u.PasswordDigest, PasswordAlgorithm: u.PasswordAlgorithm}
		if u.PasswordDigest == nil {
			ins[i].PasswordAlgorithm = nil
		}
	}
	created := make([]bool, len(users))
	_, err := im.DB.CreateUsers(ctx, im.Tenant, ins)
	switch {
	case err == nil:
		for i := range created {
			created[i] = true
		}
	case !isRefusal(err):
		return err
	default:
		for i := range ins {
			if _, err := im.DB.CreateUser(ctx, im.Tenant, ins[i]); err != nil {
				if err := k.refused("user "+users[i].ID, err); err != nil {
					return err
				}
				im.Progress.Add(1)
				continue
			}
			created[i] = true
		}
	}
	for i, u := range users {
		if !created[i] {
			continue
		}
		if u.IsSuspended {
			if err := im.suspend(ctx, u.ID); err != nil {
				return err
			}
		}
		k.Copied++
		im.Progress.Add(1)
	}
	return nil
}

func (im *Importer) suspend(ctx context.Context, id string) error {
	yes := true
	_, err := im.DB.UpdateUser(ctx, im.Tenant, id, store.UserUpdate{IsSuspended: &yes})
	return err
}

// isRefusal reports whether err is the target refusing one entity (bad
// input, a conflict, a rule) rather than a failure of the file itself,
// which stops the import.
func isRefusal(err error) bool {
	switch store.ErrorCode(err) {
	case store.EINVALID, store.ECONFLICT, store.EUNPROCESSABLE, store.ENOTFOUND, store.ENOTIMPLEMENTED, store.EFORBIDDEN:
		return true
	}
	return false
}

type srcApp struct {
	ID                   string                      `json:"id"`
	Name                 string                      `json:"name"`
	Description          *string                     `json:"description"`
	Type                 string                      `json:"type"`
	OIDCClientMetadata   *store.OIDCClientMetadata   `json:"oidcClientMetadata"`
	CustomClientMetadata *store.CustomClientMetadata `json:"customClientMetadata"`
	CustomData           map[string]any              `json:"customData"`
	IsThirdParty         bool                        `json:"isThirdParty"`
}

// secretLine is one line of the secrets file.
type secretLine struct {
	Tenant        string `json:"tenant"`
	ApplicationID string `json:"applicationId"`
	Name          string `json:"name"`
	Secret        string `json:"secret"`
}

// copyApplications copies applications with their ids; each new one that
// has secrets gets a new one, written to Secrets before the next is made.
func (im *Importer) copyApplications(ctx context.Context) error {
	ctx = ctxActor(ctx)
	k := im.kind(KindApplications)
	err := eachPage(ctx, im.Source, "/api/applications", nil, func(total int, page []srcApp) error {
		im.Progress.SetTotal(total)
		for _, a := range page {
			im.Progress.Add(1)
			if _, err := im.DB.FindApplicationByID(ctx, im.Tenant, a.ID); err == nil {
				k.Skipped++
				continue
			} else if store.ErrorCode(err) != store.ENOTFOUND {
				return err
			}
			created, secret, err := im.DB.CreateApplication(ctx, im.Tenant, store.ApplicationCreate{ID: a.ID, Name: a.Name,
				Description: a.Description, Type: a.Type, OIDCClientMetadata: a.OIDCClientMetadata,
				CustomClientMetadata: a.CustomClientMetadata, CustomData: a.CustomData, IsThirdParty: a.IsThirdParty})
			if err != nil {
				if err := k.refused("application "+a.ID+" ("+a.Type+")", err); err != nil {
					return err
				}
				continue
			}
			if secret != "" {
				line, _ := json.Marshal(secretLine{Tenant: im.Tenant, ApplicationID: created.ID, Name: created.Name, Secret: secret})
				if _, err := im.Secrets.Write(append(line, '\n')); err != nil {
					return fmt.Errorf("write the secret of application %s: %w", created.ID, err)
				}
			}
			k.Copied++
		}
		return nil
	})
	im.Progress.Done(k.result())
	return err
}

type srcRole struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	IsDefault   bool   `json:"isDefault"`
}

// copyRoles copies roles with their ids and scopes. A role is matched by
// id, then by name (the built-in "Logto Management API access" role is
// matched so).
func (im *Importer) copyRoles(ctx context.Context) error {
	ctx = ctxActor(ctx)
	existing, err := all(func(p pagination.Params) ([]*store.RoleWithCounts, int, error) {
		return im.DB.FindRoles(ctx, im.Tenant, store.RoleFilter{}, p)
	})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, r := range existing {
		byName[r.Name] = r.ID
	}
	k := im.kind(KindRoles)
	err = eachPage(ctx, im.Source, "/api/roles", nil, func(total int, page []srcRole) error {
		im.Progress.SetTotal(total)
		for _, r := range page {
			im.Progress.Add(1)
			if _, err := im.DB.FindRoleByID(ctx, im.Tenant, r.ID); err == nil {
				im.roles[r.ID] = r.ID
				k.Skipped++
				continue
			} else if store.ErrorCode(err) != store.ENOTFOUND {
				return err
			}
			if id, ok := byName[r.Name]; ok {
				im.roles[r.ID] = id
				k.Skipped++
				continue
			}
			var scopeIDs []string
			missing := 0
			err := eachPage(ctx, im.Source, "/api/roles/"+url.PathEscape(r.ID)+"/scopes", nil, func(_ int, scopes []srcScope) error {
				for _, s := range scopes {
					if id, ok := im.scopes[s.ID]; ok {
						scopeIDs = append(scopeIDs, id)
					} else {
						missing++
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if missing > 0 {
				k.fail(fmt.Sprintf("role %s: %d of its scopes were not copied", r.Name, missing))
				continue
			}
			created, err := im.DB.CreateRole(ctx, im.Tenant, store.RoleCreate{ID: r.ID, Name: r.Name, Description: r.Description,
				Type: r.Type, IsDefault: r.IsDefault, ScopeIDs: scopeIDs})
			if err != nil {
				if err := k.refused("role "+r.Name, err); err != nil {
					return err
				}
				continue
			}
			im.roles[r.ID] = created.ID
			k.Copied++
		}
		return nil
	})
	im.Progress.Done(k.result())
	return err
}

type srcRef struct {
	ID string `json:"id"`
}

// copyRoleHolders gives the copied roles to the users and applications
// that hold them in the source.
func (im *Importer) copyRoleHolders(ctx context.Context) error {
	ctx = ctxActor(ctx)
	ids := make([]string, 0, len(im.roles))
	for src := range im.roles {
		ids = append(ids, src)
	}
	sort.Strings(ids)
	for _, holder := range []struct {
		kind, path string
		assign     func(ctx context.Context, tenant, id string, roleIDs []string, replace bool) ([]string, error)
	}{
		{KindUserRoles, "users", im.DB.AssignUserRoles},
		{KindApplicationRoles, "applications", im.DB.AssignApplicationRoles},
	} {
		k := im.kind(holder.kind)
		for _, src := range ids {
			err := eachPage(ctx, im.Source, "/api/roles/"+url.PathEscape(src)+"/"+holder.path, nil, func(_ int, page []srcRef) error {
				for _, h := range page {
					im.Progress.Add(1)
					added, err := holder.assign(ctx, im.Tenant, h.ID, []string{im.roles[src]}, false)
					switch {
					case err != nil && isRefusal(err):
						k.failErr(strings.TrimSuffix(holder.path, "s")+" "+h.ID, err)
					case err != nil:
						return err
					case len(added) == 0:
						k.Skipped++
					default:
						k.Copied++
					}
				}
				return nil
			})
			if err != nil {
				im.Progress.Done(k.result())
				return err
			}
		}
		im.Progress.Done(k.result())
	}
	return nil
}

// copyOrgScopes copies organization scopes, matched by name, and maps
// their ids.
func (im *Importer) copyOrgScopes(ctx context.Context) error {
	ctx = ctxActor(ctx)
	existing, err := all(func(p pagination.Params) ([]*store.OrganizationScope, int, error) {
		return im.DB.FindOrganizationScopes(ctx, im.Tenant, "", p)
	})
	if err != nil {
		return err
	}
	byName := map[string]string{}
	for _, s := range existing {
		byName[s.Name] = s.ID
	}
	k := im.kind(KindOrgScopes)
	err = eachPage(ctx, im.Source, "/api/organization-scopes", nil, func(total int, page []srcScope) error {
		im.Progress.SetTotal(total)
		for _, s := range page {
			im.Progress.Add(1)
			if id, ok := byName[s.Name]; ok {
				im.orgScope[s.ID] = id
				k.Skipped++
				continue
			}
			created, err := im.DB.CreateOrganizationScope(ctx, im.Tenant, s.Name, s.Description)
			if err != nil {
				if err := k.refused("organization scope "+s.Name, err); err != nil {
					return err
				}
				continue
			}
			im.orgScope[s.ID] = created.ID
			k.Copied++
		}
		return nil
	})
	im.Progress.Done(k.result())
	return err
}

type srcOrgRole struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Description    *string  `json:"description"`
	Type           string   `json:"type"`
	Scopes         []srcRef `json:"scopes"`
	ResourceScopes []srcRef `json:"resourceScopes"`
}

// copyOrgRoles copies organization roles with their ids and both kinds of
// scopes; a role is matched by id, then by name.
func (im *Importer) copyOrgRoles(ctx context.Context) error {
	ctx = ctxActor(ctx)
	existing, err := all(func(p pagination.Params) ([]*store.OrganizationRoleWithScopes, int, error) {
		return im.DB.FindOrganizationRoles(ctx, im.Tenant, "", p)
	})
	if err != nil {
		return err
	}
	byID, byName := map[string]bool{}, map[string]string{}
	for _, r := range existing {
		byID[r.ID], byName[r.Name] = true, r.ID
	}
	k := im.kind(KindOrgRoles)
	err = eachPage(ctx, im.Source, "/api/organization-roles", nil, func(total int, page []srcOrgRole) error {
		im.Progress.SetTotal(total)
		for _, r := range page {
			im.Progress.Add(1)
			if byID[r.ID] {
				im.orgRoles[r.ID] = r.ID
				k.Skipped++
				continue
			}
			if id, ok := byName[r.Name]; ok {
				im.orgRoles[r.ID] = id
				k.Skipped++
				continue
			}
			scopes, ok1 := mapIDs(r.Scopes, im.orgScope)
			resScopes, ok2 := mapIDs(r.ResourceScopes, im.scopes)
			if !ok1 || !ok2 {
				k.fail("organization role " + r.Name + ": some of its scopes were not copied")
				continue
			}
			created, err := im.DB.CreateOrganizationRole(ctx, im.Tenant, store.OrganizationRoleCreate{ID: r.ID, Name: r.Name,
				Description: r.Description, Type: r.Type, OrganizationScopeIDs: scopes, ResourceScopeIDs: resScopes})
			if err != nil {
				if err := k.refused("organization role "+r.Name, err); err != nil {
					return err
				}
				continue
			}
			im.orgRoles[r.ID] = created.ID
			k.Copied++
		}
		return nil
	})
	im.Progress.Done(k.result())
	return err
}

// mapIDs maps refs' ids through m; false when one is not in m.
func mapIDs(refs []srcRef, m map[string]string) ([]string, bool) {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		id, ok := m[r.ID]
		if !ok {
			return nil, false
		}
		out = append(out, id)
	}
	return out, true
}

type srcOrg struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Description   *string        `json:"description"`
	CustomData    map[string]any `json:"customData"`
	IsMfaRequired bool           `json:"isMfaRequired"`

	Color     *store.OrganizationColor    `json:"color"`
	Branding  *store.OrganizationBranding `json:"branding"`
	CustomCSS *string                     `json:"customCss"`
}

// copyOrganizations copies organizations with their ids.
func (im *Importer) copyOrganizations(ctx context.Context) error {
	ctx = ctxActor(ctx)
	k := im.kind(KindOrganizations)
	err := eachPage(ctx, im.Source, "/api/organizations", nil, func(total int, page []srcOrg) error {
		im.Progress.SetTotal(total)
		for _, o := range page {
			im.Progress.Add(1)
			if _, err := im.DB.FindOrganizationByID(ctx, im.Tenant, o.ID); err == nil {
				im.orgs = append(im.orgs, o.ID)
				k.Skipped++
				continue
			} else if store.ErrorCode(err) != store.ENOTFOUND {
				return err
			}
			_, err := im.DB.CreateOrganization(ctx, im.Tenant, store.OrganizationCreate{ID: o.ID, Name: o.Name,
				Description: o.Description, CustomData: o.CustomData, IsMfaRequired: o.IsMfaRequired,
				Color: o.Color, Branding: o.Branding, CustomCSS: o.CustomCSS})
			if err != nil {
				if err := k.refused("organization "+o.ID, err); err != nil {
					return err
				}
				continue
			}
			im.orgs = append(im.orgs, o.ID)
			k.Copied++
		}
		return nil
	})
	im.Progress.Done(k.result())
	return err
}

type srcMember struct {
	ID                string   `json:"id"`
	OrganizationRoles []srcRef `json:"organizationRoles"`
}

// copyOrgMembers copies the user and application members of every copied
// organization with their organization roles. A member that is there
// with all its roles is skipped; one that lacks some gets them.
func (im *Importer) copyOrgMembers(ctx context.Context) error {
	ctx = ctxActor(ctx)
	type memberKind struct {
		kind, path string
		current    func(ctx context.Context, orgID, memberID string) ([]string, bool, error)
		add        func(ctx context.Context, tenant, orgID string, ids []string, replace bool) error
		assign     func(ctx context.Context, orgID, memberID string, roleIDs []string) error
	}
	kinds := []memberKind{
		{KindOrgMembers, "users", im.userOrgRoles, im.DB.AddOrganizationUsers,
			func(ctx context.Context, orgID, id string, roleIDs []string) error {
				_, err := im.DB.AssignOrganizationUserRoles(ctx, im.Tenant, orgID, id, roleIDs, nil, false)
				return err
			}},
		{KindOrgApplications, "applications", im.appOrgRoles, im.DB.AddOrganizationApplications,
			func(ctx context.Context, orgID, id string, roleIDs []string) error {
				return im.DB.AssignOrganizationApplicationRoles(ctx, im.Tenant, orgID, id, roleIDs, false)
			}},
	}
	for _, mk := range kinds {
		k := im.kind(mk.kind)
		for _, org := range im.orgs {
			err := eachPage(ctx, im.Source, "/api/organizations/"+url.PathEscape(org)+"/"+mk.path, nil, func(_ int, page []srcMember) error {
				for _, m := range page {
					im.Progress.Add(1)
					roles, ok := mapIDs(m.OrganizationRoles, im.orgRoles)
					if !ok {
						k.fail("member " + m.ID + " of " + org + ": some of its organization roles were not copied")
						continue
					}
					have, member, err := mk.current(ctx, org, m.ID)
					if err != nil {
						if err := k.refused("member "+m.ID+" of "+org, err); err != nil {
							return err
						}
						continue
					}
					var lacking []string
					for _, r := range roles {
						if !slices.Contains(have, r) {
							lacking = append(lacking, r)
						}
					}
					if member && len(lacking) == 0 {
						k.Skipped++
						continue
					}
					if !member {
						if err := mk.add(ctx, im.Tenant, org, []string{m.ID}, false); err != nil {
							if err := k.refused("member "+m.ID+" of "+org, err); err != nil {
								return err
							}
							continue
						}
					}
					if len(lacking) > 0 {
						if err := mk.assign(ctx, org, m.ID, lacking); err != nil {
							if err := k.refused("roles of member "+m.ID+" of "+org, err); err != nil {
								return err
							}
							continue
						}
					}
					k.Copied++
				}
				return nil
			})
			if err != nil {
				im.Progress.Done(k.result())
				return err
			}
		}
		im.Progress.Done(k.result())
	}
	return nil
}

// userOrgRoles returns the roles user id holds in orgID, and whether it is
// a member.
func (im *Importer) userOrgRoles(ctx context.Context, orgID, id string) ([]string, bool, error) {
	orgs, err := im.DB.FindUserOrganizations(ctx, im.Tenant, id)
	if err != nil {
		return nil, false, err
	}
	for _, o := range orgs {
		if o.ID == orgID {
			return refIDs(o.Roles), true, nil
		}
	}
	return nil, false, nil
}

// appOrgRoles returns the roles application id holds in orgID, and whether
// it is a member.
func (im *Importer) appOrgRoles(ctx context.Context, orgID, id string) ([]string, bool, error) {
	orgs, err := all(func(p pagination.Params) ([]*store.OrganizationWithRoles, int, error) {
		return im.DB.FindApplicationOrganizations(ctx, im.Tenant, id, p)
	})
	if err != nil {
		return nil, false, err
	}
	for _, o := range orgs {
		if o.ID == orgID {
			return refIDs(o.Roles), true, nil
		}
	}
	return nil, false, nil
}

func refIDs(refs []store.OrganizationRoleRef) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out
}

// ctxActor marks the writes of an import in the audit log: the actor is
// the import itself, not an application of the tenant.
func ctxActor(ctx context.Context) context.Context {
	return store.NewContextWithActor(ctx, store.Actor{ApplicationID: "idbolt-import", UserAgent: "idbolt import logto"})
}
