// Package store owns idbolt's domain types (User, Application, Resource, Role,
// Tenant, ...), their validation, the error model and the data file.
//
// # Files
//
// The file names show the architecture. Storage machinery, which knows
// buckets, records and relations but no entity, is in files named db_*.go:
// the committer and DB.Update (db_commit.go), every write transaction's
// db.update and the disk-space health (db_storage.go), record and key
// encoding and the bucket names (db_codec.go), the table, named table
// and relation mechanisms (db_table.go, db_named_table.go, db_relation.go),
// the helpers every relation route shares (db_assign.go: dedupe, checkAll,
// assign, unassign, fk), the integrity check (db_integrity.go), the master
// key, backup, file checks, locks and metrics. Pieces that need none of
// package store's types are packages of their own: store/kv (the key-value
// layer), store/internal/rankindex (the counting indexes behind deep pages)
// and store/search (Logto's search syntax). A file prefix rather than more
// packages keeps the rest together: machinery and entities share Tx, Error
// and the record types, and splitting them would export what only the store
// uses.
//
// Every other file holds one entity and is named as the api/ file that
// serves it: users.go (records, create, update, delete), applications.go,
// application_secrets.go, resources.go, resource_scopes.go, roles.go,
// role_relations.go, organizations.go, organization_members.go,
// organization_roles.go, organization_scopes.go, invitations.go,
// api_clients.go, user_keys.go, managers.go, tenants.go, system_admins.go,
// logs.go (the audit log), signing_keys.go. An entity's further files share
// its stem (users_search.go, users_search_plan.go, users_password.go,
// users_batch.go, users_codec.go, users_integrity.go, users_ids.go,
// logs_record.go, ...);
// jti.go and organization_tokens.go serve the token endpoint (auth/).
// store.go opens the file and declares DB and Tx, errors.go is the error
// model and text.go the shared text validation.
// TestLayout_FilesShowTheArchitecture keeps every file in one of these
// groups.
//
// Relations of one shape share one mechanism parameterised by a kind table:
// memberKind for the users and applications that are organization members,
// roleHolderKind for the users and applications that hold roles.
//
// # Bucket layout
//
// The map below is rendered from db_schema.go; go test ./store -run TestSchema_DocMap -update
// rewrites it.
//
//	meta/                          instance settings
//	  format_version               the file's format version (db_migrate.go); Open
//	                               migrates older files and refuses newer ones
//	  sealed_secret_hash_key       HMAC key for client secret hashes, sealed
//	  secret_hash_key              the same key in clear, in files of older
//	                               versions until Open seals it
//	  master_key_check             a known text sealed under the master key, so a
//	                               wrong key fails at Open (db_masterkey.go)
//	  scrub_pending                set until the file is rewritten without the
//	                               free pages an upgrade or rotation left
//	  exposed_signing_key/         <tenant> -> algorithm: a tenant whose signing
//	                               keys an older version kept in clear, until
//	                               rotated (signing_keys.go)
//	  cluster_genesis              cluster mode: log index of the entry that gave
//	                               the cluster its first content (db_replica.go)
//	node/                          this node's own state: never replicated, kept
//	                               by a snapshot restore, left out of Checksum
//	                               (db_replica.go)
//	  applied_index                cluster mode: log index of the last entry
//	                               applied, written with it
//	  last_ping                    time of the last Ping, a write that proves the
//	                               file is writable
//	  space_probe                  written and deleted to learn whether the disk
//	                               has room again (db_storage.go)
//	system_admins/<app id>         [records] instance administrators: applications
//	                               of tenant default that get system tokens
//	                               (system_admins.go); outside every tenant's role
//	                               model, so no /api route reaches it
//	tenants/                       one nested bucket per tenant id; a Tx is bound
//	                               to one
//	  <tenant>/
//	    meta/                      tenant settings
//	      tenant                   tenant record (name, own rate limit, webhook
//	                               URL and sealed webhook key,
//	                               readableApplicationSecrets, CORS origins)
//	      management_role          id of the built-in management role
//	      default_resource         id of the default API resource
//	      org_count                number of organizations, for the list total
//	      user_id_key              key of the permutation that makes new users'
//	                               ids from their seqs, sealed (users_ids.go)
//	      sign_in_experience       the sign-in experience's PATCHed fields,
//	                               password expiration policy and forgot password
//	                               methods (sign_in_exp.go)
//	    users/<seq>                [records] user record, keyed by an 8-byte
//	                               big-endian sequence so a cursor walks creation
//	                               order; binary, versioned, pages filled to 100%
//	                               (users_codec.go; JSON before it, still read)
//	    users_rank/<lvl><block>    [rank] live-entry counts per block of user seqs
//	                               (internal/rankindex)
//	    user_ids/<id>              [unique index] -> user seq, for ids not made by
//	                               the tenant's permutation (users created before
//	                               it, users_ids.go)
//	    users_by_username/<name>   [unique index] -> user id; serves exact
//	                               searches too (users_search_plan.go)
//	    users_by_email/<lower>     [unique index] -> user id, case-insensitive
//	    users_by_phone/<phone>     [unique index] -> user id
//	    user_password_state/<user id>
//	                               [records] a user's password state: when it was
//	                               last set, and whether it is marked expired;
//	                               none for a password set at creation
//	                               (users_password_expiration.go)
//	    users_by_identity/<target>\x00<external id>
//	                               [unique index] -> user id: a user's identity at
//	                               a provider (users_identities.go)
//	    apps/<client id>           [records] application record with hashed
//	                               secrets (and sealed values, made while
//	                               readableApplicationSecrets is on)
//	    apps_order/<seq>           [order] -> application id
//	    resources/<id>             [records] API resource record
//	    resources_order/<seq>      [order] -> resource id
//	    resources_by_indicator/<indicator>
//	                               [unique index] -> resource id
//	    scopes/<id>                [records] scope record (names its resource)
//	    resource_scopes/<resource>\x00<scope>
//	                               [index] a resource's scopes; deleting the
//	                               resource deletes them
//	    scopes_by_name/<resource>\x00<name>
//	                               [unique index] -> scope id
//	    roles/<id>                 [records] role record
//	    roles_order/<seq>          [order] -> role id
//	    roles_by_name/<name>       [unique index] -> role id
//	    role_scopes/<role>\x00<scope>
//	                               [relation] a role's scopes
//	    scope_roles/<scope>\x00<role>
//	                               [relation] mirror of role_scopes
//	    app_roles/<app>\x00<role>  [relation] a machine-to-machine application's
//	                               roles
//	    role_apps/<role>\x00<app>  [relation] mirror of app_roles
//	    user_roles/<user>\x00<role>
//	                               [relation] a user's roles
//	    role_users/<role>\x00<user>
//	                               [relation] mirror of user_roles
//	    relation_counts/<bucket>\x00<id>
//	                               [counts] number of id's pairs in a relation
//	                               bucket (usersCount, applicationsCount)
//	    orgs/<id>                  [records] organization record (list order: id)
//	    org_roles/<id>             [records] organization role record
//	    org_roles_by_name/<name>   [unique index] -> organization role id; the
//	                               list order
//	    org_scopes/<id>            [records] organization scope record
//	    org_scopes_by_name/<name>  [unique index] -> organization scope id; the
//	                               list order
//	    org_role_scopes/<org role>\x00<org scope>
//	                               [relation] an organization role's organization
//	                               scopes
//	    org_scope_roles/<org scope>\x00<org role>
//	                               [relation] mirror of org_role_scopes
//	    org_role_resource_scopes/<org role>\x00<scope>
//	                               [relation] an organization role's resource
//	                               scopes
//	    resource_scope_org_roles/<scope>\x00<org role>
//	                               [relation] mirror of org_role_resource_scopes
//	    org_users/<org>\x00<user>  [relation] user membership
//	    org_users_rank/<prefix>    [rank] members per id prefix of org_users
//	                               (internal/rankindex)
//	    user_orgs/<user>\x00<org>  [relation] mirror of org_users
//	    org_apps/<org>\x00<app>    [relation] application membership
//	    app_orgs/<app>\x00<org>    [relation] mirror of org_apps
//	    org_user_roles/<org>\x00<user>\x00<role>
//	                               [relation] a member user's organization roles
//	    org_role_users/<role>\x00<org>\x00<user>
//	                               [relation] mirror of org_user_roles
//	    org_app_roles/<org>\x00<app>\x00<role>
//	                               [relation] a member application's organization
//	                               roles
//	    org_role_apps/<role>\x00<org>\x00<app>
//	                               [relation] mirror of org_app_roles
//	    invitations/<id>           [records] organization invitation record
//	    invitations_order/<seq>    [order] -> invitation id
//	    org_invitations/<org>\x00<id>
//	                               [index] an organization's invitations
//	    invitations_pending/<org>\x00<invitee>
//	                               [unique index] -> id of the pending invitation
//	    invitation_roles/<id>\x00<org role>
//	                               [relation] the organization roles an invitation
//	                               grants
//	    org_role_invitations/<org role>\x00<id>
//	                               [relation] mirror of invitation_roles
//	    signing_keys/<seq>         [log] private JWK sealed under the master key
//	                               (AES-256-GCM, bound to tenant and kid); the
//	                               newest signs, older ones verify until their
//	                               retire time
//	    cookie_keys/<seq>          [log] cookie key sealed under the master key
//	                               (bound to tenant and id); the newest signs, one
//	                               previous verifies (configs_cookie_keys.go)
//	    jwt_customizers/<token type>
//	                               [records] custom JWT claims script of
//	                               access-token or client-credentials, its
//	                               environment variables sealed under the master
//	                               key (configs_jwt_customizer.go)
//	    audit/<seq>                [log] audit entry, a compact binary record led
//	                               by its format byte (logs_record.go; earlier
//	                               files keep JSON in an envelope); pages filled
//	                               to 100%; deleted only from the oldest end, so
//	                               live seqs are contiguous and the entry id needs
//	                               no index
//	    managers/<user>\x00<scope> [index] manager roles at one scope
//	                               (managers.go)
//	    managers_by_scope/<scope>\x00<user>
//	                               [index] mirror of managers, and
//	                               g\x00<org>\x00<res>\x00<user> for grants
//	    api_clients/<client id>    [records] API client record (api_clients.go);
//	                               its app has the same id
//	    api_clients_order/<seq>    [order] -> API client id
//	    api_client_state/<client id>
//	                               [records] disabled flag and the time tokens
//	                               count from
//	    service_keys/<user>\x00<key>
//	                               [index] a service user's public key (PKIX DER)
//	    jtis/<expiry ms><hash>     [log] -> client id: a JWT bearer assertion's
//	                               used jti, until it expires; pruned from the
//	                               front, read into memory (jti.go)
//	    one_time_tokens/<id>       [records] one-time token record, with the keyed
//	                               hash of its value (one_time_tokens.go)
//	    one_time_tokens_order/<seq>
//	                               [order] -> one-time token id
//	    one_time_tokens_by_hash/<keyed hash of the value>
//	                               [unique index] -> one-time token id
//	    personal_access_tokens/<user id>\x00<name>
//	                               [records] a user's personal access token: the
//	                               keyed hash of its value, created, expires
//	                               (users_personal_access_tokens.go)
//	    personal_access_tokens_by_hash/<keyed hash of the value>
//	                               [unique index] -> personal access token key
//	    subject_tokens/<keyed hash of the value>
//	                               [records] a subject token (impersonation):
//	                               user, creator, context, expiry, when used;
//	                               pruned a lifetime after it expires
//	                               (subject_tokens.go)
//	    console_sessions/<sha256 of session id>
//	                               [records] an admin console sign-in: its client
//	                               or user, scopes, created and last seen; expired
//	                               ones pruned at the next sign-in and hourly
//	                               (console_sessions.go)
//	    connectors/<id>            [records] email or SMS connector record; its
//	                               config's confidential values (passwords,
//	                               authorization headers) sealed under the master
//	                               key, bound to tenant and id (connectors.go)
//	    connectors_order/<seq>     [order] -> connector id
//	    verification_codes/e:<email lower case> | p:<phone>
//	                               [records] a recipient's verification code,
//	                               HMAC-hashed with the secret-hash key, its
//	                               tries, and its sends of the last hour
//	                               (verification_codes.go)
//	    verification_codes_by_time/<last send ms><recipient>
//	                               [index] empty: recipients by last send, so that
//	                               a send removes those an hour old
//	    hooks/<id>                 [records] webhook record, signing key sealed
//	                               under the master key (bound to tenant and
//	                               hook); the bucket's sequence moves with every
//	                               change of a hook (hooks.go)
//	    hooks_order/<seq>          [order] -> hook id
//	    hook_events/<seq>          [log] outbox: a hook event written in the
//	                               transaction of its change, naming the hooks
//	                               subscribed then; pruned from the front once
//	                               every one has passed it
//	    hook_cursors/<hook id>     [records] -> seq of the last event the hook is
//	                               done with
//	    users_active/<day><user>   [index] empty: the user was active on the UTC
//	                               day (4-byte day number); written with the audit
//	                               entry that shows it, pruned after 62 days
//	                               (dashboard.go)
//	    users_active_by_user/<user>\x00<day>
//	                               [index] empty: mirror of users_active, for a
//	                               user's previous and next active day
//	    users_active_days/<day>    [counts] the day's active users, and of them
//	                               how many were active 1 to 29 days before and
//	                               not since: distinct users of any window of up
//	                               to 30 days without reading the users
//	relations, by fwd bucket:      a -> b; on deleting a; on deleting b
//	                               (schemaRelations)
//	  role_scopes                  role -> scope; unlink; unlink
//	  app_roles                    application (MachineToMachine) -> role
//	                               (MachineToMachine); unlink; unlink
//	  user_roles                   user -> role (User); unlink; unlink
//	  org_role_scopes              organization role -> organization scope;
//	                               unlink; unlink
//	  org_role_resource_scopes     organization role -> scope; unlink; unlink
//	  org_users                    organization -> user; end memberships; end
//	                               memberships
//	  org_apps                     organization -> application (MachineToMachine);
//	                               end memberships; end memberships
//	  org_user_roles               membership -> organization role (User); via
//	                               removeMember; unlink
//	  org_app_roles                membership -> organization role
//	                               (MachineToMachine); via removeMember; unlink
//	  invitation_roles             invitation -> organization role; unlink; unlink
//
// A Tx is bound to one tenant bucket and cannot reach another tenant's keys;
// deleting a tenant is one DeleteBucket. Records are JSON of unexported
// xRecord structs (db_codec.go), so renaming an API field never rewrites data.
// Secondary indexes are written in the same transaction as their record and
// uniqueness is checked through them.
//
// Writes go through DB.Update and one committer goroutine (db_commit.go): a 2xx
// is sent only after the commit is synced, a lone writer never waits for a
// timer, and writes that queue while a commit syncs share the next one. A
// Management write's audit entry is part of the same transaction; token
// requests' entries are queued and group-committed by the audit writer.
//
// # Key-value layer
//
// Store code never touches bbolt: every read and write of a transaction goes
// through store/kv, a thin wrapper with bbolt's own operations and names
// (kv.Tx, kv.Bucket, kv.Cursor). Every write transaction runs in db.update
// (db_storage.go): the committer's batches, the audit writer, jti writes and
// pruning, tenant creation and deletion, Ping. When Options.OnCommit is set,
// db.update records the transaction's write-set, the ordered bucket
// creations and deletions, puts, deletes and resulting sequence values with
// their full bucket paths, and hands it over once committed. A write-set is
// the transaction's result, not its intention: kv.Apply replays it onto
// another file holding the same data and leaves identical data, whatever
// clocks, random ids or reads the transaction used. That is what cluster mode
// will replicate. The store and API tests record every commit and check,
// when each file closes, that replaying the write-sets onto a copy of the
// file as it was opened gives the same kv.Checksum. Only opening (store.go),
// backup and file checks (db_backup.go) and the offline rewrite of the file
// (db_masterkey.go) use bbolt directly; TestLayer_OnlyKVImportsBbolt enforces it.
package store
