package store

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/idbolt/idbolt/store/kv"
)

//go:generate go test . -run TestSchema_DocMap -update

// This file declares the whole layout of the data file: every bucket with
// its kind and meaning, the keys of the meta buckets, the tables and the
// relations with the entity at each end and what deleting either end does.
// Bucket creation (for a new file, a new tenant and a file from an older
// version), the generic part of CheckIntegrity, delete cascades
// (cascadeDelete) and the bucket map in doc.go (TestSchema_DocMap) all
// read from it, so a bucket cannot exist without being declared here
// (TestSchema_FileHoldsOnlyDeclaredBuckets).
//
// Not yet derived from it: links that are not relations (a resource's
// scopes, an organization's invitations, a user's service keys, manager
// roles and invitations, an API client's application and user) are
// declared as buckets here but deleted by hand in their entity's delete,
// and the member-role ends' types are checked by memberRoles, not by the
// relation declarations.

// bucketKind says what a bucket's keys and values are.
type bucketKind string

// The kinds of bucket.
const (
	kindSettings bucketKind = "settings"     // fixed keys, listed in keys
	kindNest     bucketKind = "nest"         // one nested bucket per key, laid out as children
	kindRecords  bucketKind = "records"      // id -> record
	kindOrder    bucketKind = "order"        // 8-byte seq -> id: creation order of a table
	kindUnique   bucketKind = "unique index" // value -> id, one id per value
	kindIndex    bucketKind = "index"        // composite keys found by prefix
	kindRelation bucketKind = "relation"     // a\x00b pairs, one direction of a relation
	kindRank     bucketKind = "rank"         // live-entry counts for deep pages
	kindCounts   bucketKind = "counts"       // bucket\x00id -> number of pairs
	kindLog      bucketKind = "log"          // 8-byte seq -> entry, appended and pruned from the front
)

// bucketSpec declares one bucket.
type bucketSpec struct {
	name []byte
	key  string     // the shape of its keys, for the map in doc.go
	kind bucketKind // what it holds
	doc  string     // its meaning, for the map in doc.go
	// keys lists the fixed keys of a kindSettings bucket.
	keys []keySpec
	// children lays out each nested bucket of a kindNest bucket.
	children []bucketSpec
	// check is the integrity check of what this bucket holds beyond the
	// generic one of relations (CheckIntegrity): records against their
	// order and indexes, entity rules. Set on one bucket of a group.
	check func(*integrityCheck) error
}

// keySpec declares one fixed key of a settings bucket.
type keySpec struct {
	name []byte
	doc  string
}

// Root buckets.
var (
	bucketMeta         = []byte("meta")
	bucketTenants      = []byte("tenants")
	bucketSystemAdmins = []byte("system_admins") // instance administrators (system_admins.go)
)

// keyPepper is a key of the root meta bucket. The others are named next
// to their code (keyFormatVersion in db_migrate.go, keyMasterCheck,
// keySealedPepper and keyScrubPending in db_masterkey.go, keyExposedPrefix
// in signing_keys.go, keyClusterGenesis in db_replica.go) and declared in
// rootSchema, as are the keys of the node bucket (db_replica.go,
// db_storage.go).
var keyPepper = []byte("secret_hash_key") // clear, in files of older versions only

// Keys of a tenant's meta bucket.
var (
	keyTenant          = []byte("tenant")
	keyManagementRole  = []byte("management_role")
	keyDefaultResource = []byte("default_resource")
	keyOrgCount        = []byte("org_count") // organizations, for the list total
)

// Per-tenant buckets. bucketAPIClients..., bucketServiceKeys, bucketJTIs, bucketConsoleSessions and
// bucketManagers... are named next to their code but declared in
// tenantSchema like every other.
var (
	bucketTenantMeta         = []byte("meta")
	bucketUsers              = []byte("users")
	bucketUsersRank          = []byte("users_rank")
	bucketUserIDs            = []byte("user_ids")
	bucketUsersByName        = []byte("users_by_username")
	bucketUsersByEmail       = []byte("users_by_email")
	bucketUsersByPhone       = []byte("users_by_phone")
	bucketApps               = []byte("apps")
	bucketAppsOrder          = []byte("apps_order")
	bucketResources          = []byte("resources")
	bucketResourcesOrder     = []byte("resources_order")
	bucketResourcesByInd     = []byte("resources_by_indicator")
	bucketScopes             = []byte("scopes")
	bucketResourceScopes     = []byte("resource_scopes")
	bucketScopesByName       = []byte("scopes_by_name")
	bucketRoles              = []byte("roles")
	bucketRolesOrder         = []byte("roles_order")
	bucketRolesByName        = []byte("roles_by_name")
	bucketRoleScopes         = []byte("role_scopes")
	bucketScopeRoles         = []byte("scope_roles")
	bucketRelCounts          = []byte("relation_counts")
	bucketAppRoles           = []byte("app_roles")
	bucketRoleApps           = []byte("role_apps")
	bucketUserRoles          = []byte("user_roles")
	bucketRoleUsers          = []byte("role_users")
	bucketOrgs               = []byte("orgs")
	bucketOrgRoles           = []byte("org_roles")
	bucketOrgRolesByName     = []byte("org_roles_by_name")
	bucketOrgScopes          = []byte("org_scopes")
	bucketOrgScopesByNm      = []byte("org_scopes_by_name")
	bucketOrgRoleScopes      = []byte("org_role_scopes")
	bucketOrgScopeRoles      = []byte("org_scope_roles")
	bucketOrgRoleRes         = []byte("org_role_resource_scopes")
	bucketResOrgRoles        = []byte("resource_scope_org_roles")
	bucketOrgUsers           = []byte("org_users")
	bucketOrgUsersRank       = []byte("org_users_rank")
	bucketUserOrgs           = []byte("user_orgs")
	bucketOrgApps            = []byte("org_apps")
	bucketAppOrgs            = []byte("app_orgs")
	bucketOrgUserRoles       = []byte("org_user_roles")
	bucketOrgRoleUsers       = []byte("org_role_users")
	bucketOrgAppRoles        = []byte("org_app_roles")
	bucketOrgRoleApps        = []byte("org_role_apps")
	bucketInvitations        = []byte("invitations")
	bucketInvitationsOrder   = []byte("invitations_order")
	bucketOrgInvitations     = []byte("org_invitations")
	bucketInvitationsPending = []byte("invitations_pending")
	bucketInvitationRoles    = []byte("invitation_roles")
	bucketOrgRoleInvitations = []byte("org_role_invitations")
	bucketKeys               = []byte("signing_keys")
	bucketCookieKeys         = []byte("cookie_keys")
	bucketJWTCustomizers     = []byte("jwt_customizers")
	bucketAudit              = []byte("audit")
)

// rootSchema is the layout of the file: the root buckets, and through
// tenants every tenant's.
var rootSchema = []bucketSpec{
	{name: bucketMeta, kind: kindSettings, doc: "instance settings", keys: []keySpec{
		{keyFormatVersion, "the file's format version (db_migrate.go); Open migrates older files and refuses newer ones"},
		{keySealedPepper, "HMAC key for client secret hashes, sealed"},
		{keyPepper, "the same key in clear, in files of older versions until Open seals it"},
		{keyMasterCheck, "a known text sealed under the master key, so a wrong key fails at Open (db_masterkey.go)"},
		{keyScrubPending, "set until the file is rewritten without the free pages an upgrade or rotation left"},
		{keyExposedPrefix, "<tenant> -> algorithm: a tenant whose signing keys an older version kept in clear, until rotated (signing_keys.go)"},
		{keyClusterGenesis, "cluster mode: log index of the entry that gave the cluster its first content (db_replica.go)"},
	}},
	{name: bucketNode, kind: kindSettings, doc: "this node's own state: never replicated, kept by a snapshot restore, left out of Checksum (db_replica.go)", keys: []keySpec{
		{keyAppliedIndex, "cluster mode: log index of the last entry applied, written with it"},
		{keyLastPing, "time of the last Ping, a write that proves the file is writable"},
		{keySpaceProbe, "written and deleted to learn whether the disk has room again (db_storage.go)"},
	}},
	{name: bucketSystemAdmins, key: "<app id>", kind: kindRecords, doc: "instance administrators: applications of tenant default that get system tokens " +
		"(system_admins.go); outside every tenant's role model, so no /api route reaches it"},
	{name: bucketTenants, key: "<tenant>", kind: kindNest, doc: "one nested bucket per tenant id; a Tx is bound to one", children: tenantSchema},
}

// tenantSchema is the layout of one tenant's bucket; every bucket is created
// with the tenant.
var tenantSchema = []bucketSpec{
	{name: bucketTenantMeta, kind: kindSettings, doc: "tenant settings", keys: []keySpec{
		{keyTenant, "tenant record (name, own rate limit, webhook URL and sealed webhook key, readableApplicationSecrets, CORS origins)"},
		{keyManagementRole, "id of the built-in management role"},
		{keyDefaultResource, "id of the default API resource"},
		{keyOrgCount, "number of organizations, for the list total"},
		{keyUserIDKey, "key of the permutation that makes new users' ids from their seqs, sealed (users_ids.go)"},
		{keySignInExperience, "the sign-in experience's PATCHed fields, password expiration policy and forgot password methods (sign_in_exp.go)"},
	}},
	{name: bucketUsers, key: "<seq>", kind: kindRecords, doc: "user record, keyed by an 8-byte big-endian sequence so a cursor walks creation order; " +
		"binary, versioned, pages filled to 100% (users_codec.go; JSON before it, still read)",
		check: (*integrityCheck).users},
	{name: bucketUsersRank, key: "<lvl><block>", kind: kindRank, doc: "live-entry counts per block of user seqs (internal/rankindex)"},
	{name: bucketUserIDs, key: "<id>", kind: kindUnique, doc: "-> user seq, for ids not made by the tenant's permutation " +
		"(users created before it, users_ids.go)"},
	{name: bucketUsersByName, key: "<name>", kind: kindUnique, doc: "-> user id; serves exact searches too (users_search_plan.go)"},
	{name: bucketUsersByEmail, key: "<lower>", kind: kindUnique, doc: "-> user id, case-insensitive"},
	{name: bucketUsersByPhone, key: "<phone>", kind: kindUnique, doc: "-> user id"},
	{name: bucketPasswordState, key: "<user id>", kind: kindRecords, doc: "a user's password state: when it was last set, " +
		"and whether it is marked expired; none for a password set at creation (users_password_expiration.go)",
		check: (*integrityCheck).passwordStates},
	{name: bucketUsersByIdentity, key: "<target>\\x00<external id>", kind: kindUnique, doc: "-> user id: a user's identity at a provider (users_identities.go)",
		check: (*integrityCheck).identities},
	{name: bucketApps, key: "<client id>", kind: kindRecords, doc: "application record with hashed secrets (and sealed values, made while readableApplicationSecrets is on)",
		check: checkTable(appsTable)},
	{name: bucketAppsOrder, key: "<seq>", kind: kindOrder, doc: "-> application id"},
	{name: bucketResources, key: "<id>", kind: kindRecords, doc: "API resource record",
		check: checkTable(resourcesTable)},
	{name: bucketResourcesOrder, key: "<seq>", kind: kindOrder, doc: "-> resource id"},
	{name: bucketResourcesByInd, key: "<indicator>", kind: kindUnique, doc: "-> resource id",
		check: checkResourcesByIndicator},
	{name: bucketScopes, key: "<id>", kind: kindRecords, doc: "scope record (names its resource)",
		check: (*integrityCheck).scopes},
	{name: bucketResourceScopes, key: "<resource>\\x00<scope>", kind: kindIndex, doc: "a resource's scopes; deleting the resource deletes them"},
	{name: bucketScopesByName, key: "<resource>\\x00<name>", kind: kindUnique, doc: "-> scope id"},
	{name: bucketRoles, key: "<id>", kind: kindRecords, doc: "role record",
		check: checkTable(rolesTable)},
	{name: bucketRolesOrder, key: "<seq>", kind: kindOrder, doc: "-> role id"},
	{name: bucketRolesByName, key: "<name>", kind: kindUnique, doc: "-> role id",
		check: checkRolesByName},
	{name: bucketRoleScopes, key: "<role>\\x00<scope>", kind: kindRelation, doc: "a role's scopes"},
	{name: bucketScopeRoles, key: "<scope>\\x00<role>", kind: kindRelation, doc: "mirror of role_scopes"},
	{name: bucketAppRoles, key: "<app>\\x00<role>", kind: kindRelation, doc: "a machine-to-machine application's roles"},
	{name: bucketRoleApps, key: "<role>\\x00<app>", kind: kindRelation, doc: "mirror of app_roles"},
	{name: bucketUserRoles, key: "<user>\\x00<role>", kind: kindRelation, doc: "a user's roles"},
	{name: bucketRoleUsers, key: "<role>\\x00<user>", kind: kindRelation, doc: "mirror of user_roles"},
	{name: bucketRelCounts, key: "<bucket>\\x00<id>", kind: kindCounts, doc: "number of id's pairs in a relation bucket (usersCount, applicationsCount)",
		check: (*integrityCheck).counts},
	{name: bucketOrgs, key: "<id>", kind: kindRecords, doc: "organization record (list order: id)",
		check: (*integrityCheck).orgCount},
	{name: bucketOrgRoles, key: "<id>", kind: kindRecords, doc: "organization role record",
		check: checkNamedTable(orgRolesTable)},
	{name: bucketOrgRolesByName, key: "<name>", kind: kindUnique, doc: "-> organization role id; the list order"},
	{name: bucketOrgScopes, key: "<id>", kind: kindRecords, doc: "organization scope record",
		check: checkNamedTable(orgScopesTable)},
	{name: bucketOrgScopesByNm, key: "<name>", kind: kindUnique, doc: "-> organization scope id; the list order"},
	{name: bucketOrgRoleScopes, key: "<org role>\\x00<org scope>", kind: kindRelation, doc: "an organization role's organization scopes"},
	{name: bucketOrgScopeRoles, key: "<org scope>\\x00<org role>", kind: kindRelation, doc: "mirror of org_role_scopes"},
	{name: bucketOrgRoleRes, key: "<org role>\\x00<scope>", kind: kindRelation, doc: "an organization role's resource scopes"},
	{name: bucketResOrgRoles, key: "<scope>\\x00<org role>", kind: kindRelation, doc: "mirror of org_role_resource_scopes"},
	{name: bucketOrgUsers, key: "<org>\\x00<user>", kind: kindRelation, doc: "user membership"},
	{name: bucketOrgUsersRank, key: "<prefix>", kind: kindRank, doc: "members per id prefix of org_users (internal/rankindex)",
		check: func(c *integrityCheck) error { return c.prefixRank(relOrgUsers) }},
	{name: bucketUserOrgs, key: "<user>\\x00<org>", kind: kindRelation, doc: "mirror of org_users"},
	{name: bucketOrgApps, key: "<org>\\x00<app>", kind: kindRelation, doc: "application membership"},
	{name: bucketAppOrgs, key: "<app>\\x00<org>", kind: kindRelation, doc: "mirror of org_apps"},
	{name: bucketOrgUserRoles, key: "<org>\\x00<user>\\x00<role>", kind: kindRelation, doc: "a member user's organization roles",
		check: func(c *integrityCheck) error { return c.memberRoles(userMembers, "user") }},
	{name: bucketOrgRoleUsers, key: "<role>\\x00<org>\\x00<user>", kind: kindRelation, doc: "mirror of org_user_roles"},
	{name: bucketOrgAppRoles, key: "<org>\\x00<app>\\x00<role>", kind: kindRelation, doc: "a member application's organization roles",
		check: func(c *integrityCheck) error { return c.memberRoles(appMembers, "application") }},
	{name: bucketOrgRoleApps, key: "<role>\\x00<org>\\x00<app>", kind: kindRelation, doc: "mirror of org_app_roles"},
	{name: bucketInvitations, key: "<id>", kind: kindRecords, doc: "organization invitation record",
		check: checkInvitations},
	{name: bucketInvitationsOrder, key: "<seq>", kind: kindOrder, doc: "-> invitation id"},
	{name: bucketOrgInvitations, key: "<org>\\x00<id>", kind: kindIndex, doc: "an organization's invitations"},
	{name: bucketInvitationsPending, key: "<org>\\x00<invitee>", kind: kindUnique, doc: "-> id of the pending invitation"},
	{name: bucketInvitationRoles, key: "<id>\\x00<org role>", kind: kindRelation, doc: "the organization roles an invitation grants"},
	{name: bucketOrgRoleInvitations, key: "<org role>\\x00<id>", kind: kindRelation, doc: "mirror of invitation_roles"},
	{name: bucketKeys, key: "<seq>", kind: kindLog, doc: "private JWK sealed under the master key (AES-256-GCM, bound to tenant and kid); " +
		"the newest signs, older ones verify until their retire time"},
	{name: bucketCookieKeys, key: "<seq>", kind: kindLog, doc: "cookie key sealed under the master key (bound to tenant and id); " +
		"the newest signs, one previous verifies (configs_cookie_keys.go)"},
	{name: bucketJWTCustomizers, key: "<token type>", kind: kindRecords, doc: "custom JWT claims script of access-token or client-credentials, " +
		"its environment variables sealed under the master key (configs_jwt_customizer.go)"},
	{name: bucketAudit, key: "<seq>", kind: kindLog, doc: "audit entry, a compact binary record led by its format byte (logs_record.go; " +
		"earlier files keep JSON in an envelope); pages filled to 100%; deleted only from the oldest end, " +
		"so live seqs are contiguous and the entry id needs no index",
		check: (*integrityCheck).auditLog},
	{name: bucketManagers, key: "<user>\\x00<scope>", kind: kindIndex, doc: "manager roles at one scope (managers.go)",
		check: (*integrityCheck).managers},
	{name: bucketManagersByScope, key: "<scope>\\x00<user>", kind: kindIndex, doc: "mirror of managers, and g\\x00<org>\\x00<res>\\x00<user> for grants"},
	{name: bucketAPIClients, key: "<client id>", kind: kindRecords, doc: "API client record (api_clients.go); its app has the same id",
		check: (*integrityCheck).apiClients},
	{name: bucketAPIClientsOrder, key: "<seq>", kind: kindOrder, doc: "-> API client id"},
	{name: bucketAPIClientState, key: "<client id>", kind: kindRecords, doc: "disabled flag and the time tokens count from"},
	{name: bucketServiceKeys, key: "<user>\\x00<key>", kind: kindIndex, doc: "a service user's public key (PKIX DER)",
		check: (*integrityCheck).serviceKeys},
	{name: bucketJTIs, key: "<expiry ms><hash>", kind: kindLog, doc: "-> client id: a JWT bearer assertion's used jti, " +
		"until it expires; pruned from the front, read into memory (jti.go)",
		check: (*integrityCheck).jtis},
	{name: bucketOneTimeTokens, key: "<id>", kind: kindRecords, doc: "one-time token record, with the keyed hash of its value (one_time_tokens.go)",
		check: checkTable(oneTimeTokensTable)},
	{name: bucketOneTimeTokensOrder, key: "<seq>", kind: kindOrder, doc: "-> one-time token id"},
	{name: bucketOneTimeTokensByHash, key: "<keyed hash of the value>", kind: kindUnique, doc: "-> one-time token id"},
	{name: bucketPATs, key: "<user id>\\x00<name>", kind: kindRecords, doc: "a user's personal access token: the keyed hash of its value, created, expires (users_personal_access_tokens.go)",
		check: (*integrityCheck).personalAccessTokens},
	{name: bucketPATsByHash, key: "<keyed hash of the value>", kind: kindUnique, doc: "-> personal access token key"},
	{name: bucketSubjectTokens, key: "<keyed hash of the value>", kind: kindRecords, doc: "a subject token (impersonation): user, creator, context, " +
		"expiry, when used; pruned a lifetime after it expires (subject_tokens.go)"},
	{name: bucketConsoleSessions, key: "<sha256 of session id>", kind: kindRecords, doc: "an admin console sign-in: " +
		"its client or user, scopes, created and last seen; expired ones pruned at the next sign-in and hourly (console_sessions.go)"},
	{name: bucketConnectors, key: "<id>", kind: kindRecords, doc: "email or SMS connector record; its config's confidential values " +
		"(passwords, authorization headers) sealed under the master key, bound to tenant and id (connectors.go)",
		check: checkTable(connectorsTable)},
	{name: bucketConnectorsOrder, key: "<seq>", kind: kindOrder, doc: "-> connector id"},
	{name: bucketVerificationCodes, key: "e:<email lower case> | p:<phone>", kind: kindRecords, doc: "a recipient's verification code, " +
		"HMAC-hashed with the secret-hash key, its tries, and its sends of the last hour (verification_codes.go)"},
	{name: bucketVerificationCodesTime, key: "<last send ms><recipient>", kind: kindIndex, doc: "empty: recipients by last send, " +
		"so that a send removes those an hour old"},
	{name: bucketHooks, key: "<id>", kind: kindRecords, doc: "webhook record, signing key sealed under the master key " +
		"(bound to tenant and hook); the bucket's sequence moves with every change of a hook (hooks.go)",
		check: checkTable(hooksTable)},
	{name: bucketHooksOrder, key: "<seq>", kind: kindOrder, doc: "-> hook id"},
	{name: bucketHookEvents, key: "<seq>", kind: kindLog, doc: "outbox: a hook event written in the transaction of its change, " +
		"naming the hooks subscribed then; pruned from the front once every one has passed it"},
	{name: bucketHookCursors, key: "<hook id>", kind: kindRecords, doc: "-> seq of the last event the hook is done with"},
	{name: bucketUsersActive, key: "<day><user>", kind: kindIndex, doc: "empty: the user was active on the UTC day (4-byte day number); " +
		"written with the audit entry that shows it, pruned after 62 days (dashboard.go)",
		check: (*integrityCheck).usersActive},
	{name: bucketUsersActiveByUser, key: "<user>\\x00<day>", kind: kindIndex, doc: "empty: mirror of users_active, for a user's previous and next active day"},
	{name: bucketUsersActiveDays, key: "<day>", kind: kindCounts, doc: "the day's active users, and of them how many were active 1 to 29 days before " +
		"and not since: distinct users of any window of up to 30 days without reading the users"},
}

// The tables of a tenant: records by id plus their creation order.
var (
	appsTable      = table{"application", bucketApps, bucketAppsOrder}
	resourcesTable = table{"resource", bucketResources, bucketResourcesOrder}
	rolesTable     = table{"role", bucketRoles, bucketRolesOrder}
)

// The name-ordered tables of a tenant.
var (
	orgRolesTable = namedTable{"organization role", bucketOrgRoles, bucketOrgRolesByName, func(name string) *Error {
		return detailErrorf(EUNPROCESSABLE, "entity.unique_integrity_violation", "The organization role name %q is already in use.", name)
	}}
	orgScopesTable = namedTable{"organization scope", bucketOrgScopes, bucketOrgScopesByNm, func(name string) *Error {
		return detailErrorf(EUNPROCESSABLE, "entity.unique_integrity_violation", "The organization scope name %q is already in use.", name)
	}}
)

// The relations of a tenant. The first id of each name is the fwd side.
var (
	relRoleScopes = relation{fwd: bucketRoleScopes, back: bucketScopeRoles}
	relAppRoles   = relation{fwd: bucketAppRoles, back: bucketRoleApps}
	relUserRoles  = relation{fwd: bucketUserRoles, back: bucketRoleUsers}

	relOrgRoleScopes    = relation{fwd: bucketOrgRoleScopes, back: bucketOrgScopeRoles}
	relOrgRoleResScopes = relation{fwd: bucketOrgRoleRes, back: bucketResOrgRoles}
	relOrgUsers         = relation{fwd: bucketOrgUsers, back: bucketUserOrgs, rank: bucketOrgUsersRank}
	relOrgApps          = relation{fwd: bucketOrgApps, back: bucketAppOrgs}
	// The member role relations relate a membership, pairKey(org, member),
	// to an organization role.
	relOrgUserRoles = relation{fwd: bucketOrgUserRoles, back: bucketOrgRoleUsers}
	relOrgAppRoles  = relation{fwd: bucketOrgAppRoles, back: bucketOrgRoleApps}
)

// entityKind names what a relation end holds the id of.
type entityKind string

// The kinds of entity at a relation's ends.
const (
	entityUser       entityKind = "user"
	entityApp        entityKind = "application"
	entityRole       entityKind = "role"
	entityScope      entityKind = "scope"
	entityOrg        entityKind = "organization"
	entityOrgRole    entityKind = "organization role"
	entityOrgScope   entityKind = "organization scope"
	entityInvitation entityKind = "invitation"
	// entityMembership is pairKey(org, member), the end of the member
	// role relations: it goes when the membership does (removeMember).
	entityMembership entityKind = "membership"
)

// deleteRule says what deleting the entity at one end of a relation does to
// its pairs.
type deleteRule string

// The delete rules.
const (
	// unlinkOnDelete drops the entity's pairs and nothing else.
	unlinkOnDelete deleteRule = "unlink"
	// leaveOnDelete ends each membership of the entity with the
	// membership's roles (the relation's dependent), as removeMember does.
	leaveOnDelete deleteRule = "end memberships"
	// keepOnDelete leaves the pairs to another mechanism: the entity at
	// this end is never deleted on its own (a membership ends through
	// removeMember).
	keepOnDelete deleteRule = "via removeMember"
)

// relationEnd is one end of a relation: the kind of entity, the type it
// must have (an application or role type; "" for any) and what deleting it
// does.
type relationEnd struct {
	kind     entityKind
	typ      string
	onDelete deleteRule
}

// relationSpec declares a relation with its two ends.
type relationSpec struct {
	rel  relation
	a, b relationEnd // a is the fwd side's first id
	// dependent is the member role relation of a membership relation,
	// ended with each membership.
	dependent *relation
}

// schemaRelations lists every relation of a tenant. CheckIntegrity checks
// both directions, counts and ends of each; cascadeDelete applies their
// delete rules.
var schemaRelations = []relationSpec{
	{rel: relRoleScopes, a: relationEnd{entityRole, "", unlinkOnDelete}, b: relationEnd{entityScope, "", unlinkOnDelete}},
	{rel: relAppRoles, a: relationEnd{entityApp, AppMachineToMachine, unlinkOnDelete}, b: relationEnd{entityRole, RoleMachineToMachine, unlinkOnDelete}},
	{rel: relUserRoles, a: relationEnd{entityUser, "", unlinkOnDelete}, b: relationEnd{entityRole, RoleUser, unlinkOnDelete}},
	{rel: relOrgRoleScopes, a: relationEnd{entityOrgRole, "", unlinkOnDelete}, b: relationEnd{entityOrgScope, "", unlinkOnDelete}},
	{rel: relOrgRoleResScopes, a: relationEnd{entityOrgRole, "", unlinkOnDelete}, b: relationEnd{entityScope, "", unlinkOnDelete}},
	{rel: relOrgUsers, a: relationEnd{entityOrg, "", leaveOnDelete}, b: relationEnd{entityUser, "", leaveOnDelete}, dependent: &relOrgUserRoles},
	{rel: relOrgApps, a: relationEnd{entityOrg, "", leaveOnDelete}, b: relationEnd{entityApp, AppMachineToMachine, leaveOnDelete}, dependent: &relOrgAppRoles},
	{rel: relOrgUserRoles, a: relationEnd{entityMembership, "", keepOnDelete}, b: relationEnd{entityOrgRole, RoleUser, unlinkOnDelete}},
	{rel: relOrgAppRoles, a: relationEnd{entityMembership, "", keepOnDelete}, b: relationEnd{entityOrgRole, RoleMachineToMachine, unlinkOnDelete}},
	{rel: relInvitationRoles, a: relationEnd{entityInvitation, "", unlinkOnDelete}, b: relationEnd{entityOrgRole, "", unlinkOnDelete}},
}

// cascadeDelete applies the delete rule of every relation end of kind to
// entity id, which is being deleted: its pairs go, and with a membership
// its roles. Refusals (a built-in role, an instance administrator) are the
// caller's, before it gets here.
func cascadeDelete(tx *Tx, kind entityKind, id string) error {
	for _, s := range schemaRelations {
		for _, side := range []struct {
			end relationEnd
			rel relation
		}{{s.a, s.rel}, {s.b, s.rel.inverse()}} {
			if side.end.kind != kind {
				continue
			}
			switch side.end.onDelete {
			case unlinkOnDelete:
				if err := side.rel.unlinkAll(tx, id); err != nil {
					return err
				}
			case leaveOnDelete:
				if err := endMemberships(tx, s, side.end == s.a, id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// endMemberships ends every membership of id in membership relation s: id
// is the organization when isOrg, else the member.
func endMemberships(tx *Tx, s relationSpec, isOrg bool, id string) error {
	if !isOrg {
		return leaveAllOrganizations(tx, s.rel, *s.dependent, id)
	}
	members, err := s.rel.list(tx, id)
	if err != nil {
		return err
	}
	for _, member := range members {
		if err := removeMember(tx, s.rel, *s.dependent, id, member); err != nil {
			return err
		}
	}
	return nil
}

// createSchemaBuckets creates in parent every bucket of specs it lacks. The
// nested buckets of a kindNest bucket are made one at a time (a tenant by
// CreateTenant).
func createSchemaBuckets(parent interface {
	CreateBucketIfNotExists([]byte) (*kv.Bucket, error)
}, specs []bucketSpec) error {
	for _, s := range specs {
		if _, err := parent.CreateBucketIfNotExists(s.name); err != nil {
			return fmt.Errorf("create bucket %s: %w", s.name, err)
		}
	}
	return nil
}

// addMissingTenantBuckets gives every tenant the buckets of tenantSchema it
// lacks: a bucket a newer version added is empty in an older file, which is
// what the new feature starts from.
func addMissingTenantBuckets(tenants *kv.Bucket) error {
	return tenants.ForEachBucket(func(name []byte) error {
		if err := createSchemaBuckets(tenants.Bucket(name), tenantSchema); err != nil {
			return fmt.Errorf("tenant %s: %w", name, err)
		}
		return nil
	})
}

// undeclaredBuckets walks every bucket of the file, nested ones included,
// and reports each one the schema does not declare, and each key of a
// settings bucket it does not declare. CheckIntegrity checks
// the tenants' buckets; the root may hold tests' scratch buckets.
func undeclaredBuckets(tx *kv.Tx, report func(format string, args ...any)) error {
	return tx.ForEach(func(name []byte, b *kv.Bucket) error {
		return checkDeclared(b, string(name), findSpec(rootSchema, name), report)
	})
}

// checkDeclared checks bucket b at path, and the buckets nested in it,
// against spec (nil: undeclared).
func checkDeclared(b *kv.Bucket, path string, spec *bucketSpec, report func(format string, args ...any)) error {
	if spec == nil {
		report("bucket %s is not declared in the schema (db_schema.go)", path)
		return nil
	}
	if spec.kind == kindSettings {
		if err := b.ForEach(func(k, v []byte) error {
			if v != nil && !declaredKey(spec.keys, k) {
				report("key %s/%s is not declared in the schema (db_schema.go)", path, k)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return b.ForEachBucket(func(name []byte) error {
		if spec.kind != kindNest {
			report("bucket %s/%s is not declared in the schema (db_schema.go)", path, name)
			return nil
		}
		return checkChildren(b.Bucket(name), path+"/"+string(name), spec.children, report)
	})
}

// checkChildren checks every bucket nested in b against specs.
func checkChildren(b *kv.Bucket, path string, specs []bucketSpec, report func(format string, args ...any)) error {
	return b.ForEachBucket(func(name []byte) error {
		return checkDeclared(b.Bucket(name), path+"/"+string(name), findSpec(specs, name), report)
	})
}

// declaredKey reports whether k is one of keys; a key declared with a
// trailing '/' is a prefix followed by an id.
func declaredKey(keys []keySpec, k []byte) bool {
	for _, d := range keys {
		if bytes.Equal(d.name, k) || (bytes.HasSuffix(d.name, []byte("/")) && bytes.HasPrefix(k, d.name)) {
			return true
		}
	}
	return false
}

// findSpec returns the spec of specs named name, or nil.
func findSpec(specs []bucketSpec, name []byte) *bucketSpec {
	for i := range specs {
		if bytes.Equal(specs[i].name, name) {
			return &specs[i]
		}
	}
	return nil
}

// renderBucketMap renders the schema as the bucket map of doc.go, each
// line prefixed by "//\t".
func renderBucketMap() string {
	var sb strings.Builder
	renderSpecs(&sb, rootSchema, "")
	renderLine(&sb, "relations, by fwd bucket:", "a -> b; on deleting a; on deleting b (schemaRelations)")
	for _, r := range schemaRelations {
		renderLine(&sb, "  "+string(r.rel.fwd), fmt.Sprintf("%s -> %s; %s; %s", endName(r.a), endName(r.b), r.a.onDelete, r.b.onDelete))
	}
	return sb.String()
}

// endName names a relation end with its type, if it has one.
func endName(e relationEnd) string {
	if e.typ == "" {
		return string(e.kind)
	}
	return string(e.kind) + " (" + e.typ + ")"
}

// The bucket map's columns: a name, then its meaning from descColumn, lines
// at most mapWidth wide (the tab counts as one).
const (
	descColumn = 31
	mapWidth   = 78
)

func renderSpecs(sb *strings.Builder, specs []bucketSpec, indent string) {
	for _, s := range specs {
		name := indent + string(s.name) + "/" + s.key
		if s.kind == kindSettings || s.kind == kindNest {
			name = indent + string(s.name) + "/"
		}
		doc := s.doc
		if s.kind != kindSettings && s.kind != kindNest {
			doc = "[" + string(s.kind) + "] " + doc
		}
		renderLine(sb, name, doc)
		for _, k := range s.keys {
			renderLine(sb, indent+"  "+string(k.name), k.doc)
		}
		if s.kind == kindNest {
			renderLine(sb, indent+"  "+s.key+"/", "")
			renderSpecs(sb, s.children, indent+"    ")
		}
	}
}

// renderLine writes name and doc wrapped into the map's columns.
func renderLine(sb *strings.Builder, name, doc string) {
	flush := func(line string) { sb.WriteString(strings.TrimRight("//\t"+line, " ") + "\n") }
	line := name
	words := strings.Fields(doc)
	if len(words) > 0 && len(line) >= descColumn {
		flush(line)
		line = ""
	}
	for _, w := range words {
		switch {
		case len(line) <= descColumn:
			line += strings.Repeat(" ", descColumn-len(line)) + w
		case len(line)+1+len(w) > mapWidth:
			flush(line)
			line = strings.Repeat(" ", descColumn) + w
		default:
			line += " " + w
		}
	}
	flush(line)
}
