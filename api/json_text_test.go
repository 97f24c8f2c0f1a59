package api

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestJSONText_BadTextPath(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // "" when there is no bad string
	}{
		{"clean", `{"name":"Zoë","customData":{"a":[1,"x",{"b":"日本"}]}}`, ""},
		{"emoji pair", `{"name":"\ud83d\ude80 rocket"}`, ""},
		{"escaped backslash before u", `{"name":"C:\\ud800"}`, ""},
		{"replacement character", "{\"name\":\"a\uFFFDb\",\"n\":\"\\ufffd\"}", ""},
		{"top-level value", "{\"name\":\"caf\xe9\"}", "name"},
		{"second field", "{\"username\":\"ok\", \"name\" : \"\xff\"}", "name"},
		{"nested object", "{\"customData\":{\"profile\":{\"note\":\"\xc3\"}}}", "customData.profile.note"},
		{"array element", "{\"roleIds\":[\"a\",\"b\",\"\xed\xa0\x80\"]}", "roleIds[2]"},
		{"object in array", "{\"users\":[{\"username\":\"a\"},{\"username\":\"b\",\"name\":\"\xfe\"}]}", "users[1].name"},
		{"after nested containers", "{\"a\":{\"b\":[1,[2,3],{}]},\"c\":[],\"d\":\"\x80\"}", "d"},
		{"bad key", "{\"customData\":{\"k\xffey\":1}}", "customData.k\uFFFDey"},
		{"lone high surrogate", `{"name":"a\ud800b"}`, "name"},
		{"lone low surrogate", `{"customData":{"x":"\uDC00"}}`, "customData.x"},
		{"high then non-low", `{"name":"\ud800\u0041"}`, "name"},
		{"high at the end", `{"name":"\ud83d"}`, "name"},
		{"top-level array", "[\"\xff\"]", "[0]"},
		{"syntax error first", "{\"name\":,\"x\":\"\xff\"}", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := badTextPath([]byte(tc.in))
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("badTextPath = %q, %v; want %q", got, ok, tc.want)
			}
			if json.Valid([]byte(tc.in)) && mayHaveBadText([]byte(tc.in)) != (tc.want != "") {
				t.Errorf("mayHaveBadText = %v", !(tc.want != ""))
			}
		})
	}
	if mayHaveBadText([]byte(`{"name":"plain \u00e9 text"}`)) {
		t.Errorf("mayHaveBadText = true for a clean body")
	}
}

// FuzzJSONText_BadTextPath checks that the finder never panics, finds a bad
// string in every valid JSON text that is not valid UTF-8, and finds
// nothing where the decoder would change no string.
func FuzzJSONText_BadTextPath(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, "{\"a\":\"\xff\"}", `{"a":["\ud800"]}`, `{"a":{"b":[1,{"c":"\ud83d\ude80"}]}}`,
		"{\"\xff\":1}", `[1,"x"]`, `"\udc00"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path, found := badTextPath(data)
		if found && !mayHaveBadText(data) {
			t.Fatalf("%q: found %q but the quick check says clean", data, path)
		}
		if !json.Valid(data) {
			return
		}
		if mayHaveBadText(data) != found {
			t.Fatalf("%q: the quick check says %v, the walk %v (%q)", data, !found, found, path)
		}
		if !utf8.Valid(data) && !found {
			t.Fatalf("%q: invalid UTF-8 in valid JSON not found", data)
		}
		if !found {
			// Every string decodes to what was sent: re-encoding the decoded
			// value and decoding it again gives the same value.
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatal(err)
			}
			if strings.ContainsRune(string(data), utf8.RuneError) || strings.Contains(strings.ToLower(string(data)), `\ufffd`) {
				return // a U+FFFD that was sent as such
			}
			out, _ := json.Marshal(v)
			if strings.ContainsRune(string(out), utf8.RuneError) {
				t.Fatalf("%q: decodes with U+FFFD but nothing was found", data)
			}
		}
	})
}
