package search

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// testOptions are the options of GET /api/users.
func testOptions() Options {
	return Options{
		Fields:         []string{"id", "primaryEmail", "primaryPhone", "username", "name"},
		NestedPrefixes: []string{"customData"},
	}
}

// getter returns a get function over a record; a key missing from the map
// is a null field.
func getter(rec map[string]string) func(string) (string, bool) {
	return func(f string) (string, bool) {
		v, ok := rec[f]
		return v, ok
	}
}

func TestParseMatch(t *testing.T) {
	// alice is the default record; her primaryPhone is null.
	alice := map[string]string{
		"id":                "u1",
		"primaryEmail":      "Alice@Example.com",
		"username":          "alice",
		"name":              "Alice Liddell",
		"customData.plan":   "Pro",
		"customData.region": "eu",
	}
	long := strings.Repeat("a", MaxValueLen)
	many := func(key string, n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte('&')
			}
			b.WriteString(key + "=v" + string(rune('a'+i)))
		}
		return b.String()
	}
	tests := []struct {
		name      string
		query     string
		wantErr   bool
		record    map[string]string
		wantMatch bool
	}{
		// No items.
		{name: "empty query matches", query: "", record: alice, wantMatch: true},
		{name: "only unrelated keys", query: "page=2&page_size=20&hideAdminUser=true", record: alice, wantMatch: true},
		{name: "searchFoo is not a search key", query: "searchFoo=zzz&modeX=bad&search_x=1", record: alice, wantMatch: true},
		{name: "empty record, no items", query: "page=1", record: map[string]string{}, wantMatch: true},

		// General search.
		{name: "general like substring", query: "search=%25lid%25", record: alice, wantMatch: true},
		{name: "general like no implicit wildcards", query: "search=lid", record: alice, wantMatch: false},
		{name: "general like whole value", query: "search=alice", record: alice, wantMatch: true},
		{name: "general like case-insensitive", query: "search=ALICE", record: alice, wantMatch: true},
		{name: "general no field matches", query: "search=%25zzz%25", record: alice, wantMatch: false},
		{name: "general exact", query: "search=u1&mode=exact", record: alice, wantMatch: true},
		{name: "general exact not substring", query: "search=u&mode=exact", record: alice, wantMatch: false},
		{name: "general ignores nested fields", query: "search=Pro", record: alice, wantMatch: false},
		{name: "general ignores unknown record keys", query: "search=x", record: map[string]string{"other": "x"}, wantMatch: false},
		{name: "general percent does not match null", query: "search=%25", record: map[string]string{}, wantMatch: false},
		{name: "general percent matches empty string", query: "search=%25", record: map[string]string{"name": ""}, wantMatch: true},

		// Field search.
		{name: "field like", query: "search.primaryEmail=%25@example.com", record: alice, wantMatch: true},
		{name: "field like other field no match", query: "search.username=%25@example.com", record: alice, wantMatch: false},
		{name: "field like underscore", query: "search.id=u_", record: alice, wantMatch: true},
		{name: "field like underscore needs one char", query: "search.id=u1_", record: alice, wantMatch: false},
		{name: "field like escaped percent literal", query: "search.name=Alice%5C%25", record: map[string]string{"name": "Alice%"}, wantMatch: true},
		{name: "field like escaped percent not wildcard", query: "search.name=Alice%5C%25", record: alice, wantMatch: false},
		{name: "field like unicode", query: "search.name=J_rg%25", record: map[string]string{"name": "Jörg Müller"}, wantMatch: true},
		{name: "field exact", query: "search.username=alice&mode.username=exact", record: alice, wantMatch: true},
		{name: "field exact wildcard is literal", query: "search.username=al%25&mode.username=exact", record: alice, wantMatch: false},
		{name: "field exact percent literal matches", query: "search.username=al%25&mode=exact", record: map[string]string{"username": "al%"}, wantMatch: true},
		{name: "field exact case-insensitive", query: "search.username=ALICE&mode=exact", record: alice, wantMatch: true},
		{name: "field exact multi-values any", query: "search.id=u0&search.id=u1&search.id=u2&mode=exact", record: alice, wantMatch: true},
		{name: "field exact multi-values none", query: "search.id=u0&search.id=u2&mode=exact", record: alice, wantMatch: false},
		{name: "field null never matches like percent", query: "search.primaryPhone=%25", record: alice, wantMatch: false},
		{name: "field null never matches exact", query: "search.primaryPhone=x&mode=exact", record: alice, wantMatch: false},
		{name: "field empty string like percent", query: "search.primaryPhone=%25", record: map[string]string{"primaryPhone": ""}, wantMatch: true},
		{name: "mode.field overrides mode", query: "search.username=al%25&mode=exact&mode.username=like", record: alice, wantMatch: true},
		{name: "mode.field for absent item is fine", query: "search.username=alice&mode.name=exact", record: alice, wantMatch: true},
		{name: "mode.field does not apply to general", query: "search=al%25&mode.username=exact", record: alice, wantMatch: true},

		// Nested customData.
		{name: "nested like", query: "search.customData.plan=pr%25", record: alice, wantMatch: true},
		{name: "nested exact", query: "search.customData.plan=pro&mode.customData.plan=exact", record: alice, wantMatch: true},
		{name: "nested exact mismatch", query: "search.customData.plan=free&mode.customData.plan=exact", record: alice, wantMatch: false},
		{name: "nested missing key is null", query: "search.customData.tier=%25", record: alice, wantMatch: false},

		// Joint.
		{name: "or default any item", query: "search.username=alice&search.id=nope", record: alice, wantMatch: true},
		{name: "or no item", query: "search.username=bob&search.id=nope", record: alice, wantMatch: false},
		{name: "joint=or explicit", query: "search.username=alice&search.id=nope&joint=or", record: alice, wantMatch: true},
		{name: "joint=and all", query: "search.username=alice&search.id=u1&joint=and", record: alice, wantMatch: true},
		{name: "joint=and one fails", query: "search.username=alice&search.id=nope&joint=and", record: alice, wantMatch: false},
		{name: "jointMode alias", query: "search.username=alice&search.id=nope&jointMode=and", record: alice, wantMatch: false},
		{name: "joint and jointMode agree", query: "search.username=alice&joint=and&jointMode=and", record: alice, wantMatch: true},
		{name: "joint repeated same", query: "search.username=alice&joint=and&joint=and", record: alice, wantMatch: true},
		{name: "and with general item", query: "search=%25liddell&search.customData.region=EU&joint=and", record: alice, wantMatch: true},
		{name: "and with null field", query: "search.username=alice&search.primaryPhone=%25&joint=and", record: alice, wantMatch: false},

		// Case sensitivity.
		{name: "case-sensitive like mismatch", query: "search=ALICE&isCaseSensitive=true", record: alice, wantMatch: false},
		{name: "case-sensitive like match", query: "search=Alice%25&isCaseSensitive=true", record: alice, wantMatch: true},
		{name: "case-sensitive exact mismatch", query: "search.primaryEmail=alice@example.com&mode=exact&isCaseSensitive=1", record: alice, wantMatch: false},
		{name: "case-sensitive exact match", query: "search.primaryEmail=Alice@Example.com&mode=exact&isCaseSensitive=yes", record: alice, wantMatch: true},
		{name: "isCaseSensitive=false", query: "search=ALICE&isCaseSensitive=false", record: alice, wantMatch: true},
		{name: "isCaseSensitive=0", query: "search=ALICE&isCaseSensitive=0", record: alice, wantMatch: true},
		{name: "isCaseSensitive=no", query: "search=ALICE&isCaseSensitive=no", record: alice, wantMatch: true},
		{name: "isCaseSensitive=TRUE", query: "search=ALICE&isCaseSensitive=TRUE", record: alice, wantMatch: false},
		{name: "case-insensitive unicode", query: "search.name=%C3%96%25", record: map[string]string{"name": "ödön"}, wantMatch: true},

		// Limits that still pass.
		{name: "value at max length", query: "search.name=" + long, record: map[string]string{"name": long}, wantMatch: true},
		{name: "max exact values", query: many("search.id", MaxValues) + "&mode=exact", record: map[string]string{"id": "vj"}, wantMatch: true},

		// Errors: modes.
		{name: "mode similar_to", query: "search=a&mode=similar_to", wantErr: true},
		{name: "mode posix", query: "search=a&mode=posix", wantErr: true},
		{name: "mode.field posix", query: "search.name=a&mode.name=posix", wantErr: true},
		{name: "mode unknown", query: "search=a&mode=regex", wantErr: true},
		{name: "mode empty", query: "search=a&mode=", wantErr: true},
		{name: "mode uppercase", query: "search=a&mode=LIKE", wantErr: true},
		{name: "mode conflicting repeats", query: "search=a&mode=like&mode=exact", wantErr: true},
		{name: "mode without search still validated", query: "mode=bogus", wantErr: true},

		// Errors: joint and isCaseSensitive.
		{name: "joint unknown", query: "search=a&joint=xor", wantErr: true},
		{name: "jointMode unknown", query: "search=a&jointMode=AND", wantErr: true},
		{name: "joint and jointMode conflict", query: "search=a&joint=and&jointMode=or", wantErr: true},
		{name: "joint conflicting repeats", query: "search=a&joint=and&joint=or", wantErr: true},
		{name: "isCaseSensitive invalid", query: "search=a&isCaseSensitive=maybe", wantErr: true},
		{name: "isCaseSensitive empty", query: "search=a&isCaseSensitive=", wantErr: true},

		// Errors: fields.
		{name: "unknown field", query: "search.password=x", wantErr: true},
		{name: "unknown mode field", query: "search.name=x&mode.password=exact", wantErr: true},
		{name: "empty field", query: "search.=x", wantErr: true},
		{name: "empty mode field", query: "mode.=exact", wantErr: true},
		{name: "deep path", query: "search.name.first=x", wantErr: true},
		{name: "deep path unknown", query: "search.foo.bar=x", wantErr: true},
		{name: "nested too deep", query: "search.customData.a.b=x", wantErr: true},
		{name: "nested empty key", query: "search.customData.=x", wantErr: true},
		{name: "nested prefix alone", query: "search.customData=x", wantErr: true},
		{name: "mode nested too deep", query: "search=x&mode.customData.a.b=exact", wantErr: true},
		{name: "field name case matters", query: "search.Username=x", wantErr: true},

		// Errors: values.
		{name: "general empty value", query: "search=", wantErr: true},
		{name: "general bare key", query: "search", wantErr: true},
		{name: "field empty value", query: "search.name=", wantErr: true},
		{name: "exact empty among values", query: "search.id=u1&search.id=&mode=exact", wantErr: true},
		{name: "like several values", query: "search.id=u1&search.id=u2", wantErr: true},
		{name: "general like several values", query: "search=a&search=b", wantErr: true},
		{name: "like trailing backslash", query: "search.name=abc%5C", wantErr: true},
		{name: "value too long", query: "search.name=" + long + "a", wantErr: true},
		{name: "exact value too long", query: "search.name=" + long + "a&mode=exact", wantErr: true},
		{name: "too many exact values", query: many("search.id", MaxValues+1) + "&mode=exact", wantErr: true},
		{name: "too many items", query: tooManyItems(), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatalf("bad test query %q: %v", tt.query, err)
			}
			q, err := Parse(v, testOptions())
			if tt.wantErr {
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("Parse(%q) error = %v, want *Error", tt.query, err)
				}
				if se.Param == "" || se.Reason == "" {
					t.Errorf("Parse(%q) error %#v lacks Param or Reason", tt.query, se)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) unexpected error: %v", tt.query, err)
			}
			if got := q.Match(getter(tt.record)); got != tt.wantMatch {
				t.Errorf("Parse(%q).Match(%v) = %v, want %v", tt.query, tt.record, got, tt.wantMatch)
			}
		})
	}
}

// tooManyItems returns a query with MaxItems+1 search keys, all valid on
// their own: the general key, the five fields, and nested keys.
func tooManyItems() string {
	keys := []string{"search=a", "search.id=a", "search.primaryEmail=a", "search.primaryPhone=a", "search.username=a", "search.name=a"}
	for i := len(keys); i <= MaxItems; i++ {
		keys = append(keys, "search.customData.k"+string(rune('a'+i))+"=a")
	}
	return strings.Join(keys, "&")
}

// TestMaxItemsAllowed checks that the limit is inclusive.
func TestMaxItemsAllowed(t *testing.T) {
	v, _ := url.ParseQuery(tooManyItems())
	v.Del("search")
	q, err := Parse(v, testOptions())
	if err != nil {
		t.Fatalf("Parse with %d items: %v", len(v), err)
	}
	if len(q.Items) != MaxItems {
		t.Errorf("got %d items, want %d", len(q.Items), MaxItems)
	}
}

// TestErrorDetails checks which key an error names and that the reason
// helps the client fix the request.
func TestErrorDetails(t *testing.T) {
	tests := []struct {
		query      string
		wantParam  string
		wantReason []string // substrings
	}{
		{"search=a&mode=similar_to", "mode", []string{"similar_to", "not supported by idbolt", "like", "exact"}},
		{"search.name=a&mode.name=posix", "mode.name", []string{"posix", "not supported by idbolt"}},
		{"search=a&mode=regex", "mode", []string{`"regex"`, "like", "exact"}},
		{"search=a&joint=xor", "joint", []string{"or", "and"}},
		{"search=a&joint=and&jointMode=or", "jointMode", []string{"joint"}},
		{"search=a&isCaseSensitive=maybe", "isCaseSensitive", []string{"true", "false"}},
		{"search.password=x", "search.password", []string{`"password"`, "id, primaryEmail, primaryPhone, username, name, customData.<key>"}},
		{"search.name=x&mode.password=exact", "mode.password", []string{"password", "username"}},
		{"search.foo.bar=x", "search.foo.bar", []string{"customData"}},
		{"search.customData.a.b=x", "search.customData.a.b", []string{"single nested key"}},
		{"search.customData=x", "search.customData", []string{"nested key"}},
		{"search.id=1&search.id=2", "search.id", []string{"exactly one value", "exact"}},
		{"search.name=abc%5C", "search.name", []string{"backslash"}},
		{"search=" + strings.Repeat("x", MaxValueLen+1), "search", []string{"too long", "256"}},
		{tooManyItems(), "search.username", []string{"too many", "20"}},
	}
	for _, tt := range tests {
		v, _ := url.ParseQuery(tt.query)
		_, err := Parse(v, testOptions())
		se, ok := err.(*Error)
		if !ok {
			t.Errorf("Parse(%.40q) error = %v, want *Error", tt.query, err)
			continue
		}
		if se.Param != tt.wantParam {
			t.Errorf("Parse(%.40q) Param = %q, want %q", tt.query, se.Param, tt.wantParam)
		}
		for _, sub := range tt.wantReason {
			if !strings.Contains(se.Reason, sub) {
				t.Errorf("Parse(%.40q) Reason = %q, want it to contain %q", tt.query, se.Reason, sub)
			}
		}
		if !strings.Contains(se.Error(), tt.wantParam) || !strings.Contains(se.Error(), se.Reason) {
			t.Errorf("Error() = %q, want Param and Reason in it", se.Error())
		}
	}
}

// TestErrorEchoBounded checks that an error does not echo an arbitrarily
// large client value back.
func TestErrorEchoBounded(t *testing.T) {
	v := url.Values{"mode": {strings.Repeat("z", 10000)}}
	_, err := Parse(v, testOptions())
	if err == nil || len(err.Error()) > 300 {
		t.Errorf("error = %.100v (len %d), want a short error", err, len(err.Error()))
	}
}

// TestParseQueryShape checks the parsed form: sorted items, modes, values,
// and that Parse copies what it keeps.
func TestParseQueryShape(t *testing.T) {
	v := url.Values{
		"search.username":        {"al%"},
		"search":                 {"x"},
		"search.id":              {"a", "b"},
		"search.customData.plan": {"pro"},
		"mode.id":                {"exact"},
		"joint":                  {"and"},
		"isCaseSensitive":        {"true"},
		"page":                   {"3"},
	}
	opts := testOptions()
	q, err := Parse(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		field string
		mode  Mode
		vals  string
	}{
		{"", ModeLike, "x"},
		{"customData.plan", ModeLike, "pro"},
		{"id", ModeExact, "a,b"},
		{"username", ModeLike, "al%"},
	}
	if len(q.Items) != len(want) {
		t.Fatalf("got %d items, want %d: %+v", len(q.Items), len(want), q.Items)
	}
	for i, w := range want {
		it := q.Items[i]
		if it.Field != w.field || it.Mode != w.mode || strings.Join(it.Values, ",") != w.vals {
			t.Errorf("item %d = %q %q %q, want %q %q %q", i, it.Field, it.Mode, it.Values, w.field, w.mode, w.vals)
		}
	}
	if !q.And || !q.CaseSensitive || q.Empty() {
		t.Errorf("And=%v CaseSensitive=%v Empty=%v, want true true false", q.And, q.CaseSensitive, q.Empty())
	}

	// Mutating the inputs afterwards must not change the query.
	v["search.id"][0] = "zzz"
	opts.Fields[0] = "other"
	if got := q.Items[2].Values[0]; got != "a" {
		t.Errorf("item value = %q after mutating the url.Values, want %q", got, "a")
	}
	q2 := Query{Items: q.Items[:1], fields: q.fields}
	if !q2.Match(getter(map[string]string{"id": "X"})) {
		t.Error("general item lost its fields after mutating Options.Fields")
	}
}

func TestEmpty(t *testing.T) {
	q, err := Parse(url.Values{"page": {"1"}}, testOptions())
	if err != nil || !q.Empty() {
		t.Fatalf("Parse = %+v, %v; want empty query", q, err)
	}
	if !(Query{}).Empty() || !(Query{}).Match(getter(nil)) {
		t.Error("zero Query must be empty and match everything")
	}
	if (Query{Items: []Item{{Field: "id", Values: []string{"%"}}}}).Empty() {
		t.Error("query with an item reported empty")
	}
}

// TestHandBuiltQuery checks that a Query not built by Parse still works,
// compiling its patterns on the fly.
func TestHandBuiltQuery(t *testing.T) {
	rec := getter(map[string]string{"id": "u1", "name": "Bob"})
	tests := []struct {
		name string
		q    Query
		want bool
	}{
		{"like", Query{Items: []Item{{Field: "name", Mode: ModeLike, Values: []string{"b%"}}}}, true},
		{"empty mode is like", Query{Items: []Item{{Field: "name", Values: []string{"b_b"}}}}, true},
		{"case-sensitive", Query{CaseSensitive: true, Items: []Item{{Field: "name", Values: []string{"b%"}}}}, false},
		{"exact", Query{Items: []Item{{Field: "id", Mode: ModeExact, Values: []string{"x", "U1"}}}}, true},
		{"malformed pattern never matches", Query{Items: []Item{{Field: "name", Values: []string{`Bob\`}}}}, false},
		{"like with two values never matches", Query{Items: []Item{{Field: "name", Values: []string{"Bob", "Bob"}}}}, false},
		{"unknown mode never matches", Query{Items: []Item{{Field: "name", Mode: "posix", Values: []string{"Bob"}}}}, false},
		{"general without fields", Query{Items: []Item{{Values: []string{"Bob"}}}}, false},
		{"and", Query{And: true, Items: []Item{{Field: "name", Values: []string{"bob"}}, {Field: "id", Values: []string{"u2"}}}}, false},
		{"or", Query{Items: []Item{{Field: "name", Values: []string{"bob"}}, {Field: "id", Values: []string{"u2"}}}}, true},
	}
	for _, tt := range tests {
		if got := tt.q.Match(rec); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCaseSensitivityToggle checks that the compiled patterns do not bake
// in case sensitivity, so flipping CaseSensitive after Parse is honoured.
func TestCaseSensitivityToggle(t *testing.T) {
	q, err := Parse(url.Values{"search.name": {"bob%"}}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	rec := getter(map[string]string{"name": "Bobby"})
	if !q.Match(rec) {
		t.Error("case-insensitive query did not match")
	}
	q.CaseSensitive = true
	if q.Match(rec) {
		t.Error("case-sensitive query matched")
	}
}

func TestMatchDoesNotAllocate(t *testing.T) {
	q, err := Parse(url.Values{"search": {"%foo%"}, "search.id": {"a", "b"}, "mode.id": {"exact"}}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	rec := benchRecord()
	get := getter(rec)
	if n := testing.AllocsPerRun(100, func() { q.Match(get) }); n != 0 {
		t.Errorf("Match allocates %v times per call, want 0", n)
	}
}

func benchRecord() map[string]string {
	return map[string]string{
		"id":           "Vf3kLm9QpZ2x",
		"primaryEmail": "jane.doe@example.org",
		"primaryPhone": "+15551234567",
		"username":     "jane_doe",
		"name":         "Jane Doe, Head of Engineering",
	}
}

// BenchmarkMatch measures a typical substring search over the five user
// fields, on a record that matches none of them (the worst common case:
// every field is tried).
func BenchmarkMatch(b *testing.B) {
	q, err := Parse(url.Values{"search": {"%foo%"}}, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	get := getter(benchRecord())
	b.ReportAllocs()
	for b.Loop() {
		if q.Match(get) {
			b.Fatal("unexpected match")
		}
	}
}
