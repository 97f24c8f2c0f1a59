package search

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Mode is how an item's values are compared with a field: ModeLike or
// ModeExact.
type Mode string

const (
	// ModeLike compares with SQL LIKE semantics (see Like). It is the
	// default mode, as in Logto.
	ModeLike Mode = "like"
	// ModeExact compares for equality, against any of several values.
	ModeExact Mode = "exact"
)

// Limits that bound the work one request can cause, since the parameters
// come from untrusted clients and every item is evaluated against every
// record.
const (
	// MaxItems is the most search items (search keys) a query may hold.
	MaxItems = 20
	// MaxValues is the most values one exact item may hold.
	MaxValues = 10
	// MaxValueLen is the longest search value, in bytes.
	MaxValueLen = 256
)

// Parameter names. Only these keys, and keys starting with the two
// prefixes, belong to search; Parse ignores every other key so that the
// same url.Values can carry paging and endpoint-specific filters.
const (
	keySearch        = "search"
	keyMode          = "mode"
	keyJoint         = "joint"
	keyJointMode     = "jointMode" // Logto's alias of joint
	keyCaseSensitive = "isCaseSensitive"
	prefixSearch     = keySearch + "."
	prefixMode       = keyMode + "."
)

// Options says which fields a query may search.
type Options struct {
	// Fields are the first-level fields that search.<field> and mode.<field>
	// may name, and that a general search item is matched against, e.g.
	// id, primaryEmail, primaryPhone, username, name.
	Fields []string
	// NestedPrefixes are the fields that take exactly one nested key, e.g.
	// "customData" allows search.customData.plan. They are not part of a
	// general search, which could not know which nested keys exist.
	NestedPrefixes []string
	// Regex allows the modes posix and similar_to (regex.go). A caller
	// that allows them must check Query.Err after matching, since a
	// pattern that runs out of time stops matching anything.
	Regex bool
}

// Item is one search criterion: the values given for one search key.
type Item struct {
	// Field is the field to match, "customData.plan" for a nested one, or
	// "" for a general item that matches any of Options.Fields.
	Field string
	// Mode is how Values are compared with the field; "" in a hand-built
	// Item means ModeLike, the default.
	Mode Mode
	// Values are the values to compare with: exactly one LIKE pattern in
	// ModeLike, one or more alternatives in ModeExact.
	Values []string

	// like is Values[0] compiled by Parse, so that Match does no parsing
	// per record. It is nil for exact items and for hand-built items.
	like *pattern
	// regex is Values[0] compiled by Parse in the modes posix and
	// similar_to; nil otherwise, and in hand-built items, which never
	// match in those modes.
	regex *regex
}

// Query is a parsed search. The zero Query matches every record.
type Query struct {
	// Items are the criteria, in the sorted order of their keys.
	Items []Item
	// And requires every item to match (joint=and); otherwise one
	// matching item is enough (joint=or).
	And bool
	// CaseSensitive turns off case folding (isCaseSensitive=true).
	CaseSensitive bool

	// fields are the Options.Fields given to Parse, which a general item
	// is matched against.
	fields []string
	// budget is the time the regex items have left; nil without them.
	budget *regexBudget
}

// Error is returned for any invalid search input. Param names the query
// key at fault and Reason says what is wrong, in a message suitable for
// an API client.
type Error struct {
	Param, Reason string
}

// Error returns the parameter and the reason in one message.
func (e *Error) Error() string {
	return fmt.Sprintf("invalid query parameter %q: %s", e.Param, e.Reason)
}

// Parse reads the search parameters of q (see the package documentation)
// and ignores every other key. Keys are processed in sorted order, so the
// items, and which error is reported when there are several, do not
// depend on map iteration. Any invalid input yields an *Error.
func Parse(q url.Values, opts Options) (Query, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	// First pass: settings, and the fields of the search keys. Items are
	// built afterwards because their mode may come from a later key
	// (mode sorts after search).
	type pending struct{ key, field string }
	var (
		items      []pending
		defMode    = ModeLike
		fieldModes map[string]Mode
		joint      string // key that set And, to detect joint/jointMode conflicts
		and        bool
		caseSens   bool
	)
	for _, k := range keys {
		vals := q[k]
		switch {
		case k == keySearch:
			items = append(items, pending{key: k})
		case strings.HasPrefix(k, prefixSearch):
			field, err := resolveField(k, prefixSearch, opts)
			if err != nil {
				return Query{}, err
			}
			items = append(items, pending{key: k, field: field})
		case k == keyMode:
			v, err := single(k, vals)
			if err != nil {
				return Query{}, err
			}
			if defMode, err = parseMode(k, v, opts); err != nil {
				return Query{}, err
			}
		case strings.HasPrefix(k, prefixMode):
			field, err := resolveField(k, prefixMode, opts)
			if err != nil {
				return Query{}, err
			}
			v, err := single(k, vals)
			if err != nil {
				return Query{}, err
			}
			m, err := parseMode(k, v, opts)
			if err != nil {
				return Query{}, err
			}
			if fieldModes == nil {
				fieldModes = make(map[string]Mode)
			}
			fieldModes[field] = m
		case k == keyJoint || k == keyJointMode:
			v, err := single(k, vals)
			if err != nil {
				return Query{}, err
			}
			var a bool
			switch v {
			case "or":
			case "and":
				a = true
			default:
				return Query{}, &Error{k, fmt.Sprintf("invalid value %s; valid values are or and and", quoteShort(v))}
			}
			if joint != "" && a != and {
				return Query{}, &Error{k, fmt.Sprintf("conflicts with %s; give only one of them", joint)}
			}
			joint, and = k, a
		case k == keyCaseSensitive:
			v, err := single(k, vals)
			if err != nil {
				return Query{}, err
			}
			switch strings.ToLower(v) {
			case "true", "1", "yes":
				caseSens = true
			case "false", "0", "no":
				caseSens = false
			default:
				return Query{}, &Error{k, fmt.Sprintf("invalid value %s; valid values are true and false", quoteShort(v))}
			}
		}
	}

	if len(items) > MaxItems {
		return Query{}, &Error{items[MaxItems].key, fmt.Sprintf("too many search items (%d); at most %d search keys are allowed", len(items), MaxItems)}
	}

	out := Query{And: and, CaseSensitive: caseSens, fields: slices.Clone(opts.Fields)}
	if len(items) > 0 {
		out.Items = make([]Item, 0, len(items))
	}
	for _, p := range items {
		mode := defMode
		if m, ok := fieldModes[p.field]; ok {
			mode = m
		}
		it, err := buildItem(p.key, p.field, mode, q[p.key])
		if err != nil {
			return Query{}, err
		}
		if mode == ModePosix || mode == ModeSimilarTo {
			if out.budget == nil {
				out.budget = &regexBudget{left: RegexBudget}
			}
			if it.regex, err = compileRegex(p.key, mode, it.Values[0], caseSens, out.budget); err != nil {
				return Query{}, err
			}
		}
		out.Items = append(out.Items, it)
	}
	return out, nil
}

// Err returns the *Error that stopped the regular-expression matching of
// q (a pattern that ran out of MatchTimeout, or the query out of
// RegexBudget), or nil. Once it is set, the regex items of q match
// nothing, so a caller that matched records with q must check it before
// it uses the result.
func (q Query) Err() error {
	if q.budget == nil {
		return nil
	}
	return q.budget.failed()
}

// buildItem validates the values of one search key and compiles its
// pattern.
func buildItem(key, field string, mode Mode, vals []string) (Item, error) {
	switch {
	case len(vals) == 0:
		return Item{}, &Error{key, "a search value is required"}
	case mode != ModeExact && len(vals) > 1:
		return Item{}, &Error{key, fmt.Sprintf("%s mode takes exactly one value, got %d; use exact mode to match any of several values", mode, len(vals))}
	case len(vals) > MaxValues:
		return Item{}, &Error{key, fmt.Sprintf("too many values (%d); at most %d are allowed", len(vals), MaxValues)}
	}
	for _, v := range vals {
		if v == "" {
			return Item{}, &Error{key, "search values must not be empty"}
		}
		if len(v) > MaxValueLen {
			return Item{}, &Error{key, fmt.Sprintf("search value is too long (%d bytes); at most %d bytes are allowed", len(v), MaxValueLen)}
		}
	}
	it := Item{Field: field, Mode: mode, Values: slices.Clone(vals)}
	if mode == ModeLike {
		p, err := compileLike(vals[0])
		if err != nil {
			return Item{}, &Error{key, err.Error()}
		}
		it.like = p
	}
	return it, nil
}

// resolveField returns the field named by a search.<field> or
// mode.<field> key, checking it against opts.
func resolveField(key, prefix string, opts Options) (string, error) {
	path := key[len(prefix):]
	head, rest, nested := strings.Cut(path, ".")
	switch {
	case head == "":
		return "", &Error{key, "a field name is required after " + strconv.Quote(prefix) + "; allowed fields: " + allowed(opts)}
	case nested && slices.Contains(opts.NestedPrefixes, head):
		if rest == "" {
			return "", &Error{key, fmt.Sprintf("a key is required after %q", prefix+head+".")}
		}
		if strings.Contains(rest, ".") {
			return "", &Error{key, fmt.Sprintf("%s takes a single nested key (%s%s.<key>); deeper paths are not supported", head, prefix, head)}
		}
		return path, nil
	case nested:
		if len(opts.NestedPrefixes) == 0 {
			return "", &Error{key, "nested field paths are not supported; allowed fields: " + allowed(opts)}
		}
		return "", &Error{key, fmt.Sprintf("nested field paths are only supported under %s; allowed fields: %s", strings.Join(opts.NestedPrefixes, ", "), allowed(opts))}
	case slices.Contains(opts.Fields, path):
		return path, nil
	case slices.Contains(opts.NestedPrefixes, path):
		return "", &Error{key, fmt.Sprintf("%s needs a nested key: %s%s.<key>", path, prefix, path)}
	default:
		return "", &Error{key, fmt.Sprintf("unknown field %s; allowed fields: %s", quoteShort(path), allowed(opts))}
	}
}

// allowed lists the fields a key may name, for error messages.
func allowed(opts Options) string {
	names := slices.Clone(opts.Fields)
	for _, p := range opts.NestedPrefixes {
		names = append(names, p+".<key>")
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// single returns the value of a setting. A repeated setting is accepted
// only when every occurrence agrees, since picking one would silently
// ignore what the client asked for in the other.
func single(key string, vals []string) (string, error) {
	if len(vals) == 0 {
		return "", &Error{key, "a value is required"}
	}
	for _, v := range vals[1:] {
		if v != vals[0] {
			return "", &Error{key, "given several times with different values"}
		}
	}
	return vals[0], nil
}

// parseMode parses the value of a mode or mode.<field> key; posix and
// similar_to only where opts.Regex allows them.
func parseMode(key, v string, opts Options) (Mode, error) {
	valid := "like and exact"
	if opts.Regex {
		valid = "like, exact, posix and similar_to"
	}
	switch Mode(v) {
	case ModeLike, ModeExact:
		return Mode(v), nil
	case ModeSimilarTo, ModePosix:
		if opts.Regex {
			return Mode(v), nil
		}
		return "", &Error{key, fmt.Sprintf("mode %s is not supported by idbolt on this list; valid modes are %s", v, valid)}
	default:
		return "", &Error{key, fmt.Sprintf("invalid mode %s; valid modes are %s", quoteShort(v), valid)}
	}
}

// quoteShort quotes a client-supplied value for an error message,
// truncated so that an error cannot echo back an arbitrarily large input.
func quoteShort(s string) string {
	const limit = 64
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// Empty reports whether q has no items, in which case it matches every
// record and callers can skip matching altogether.
func (q Query) Empty() bool {
	return len(q.Items) == 0
}

// Match reports whether a record matches q. get returns the value of a
// field and whether it is set (non-null); a field that is not set never
// matches. A field item calls get with its Field (the full path, e.g.
// "customData.plan", for a nested one); a general item calls it for each
// of the Options.Fields given to Parse, so a hand-built Query (not from
// Parse) has no fields for general items to match.
//
// Match does not allocate for a Query from Parse without posix or
// similar_to items. Items built by hand have their LIKE pattern compiled
// on every call, and a malformed pattern in one just does not match;
// hand-built posix and similar_to items never match. After matching with
// posix or similar_to items, check Err.
func (q Query) Match(get func(field string) (string, bool)) bool {
	if len(q.Items) == 0 {
		return true
	}
	for i := range q.Items {
		m := q.Items[i].match(get, q.fields, q.CaseSensitive)
		if m != q.And {
			// A miss decides an and, a hit decides an or.
			return m
		}
	}
	return q.And
}

// match reports whether the item matches the record behind get.
func (it *Item) match(get func(string) (string, bool), fields []string, caseSensitive bool) bool {
	if it.Field != "" {
		return it.matchField(get, it.Field, caseSensitive)
	}
	for _, f := range fields {
		if it.matchField(get, f, caseSensitive) {
			return true
		}
	}
	return false
}

// matchField reports whether the item matches one field of the record.
func (it *Item) matchField(get func(string) (string, bool), field string, caseSensitive bool) bool {
	v, ok := get(field)
	if !ok {
		return false
	}
	switch it.Mode {
	case ModeExact:
		for _, want := range it.Values {
			if equalString(v, want, caseSensitive) {
				return true
			}
		}
		return false
	case ModeLike, "":
		p := it.like
		if p == nil {
			if len(it.Values) != 1 {
				return false
			}
			var err error
			if p, err = compileLike(it.Values[0]); err != nil {
				return false
			}
		}
		return p.match(v, caseSensitive)
	case ModePosix, ModeSimilarTo:
		return it.regex != nil && it.regex.match(v)
	default:
		return false
	}
}
