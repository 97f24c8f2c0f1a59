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
	// held reports whether one of the roles holds scope id through rel.
	held := func(rel relation, id string) (bool, error) {
		for _, role := range roles {
			if ok, err := rel.has(tx, role, id); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	var resolve func(name string) (string, error) // scope name -> id, "" when unknown
	rel := relOrgRoleScopes
	if req.Resource == "" {
		resolve = func(name string) (string, error) { return orgScopesTable.idOf(tx, name) }
	} else {
		res, err := grantResource(tx, req.Resource)
		if err != nil {
			return nil, err
		}
		out.Resource = res.toResource()
		byName, err := tx.bucket(bucketScopesByName)
		if err != nil {
			return nil, err
		}
		rel = relOrgRoleResScopes
		resolve = func(name string) (string, error) { return string(byName.Get(pairKey(res.ID, name))), nil }
	}
	out.Scopes = []string{}
	for _, name := range dedupe(req.Scopes) {
		id, err := resolve(name)
		if err != nil {
			return nil, err
		} else if id == "" {
			continue
		}
		if ok, err := held(rel, id); err != nil {
			return nil, err
		} else if ok {
			out.Scopes = append(out.Scopes, name)
		}
	}
	return out, nil
}
