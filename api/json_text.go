package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// encoding/json replaces invalid UTF-8 in a string, and an escaped lone
// UTF-16 surrogate (\ud800), with U+FFFD without a word: a name or a
// customData value would be stored other than it was sent. decodeJSONMax
// refuses such a body with a 400 naming the field. The check on every body
// is one pass of utf8.Valid and a search for \u (then a scan of the escapes,
// if there are any); only a body that fails it is walked token by token to
// find the field.

// mayHaveBadText reports whether data may hold invalid UTF-8 or an unpaired
// escaped surrogate. False means it certainly holds neither; on a valid JSON
// text the answer is exact, since a backslash occurs only inside strings.
func mayHaveBadText(data []byte) bool {
	if !utf8.Valid(data) {
		return true
	}
	if !bytes.Contains(data, []byte(`\u`)) {
		return false
	}
	return badJSONString(data)
}

// badTextPath returns the path of the first string of the JSON text data
// (a key or a value) that holds invalid UTF-8 or an unpaired escaped
// surrogate, in the form users[3].customData.note; a key is named by its
// own path. ok is false when there is none, or when data is not valid JSON
// before such a string (the decoder then reports the syntax error).
func badTextPath(data []byte) (path string, ok bool) {
	type frame struct {
		path    string
		object  bool
		wantKey bool   // in an object: the next string is a key
		key     string // in an object: the key of the current value
		index   int    // in an array: the index of the current value
	}
	var stack []frame
	// valuePath is the path of the value about to be read.
	valuePath := func() string {
		if len(stack) == 0 {
			return "(body)"
		}
		f := &stack[len(stack)-1]
		if f.object {
			return joinPath(f.path, f.key)
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	// valueDone moves the innermost container past the value just read.
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		f := &stack[len(stack)-1]
		if f.object {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		raw := data[start:dec.InputOffset()]
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				path := "" // the body itself: its fields are named without a prefix
				if len(stack) > 0 {
					path = valuePath()
				}
				stack = append(stack, frame{path: path, object: v == '{', wantKey: true})
				continue
			}
			stack = stack[:len(stack)-1]
			valueDone()
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				f := &stack[n-1]
				f.key, f.wantKey = v, false
				if badJSONString(raw) {
					return joinPath(f.path, v), true
				}
				continue
			}
			if badJSONString(raw) {
				return valuePath(), true
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// badJSONString reports whether raw, one string token of a JSON text with
// the separators before it, holds invalid UTF-8 or an escaped surrogate
// that is not part of a pair.
func badJSONString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return true
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw, i+1)
		if !ok {
			continue // the decoder has already accepted the token; cannot happen
		}
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low surrogate without a high one
		case r >= 0xd800 && r <= 0xdbff:
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return true
			}
			low, ok := hex4(raw, i+3)
			if !ok || low < 0xdc00 || low > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 parses the four hex digits at raw[i:].
func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw[i:i+4]), 16, 32)
	return rune(n), err == nil
}
