// Package search implements Logto's Management API search query syntax
// (used by GET /api/users) as a parser plus an in-memory matcher: idbolt
// keeps records in bbolt rather than PostgreSQL, so the SQL that Logto
// generates from these parameters is replaced by Go code that tests one
// record at a time.
//
// The syntax, as query parameters:
//
//   - search=V matches V against every allowed field (the fields are OR'ed);
//     search.<field>=V matches one field. A key may repeat.
//   - mode=like|exact sets the mode of every item; mode.<field> overrides it
//     for one field. like is the default.
//   - joint=or|and (alias jointMode) says how the items, one per search key,
//     are combined. or is the default.
//   - isCaseSensitive=true|false (also 1/0, yes/no); false by default.
//
// like is SQL LIKE over the whole value: % is any run of characters, _ is
// exactly one character, and a backslash escapes the next character. There
// are no implicit wildcards, so search=foo only matches the value "foo";
// clients write search=%foo% for a substring search, as they do with Logto.
// exact is equality, and accepts several values (equals any of them).
// A field that is null or missing never matches, not even like %.
//
// Field paths are one level deep (search.username), except under the
// prefixes the caller allows in Options.NestedPrefixes, which take exactly
// one nested key (search.customData.plan).
//
// Where Options.Regex allows them, mode=posix (a PostgreSQL regular
// expression found anywhere in the value, case-insensitive unless
// isCaseSensitive) and mode=similar_to (SQL SIMILAR TO over the whole
// value, which Logto allows only with isCaseSensitive=true) take one
// pattern each; regex.go says how PostgreSQL's syntax is carried over and
// what is refused. Elsewhere they are rejected with an Error rather than
// silently treated as like.
//
// Because the input comes from untrusted clients, the work is bounded: at
// most MaxItems items, MaxValues values per exact item, MaxValueLen bytes
// per value, and LIKE patterns are matched in O(len(pattern)*len(value))
// time, never by backtracking recursion. Regular expressions backtrack, so
// they are bounded by time instead: MaxPatternLen bytes, MatchTimeout per
// match and RegexBudget per query, after which Query.Err reports an Error.
package search
