package store

import (
	"bytes"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idbolt/idbolt/store/kv"

	"github.com/idbolt/idbolt/store/search"
)

// The user search planner. An exact search on id, username, primaryEmail or
// primaryPhone that every result must satisfy reads its candidates from the
// index of that field instead of reading every user; the whole filter is
// then applied to the candidates as the scan applies it to every user, so
// the planner only decides which records are read, never which match.
//
// A case-insensitive search compares under Unicode simple case folding
// (search.Match), while the indexes hold values as given (ids, usernames,
// phones) or lowercased (emails). The planner therefore walks the index
// for every key that a value folding to the searched one can have, one
// character at a time and only down prefixes that exist, so "alice" finds
// "Alice" and "ALICE" and an email written with a long s (ſ) is found by
// one written with an s.

// userIndexedField is a searchable field with an index from its value to
// the user.
type userIndexedField struct {
	bucket []byte
	// lower is true when the index holds strings.ToLower of the value.
	lower bool
	// bySeq is true when the index's value is the user's sequence key
	// rather than the user id. It is the id field's: user_ids holds only
	// the ids the tenant's permutation did not make (users_ids.go), so
	// the planner looks those up too.
	bySeq bool
}

// userIndexedFields are the fields the planner can look up.
var userIndexedFields = map[string]userIndexedField{
	"id":           {bucket: bucketUserIDs, bySeq: true},
	"username":     {bucket: bucketUsersByName},
	"primaryEmail": {bucket: bucketUsersByEmail, lower: true},
	"primaryPhone": {bucket: bucketUsersByPhone},
}

// indexedField returns the index the planner looks field up in and the
// prefix of its keys there: a fixed field's, or for identities.<target>
// users_by_identity under "<target>\x00" (the target compares exactly,
// the user's id at the provider as the search says).
func indexedField(field string) (userIndexedField, string, bool) {
	if target, ok := strings.CutPrefix(field, "identities."); ok {
		return userIndexedField{bucket: bucketUsersByIdentity}, target + "\x00", true
	}
	f, ok := userIndexedFields[field]
	return f, "", ok
}

// maxPlanSeeks bounds the index probes of one search's case-insensitive
// values (a letter has two spellings, so about two per letter); past it the
// planner gives up and the search scans, which is always correct.
const maxPlanSeeks = 2048

// planUserCandidates returns the sequence keys of the users that may match
// q, newest first and each once, and true; or false when q has no exact
// condition on an indexed field that every match must satisfy (a lone
// item, any item of joint=and, or every item of joint=or), in which case
// the caller scans.
func planUserCandidates(tx *Tx, q search.Query) ([][]byte, bool, error) {
	if q.Empty() {
		return nil, false, nil
	}
	indexable := func(it *search.Item) bool {
		_, _, ok := indexedField(it.Field)
		return ok && it.Mode == search.ModeExact
	}
	var items []*search.Item
	if q.And || len(q.Items) == 1 {
		// One item decides; take the one with the fewest values.
		for i := range q.Items {
			if it := &q.Items[i]; indexable(it) && (items == nil || len(it.Values) < len(items[0].Values)) {
				items = []*search.Item{it}
			}
		}
	} else {
		for i := range q.Items {
			if !indexable(&q.Items[i]) {
				return nil, false, nil
			}
			items = append(items, &q.Items[i])
		}
	}
	if items == nil {
		return nil, false, nil
	}
	users, err := tx.bucket(bucketUsers)
	if err != nil {
		return nil, false, err
	}
	var seqs [][]byte
	seeks := maxPlanSeeks
	for _, it := range items {
		f, prefix, _ := indexedField(it.Field)
		b, err := tx.bucket(f.bucket)
		if err != nil {
			return nil, false, err
		}
		for _, v := range it.Values {
			if f.bySeq {
				id, ok := v, true
				if !q.CaseSensitive {
					id, ok = foldToUserID(v)
				}
				if ok {
					r, found, err := findPermutedUser(tx, users, id)
					if err != nil {
						return nil, false, err
					}
					if found {
						seqs = append(seqs, itob(r.Seq))
					}
				}
			}
			var keys [][]byte
			if q.CaseSensitive {
				k := v
				if f.lower {
					k = strings.ToLower(v)
				}
				keys = [][]byte{[]byte(prefix + k)}
			} else if keys = foldedKeys(b, prefix, v, f.lower, &seeks); keys == nil {
				return nil, false, nil
			}
			for _, k := range keys {
				ref := b.Get(k)
				if ref != nil && !f.bySeq {
					seq, ok, err := findUserSeqKey(tx, string(ref))
					if err != nil {
						return nil, false, err
					}
					ref = seq
					if !ok {
						ref = nil
					}
				}
				if ref != nil {
					seqs = append(seqs, ref)
				}
			}
		}
	}
	slices.SortFunc(seqs, func(a, b []byte) int { return bytes.Compare(b, a) })
	return slices.CompactFunc(seqs, bytes.Equal), true, nil
}

// foldedKeys returns the keys of b, after prefix, that a value equal to v
// under simple case folding is stored at (lowered first when lower), or nil
// when that takes more probes than the budget *seeks has left.
func foldedKeys(b *kv.Bucket, prefix, v string, lower bool, seeks *int) [][]byte {
	c := b.Cursor()
	var out [][]byte
	var walk func(prefix []byte, rest string) bool
	walk = func(prefix []byte, rest string) bool {
		if rest == "" {
			if k, _ := c.Seek(prefix); k != nil && bytes.Equal(k, prefix) {
				out = append(out, bytes.Clone(prefix))
			}
			return true
		}
		alts, n := foldAlternatives(rest, lower)
		for _, a := range alts {
			if *seeks--; *seeks < 0 {
				return false
			}
			p := append(prefix[:len(prefix):len(prefix)], a...)
			if k, _ := c.Seek(p); k == nil || !bytes.HasPrefix(k, p) {
				continue
			}
			if !walk(p, rest[n:]) {
				return false
			}
		}
		return true
	}
	if !walk([]byte(prefix), v) {
		return nil
	}
	if out == nil {
		out = [][]byte{}
	}
	return out
}

// foldAlternatives returns the encodings a character equal to the first
// one of s under simple case folding has in an index (lowered when lower),
// without repeats, and the width of that first character in s. A byte
// that is not valid UTF-8 equals only itself, as in search.Match; lowered,
// it is U+FFFD, as strings.ToLower writes it.
func foldAlternatives(s string, lower bool) ([]string, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		if lower {
			return []string{string(utf8.RuneError)}, 1
		}
		return []string{s[:1]}, 1
	}
	var alts []string
	add := func(r rune) {
		if lower {
			r = unicode.ToLower(r)
		}
		if e := string(r); !slices.Contains(alts, e) {
			alts = append(alts, e)
		}
	}
	add(r)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		add(f)
	}
	return alts, n
}
