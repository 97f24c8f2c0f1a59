package store

import (
	"slices"

	"github.com/idbolt/idbolt/pagination"
)

// The helpers every relation route shares: a request names ids to assign
// (deduplicated, every one checked before the first write, as Update
// requires), links or unlinks them through a relation, and answers with
// Logto's errors for what it refuses. They know relations, not entities; the
// entity files pass the checks.

// dedupe returns ids without repeats, in first-seen order.
func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// checkAll runs check on every id, stopping at the first error.
func checkAll(ids []string, check func(string) error) error {
	for _, id := range ids {
		if err := check(id); err != nil {
			return err
		}
	}
	return nil
}

// assign links owner to every id of ids through rel; links that exist stay.
// check, if not nil, vets each id first: every check runs before the first
// write, as Update requires. With replace, the owner's links to ids not
// listed are removed. It returns the ids newly linked.
func assign(tx *Tx, rel relation, owner string, ids []string, replace bool, check func(id string) error) ([]string, error) {
	return assignDropping(tx, rel, owner, ids, replace, check, func(id string) error {
		_, err := rel.unlink(tx, owner, id)
		return err
	})
}

// assignDropping is assign whose replace removes each unlisted id with drop,
// for a link that carries more than its pair (a member's roles).
func assignDropping(tx *Tx, rel relation, owner string, ids []string, replace bool, check, drop func(id string) error) ([]string, error) {
	ids = dedupe(ids)
	if check != nil {
		if err := checkAll(ids, check); err != nil {
			return nil, err
		}
	}
	if replace {
		current, err := rel.list(tx, owner)
		if err != nil {
			return nil, err
		}
		for _, id := range current {
			if !slices.Contains(ids, id) {
				if err := drop(id); err != nil {
					return nil, err
				}
			}
		}
	}
	added := []string{}
	for _, id := range ids {
		ok, err := rel.link(tx, owner, id)
		if err != nil {
			return nil, err
		} else if ok {
			added = append(added, id)
		}
	}
	return added, nil
}

// unassign removes the link of owner and id, after exists confirmed both.
// Returns ENOTFOUND when they are not linked.
func unassign(tx *Tx, rel relation, owner, id, what string) error {
	ok, err := rel.unlink(tx, owner, id)
	if err != nil {
		return err
	} else if !ok {
		return notFound(what, id)
	}
	return nil
}

// errFK is Logto's error for a reference to an object that does not exist.
func errFK() *Error {
	return detailErrorf(EUNPROCESSABLE, "entity.relation_foreign_key_not_found",
		"Cannot find one or more foreign keys. Please check the input and ensure that all referenced entities exist.")
}

// fk turns ENOTFOUND into errFK: Logto answers 422 for unknown ids in a
// relation's body.
func fk(err error) error {
	if ErrorCode(err) == ENOTFOUND {
		return errFK()
	}
	return err
}

// errConstraint is Logto's error for a relation its database refuses; why
// says which rule.
func errConstraint(why string) *Error {
	return detailErrorf(EUNPROCESSABLE, "entity.db_constraint_violated", "Database constraint violated: %s.", why)
}

// pageOf returns the page p of all.
func pageOf[T any](all []T, p pagination.Params) []T {
	off := p.Offset()
	if off >= len(all) {
		return []T{}
	}
	end := len(all)
	if p.PageSize < end-off {
		end = off + p.PageSize
	}
	return all[off:end]
}
