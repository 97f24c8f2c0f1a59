package auth

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// jsonStrings are strings whose JSON is easy to get wrong.
var jsonStrings = []string{"", "plain", `quo"te`, `back\slash`, "<script>&amp;", "tab\tnew\nline\r\b\f", "\x00\x01\x1f\x7f",
	"é ü 中文 🙂", "\u2028\u2029", "bad \xff\xfe utf-8", "\xed\xa0\x80 surrogate", "https://a.example/api?x=1&y=2"}

// TestAppendJSON: the hand-written JSON of the claims and of the token
// answer is encoding/json's, byte for byte.
func TestAppendJSON(t *testing.T) {
	now := time.Unix(1_800_000_000, 123)
	for _, s := range jsonStrings {
		for _, aud := range []jwt.Audience{nil, {s}, {"https://api", s}} {
			c := accessClaims{Claims: jwt.Claims{Issuer: s, Subject: s, Audience: aud, IssuedAt: jwt.NewNumericDate(now),
				Expiry: jwt.NewNumericDate(now.Add(time.Hour)), ID: s}, ClientID: s, Scope: s, OrganizationID: s, Act: &actClaim{Subject: s}, IssuedAtNanos: now.UnixNano()}
			sameJSON(t, c.appendJSON(nil), &c)
		}
		r := tokenResponse{AccessToken: s, TokenType: "Bearer", ExpiresIn: 3600, Scope: s}
		sameJSON(t, r.appendJSON(nil), &r)
	}
	c := accessClaims{Claims: jwt.Claims{NotBefore: jwt.NewNumericDate(now)}}
	sameJSON(t, c.appendJSON(nil), &c)
}

// sameJSON fails unless got is encoding/json's encoding of v or, where
// go-jose's own JSON package encodes a field (aud), means the same.
func sameJSON(t *testing.T, got []byte, v any) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, want) {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
