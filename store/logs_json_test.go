package store

import (
	"encoding/json"
	"testing"
)

func TestAuditPayload_AppendJSONMatchesEncodingJSON(t *testing.T) {
	payloads := []AuditPayload{
		{Key: "k", Result: "Success"},
		{Key: "ExchangeTokenBy.ClientCredentials", Result: "Error", IP: "::1", UserAgent: "curl/8 <x> & \"q\"",
			ApplicationID: "app", Params: map[string]string{"scope": "all", "b": "\x00\x1f\u2028", "a": "\xff\xfe"},
			Error: map[string]string{"error": "invalid_client"}, TokenTypes: []string{"AccessToken"}},
		{Key: "Management.User.Delete", Result: "Success", UserID: "u1", Target: &AuditTarget{Type: "t", ID: "i\\d"}},
		{Key: "Management.User.Update", Result: "Success", UserID: "u1", ActorUserID: "ada<01>", TokenTypes: []string{"x"}},
	}
	for _, p := range payloads {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON\n got %s\nwant %s", got, want)
		}
	}
}

func FuzzAuditPayloadJSON(f *testing.F) {
	f.Add("ExchangeTokenBy.ClientCredentials", "curl/8", "scope", "all \u2029 <&>", "\xff")
	f.Fuzz(func(t *testing.T, key, ua, pk, pv, other string) {
		p := AuditPayload{Key: key, Result: "Error", UserAgent: ua, ApplicationID: other,
			Params: map[string]string{pk: pv, other: ua}, Error: map[string]string{"error": other}, TokenTypes: []string{pv}, ActorUserID: pk}
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("appendJSON\n got %q\nwant %q", got, want)
		}
	})
}

func BenchmarkAuditPayloadJSON(b *testing.B) {
	p := AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success", IP: "127.0.0.1", UserAgent: "Go-http-client/1.1",
		ApplicationID: "apitest-admin", Params: map[string]string{"grant_type": "client_credentials", "resource": "https://default.logto.app/api", "scope": "all"},
		TokenTypes: []string{"AccessToken"}}
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			json.Marshal(p)
		}
	})
	b.Run("appendJSON", func(b *testing.B) {
		for b.Loop() {
			p.appendJSON(make([]byte, 0, 512))
		}
	})
}
