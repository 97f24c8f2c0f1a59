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
	res, scopes, member, err := organizationScopes(tx, relOrgApps, relOrgAppRoles, req.OrganizationID, app.ID, req.Resource, req.Scopes)
	if err != nil {
		return nil, err
	} else if !member {
		return nil, detailErrorf(EFORBIDDEN, "oidc.invalid_grant", "The application is not a member of the organization.")
	}
	return &ClientGrant{App: app.toApplication(), OrganizationID: req.OrganizationID, Resource: res, Scopes: scopes}, nil
}

// organizationScopes resolves what member (an application or a user, by
// the membership relation members and its role relation memberRoles) gets
// in organization org: without a resource indicator the organization
// scopes of its roles there, with one that resource and the resource scopes
// those roles grant; requested ∩ granted, in request order. isMember is
// false, and nothing else is set, for a non-member or unknown organization.
// Returns EINVALID (oidc.invalid_target) for an unknown resource.
func organizationScopes(tx *Tx, members, memberRoles relation, org, member, indicator string, requested []string) (
	res *Resource, scopes []string, isMember bool, err error) {
	if isMember, err = members.has(tx, org, member); err != nil || !isMember {
		return nil, nil, false, err
	}
	roles, err := memberRoles.list(tx, string(pairKey(org, member)))
	if err != nil {
		return nil, nil, true, err
	}
	orgScopesByName, err := tx.bucket(orgScopesTable.byName)
	if err != nil {
		return nil, nil, true, err
	}
	rel := relOrgRoleScopes
	resolve := func(name string) []byte { return orgScopesByName.Get([]byte(name)) }
	if indicator != "" {
		r, err := grantResource(tx, indicator)
		if err != nil {
			return nil, nil, true, err
		}
		res = r.toResource()
		if resolve, err = resourceScopeResolver(tx, r.ID); err != nil {
			return nil, nil, true, err
		}
		rel = relOrgRoleResScopes
	}
	scopes, err = grantedScopes(tx, roles, rel, resolve, requested)
	return res, scopes, true, err
}
