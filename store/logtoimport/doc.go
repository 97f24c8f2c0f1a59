// Package logtoimport copies a Logto tenant into an idbolt data file. It
// reads the source through its Management API (Source: a client_credentials
// token, then paged GETs with page, page_size and Total-Number), and writes
// through the store's own create and assign calls (Importer), so every rule
// and index of the store holds for what it writes and each entity lands in a
// transaction of its own: an interrupted import leaves a consistent file,
// and running it again skips what is there (matched by id, or by the unique
// key of a role, resource, scope or organization template entry) and copies
// the rest.
//
// Ids are kept where the store takes a given id (users, applications,
// roles, resources, organizations, organization roles), so tokens, client
// ids and configuration naming them keep working. API resource scopes and
// organization scopes get new ids; what refers to them is mapped.
// Applications get new secrets, since no Logto API reveals them; the
// Importer writes each to its Secrets writer.
package logtoimport
