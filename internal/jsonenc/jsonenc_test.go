package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// jsonStrings are strings whose JSON is easy to get wrong.
var jsonStrings = []string{"", "plain", `quo"te`, `back\slash`, "<script>&amp;", "tab\tnew\nline\r\b\f", "\x00\x01\x1f\x7f",
	"é ü 中文 🙂", "\u2028\u2029", "bad \xff\xfe utf-8", "\xed\xa0\x80 surrogate", "https://a.example/api?x=1&y=2"}

// FuzzAppendString: any string comes out as encoding/json writes it.
func FuzzAppendString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}
