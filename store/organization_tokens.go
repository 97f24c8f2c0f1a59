package store

// grantOrganization resolves a client_credentials request with
// organization_id for app, authenticated already. The app must be a member
// of the organization. Without a resource the token is for the organization
// itself and carries the organization scopes of the app's roles there; with
// one it is for that resource and carries the resource scopes those roles
// grant (the app's tenant-wide roles play no part, as in Logto). Either way
// the scope is the request ∩ what is granted, in request order.
//
// Returns EFORBIDDEN (oidc.invalid_grant) for a non-member or unknown
// organization, EINVALID (oidc.invalid_target) for an unknown resource.
func grantOrganization(tx *Tx, app *appRecord, req ClientGrantRequest) (*ClientGrant, error) {
	member, err := relOrgApps.has(tx, req.OrganizationID, app.ID)
	if err != nil {
		return nil, err
	} else if !member {
		return nil, detailErrorf(EFORBIDDEN, "oidc.invalid_grant", "The application is not a member of the organization.")
	}
	roles, err := relOrgAppRoles.list(tx, string(pairKey(req.OrganizationID, app.ID)))
	if err != nil {
		return nil, err
	}
	out := &ClientGrant{App: app.toApplication(), OrganizationID: req.OrganizationID}
	orgScopesByName, err := tx.bucket(orgScopesTable.byName)
	if err != nil {
		return nil, err
	}
	rel := relOrgRoleScopes
	resolve := func(name string) []byte { return orgScopesByName.Get([]byte(name)) }
	if req.Resource != "" {
		res, err := grantResource(tx, req.Resource)
		if err != nil {
			return nil, err
		}
		out.Resource = res.toResource()
		if resolve, err = resourceScopeResolver(tx, res.ID); err != nil {
			return nil, err
		}
		rel = relOrgRoleResScopes
	}
	out.Scopes, err = grantedScopes(tx, roles, rel, resolve, req.Scopes)
	return out, err
}
