package store

import (
	"context"
	"fmt"

	"github.com/idbolt/idbolt/pagination"
	"github.com/idbolt/idbolt/store/kv"
)

// table is a bucket of JSON records keyed by id plus an index bucket keyed by
// creation sequence, so that a record is one Get by id and a list comes out
// in creation order (Logto sorts these lists by createdAt) without sorting.
type table struct {
	entity  string // for not-found errors
	records []byte
	order   []byte
}

// get decodes record id into v. Returns ENOTFOUND.
func (t table) get(tx *Tx, id string, v any) error { return getRecord(tx, t.records, t.entity, id, v) }

// getRecord decodes the record id of bucket into v. Returns ENOTFOUND
// naming entity.
func getRecord(tx *Tx, bucket []byte, entity, id string, v any) error {
	records, err := tx.bucket(bucket)
	if err != nil {
		return err
	}
	if ok, err := getJSON(records, []byte(id), v); err != nil {
		return err
	} else if !ok {
		return notFound(entity, id)
	}
	return nil
}

// exists reports whether record id exists.
func (t table) exists(tx *Tx, id string) (bool, error) {
	records, err := tx.bucket(t.records)
	if err != nil {
		return false, err
	}
	return records.Get([]byte(id)) != nil, nil
}

// insert stores a new record. It sets *seq to the record's creation sequence
// before encoding rec, so rec must hold seq.
func (t table) insert(tx *Tx, id string, seq *uint64, rec any) error {
	records, err := tx.bucket(t.records)
	if err != nil {
		return err
	}
	order, err := tx.bucket(t.order)
	if err != nil {
		return err
	}
	if records.Get([]byte(id)) != nil {
		return fmt.Errorf("%s id collision %s", t.entity, id)
	}
	n, err := records.NextSequence()
	if err != nil {
		return fmt.Errorf("%s sequence: %w", t.entity, err)
	}
	*seq = n
	if err := putJSON(records, []byte(id), rec); err != nil {
		return err
	}
	return order.Put(itob(n), []byte(id))
}

// update overwrites record id.
func (t table) update(tx *Tx, id string, rec any) error {
	records, err := tx.bucket(t.records)
	if err != nil {
		return err
	}
	return putJSON(records, []byte(id), rec)
}

// delete removes record id created with seq.
func (t table) delete(tx *Tx, id string, seq uint64) error {
	records, err := tx.bucket(t.records)
	if err != nil {
		return err
	}
	order, err := tx.bucket(t.order)
	if err != nil {
		return err
	}
	if err := order.Delete(itob(seq)); err != nil {
		return err
	}
	return records.Delete([]byte(id))
}

// walk pages through the records in creation order (newest first if asked),
// passing each record's id and encoded value to match and emit.
func (t table) walk(ctx context.Context, tx *Tx, p pagination.Params, newestFirst bool,
	match func(id string, v []byte) (bool, error), emit func(id string, v []byte) error) (int, error) {
	records, err := tx.bucket(t.records)
	if err != nil {
		return 0, err
	}
	order, err := tx.bucket(t.order)
	if err != nil {
		return 0, err
	}
	var c pagination.Cursor = order.Cursor()
	if newestFirst {
		c = pagination.Reverse(order.Cursor())
	}
	jc := &joinCursor{c: c, records: records}
	var m func(k, v []byte) (bool, error)
	if match != nil {
		m = func(k, v []byte) (bool, error) { return match(string(k), v) }
	}
	e := func(k, v []byte) error { return emit(string(k), v) }
	total, err := pagination.Walk(ctx, jc, p, m, e)
	if err == nil && jc.err != nil {
		err = jc.err
	}
	return total, err
}

// joinCursor turns a cursor over seq -> id into one over id -> record.
type joinCursor struct {
	c       pagination.Cursor
	records *kv.Bucket
	err     error
}

func (j *joinCursor) join(_, id []byte) ([]byte, []byte) {
	if id == nil {
		return nil, nil
	}
	v := j.records.Get(id)
	if v == nil {
		j.err = fmt.Errorf("order index points at missing record %s", id)
		return nil, nil
	}
	return id, v
}

// First implements pagination.Cursor.
func (j *joinCursor) First() ([]byte, []byte) { return j.join(j.c.First()) }

// Next implements pagination.Cursor.
func (j *joinCursor) Next() ([]byte, []byte) { return j.join(j.c.Next()) }
