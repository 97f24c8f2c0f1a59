package store

import (
	"context"
	"fmt"

	"github.com/idbolt/idbolt/pagination"
)

// namedTable is a bucket of JSON records keyed by id with a unique name
// index (name -> id) that also serves the list order: Logto lists
// organization roles and scopes by name.
type namedTable struct {
	entity  string
	records []byte
	byName  []byte
	inUse   func(name string) *Error // the error for a name that is taken
}

// exists reports whether record id exists.
func (t namedTable) exists(tx *Tx, id string) (bool, error) {
	records, err := tx.bucket(t.records)
	if err != nil {
		return false, err
	}
	return records.Get([]byte(id)) != nil, nil
}

// get decodes record id into v. Returns ENOTFOUND.
func (t namedTable) get(tx *Tx, id string, v any) error {
	return getRecord(tx, t.records, t.entity, id, v)
}

// idOf returns the id of the record called name, or "".
func (t namedTable) idOf(tx *Tx, name string) (string, error) {
	byName, err := tx.bucket(t.byName)
	if err != nil {
		return "", err
	}
	return string(byName.Get([]byte(name))), nil
}

// checkName returns the in-use error if a record other than self is called name.
func (t namedTable) checkName(tx *Tx, self, name string) error {
	id, err := t.idOf(tx, name)
	if err != nil {
		return err
	} else if id != "" && id != self {
		return t.inUse(name)
	}
	return nil
}

// put stores record id called name; oldName is its previous name, "" for a
// new record. The caller has run checkName.
func (t namedTable) put(tx *Tx, id, oldName, name string, rec any) error {
	records, err := tx.bucket(t.records)
	if err != nil {
		return err
	}
	byName, err := tx.bucket(t.byName)
	if err != nil {
		return err
	}
	if oldName != "" && oldName != name {
		if err := byName.Delete([]byte(oldName)); err != nil {
			return err
		}
	}
	if err := byName.Put([]byte(name), []byte(id)); err != nil {
		return err
	}
	return putJSON(records, []byte(id), rec)
}

// delete removes record id called name.
func (t namedTable) delete(tx *Tx, id, name string) error {
	records, err := tx.bucket(t.records)
	if err != nil {
		return err
	}
	byName, err := tx.bucket(t.byName)
	if err != nil {
		return err
	}
	if err := byName.Delete([]byte(name)); err != nil {
		return err
	}
	return records.Delete([]byte(id))
}

// walk pages through the records in name order.
func (t namedTable) walk(ctx context.Context, tx *Tx, p pagination.Params,
	match func(id string, v []byte) (bool, error), emit func(id string, v []byte) error) (int, error) {
	records, err := tx.bucket(t.records)
	if err != nil {
		return 0, err
	}
	byName, err := tx.bucket(t.byName)
	if err != nil {
		return 0, err
	}
	jc := &joinCursor{c: byName.Cursor(), records: records}
	var m func(k, v []byte) (bool, error)
	if match != nil {
		m = func(k, v []byte) (bool, error) { return match(string(k), v) }
	}
	total, err := pagination.Walk(ctx, jc, p, m, func(k, v []byte) error { return emit(string(k), v) })
	if err == nil && jc.err != nil {
		err = fmt.Errorf("%s: %w", t.entity, jc.err)
	}
	return total, err
}
