package store

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// sampleHookEvent is an event with every field set, and a user record with
// a password, custom data and a profile.
func sampleHookEvent() (hookEventRecord, *userRecord) {
	name, email := "Ada", "ada@example.com"
	rec := hookEventRecord{ID: "evt123", Event: HookUserCreated, CreatedAt: 1764900000123,
		Hooks: []string{"h1", "h2", "h3"}, Path: "/api/users", Method: "POST", Route: "/api/users",
		Status: 200, Params: map[string]string{"userId": "u1", "b": "2"},
		IP: "203.0.113.7", UserAgent: "curl/8", AppID: "m-default"}
	u := &userRecord{ID: "u1", Seq: 7, Name: &name, PrimaryEmail: &email,
		CustomData: map[string]any{"plan": "gold", "n": 3.0}, Profile: Profile{GivenName: "Ada"},
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		CreatedAt:    1764900000000, UpdatedAt: 1764900000123}
	return rec, u
}

// TestHookEventCodec_RoundTrip: every field of an event comes back as
// written, for a user and for a JSON-encoded kind; the user's password hash
// is not in the stored bytes, and the payload still says the user has one.
func TestHookEventCodec_RoundTrip(t *testing.T) {
	rec, u := sampleHookEvent()
	v, err := appendHookEventRecord(nil, &rec, hookEventData{kind: "user", user: u})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(v), "argon2id") {
		t.Fatal("the stored event holds the user's password hash")
	}
	got, data, err := decodeHookEventRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	want := rec
	want.Kind = "user"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
	wantUser := u.toUser()
	if !reflect.DeepEqual(data, wantUser) {
		t.Errorf("user\n got %+v\nwant %+v", data, wantUser)
	}
	if !data.(*User).HasPassword {
		t.Error("hasPassword lost")
	}
	hooks, err := hookEventHooks(v)
	if err != nil || !reflect.DeepEqual(hooks, rec.Hooks) {
		t.Errorf("hooks %v, %v; want %v", hooks, err, rec.Hooks)
	}

	role := &Role{ID: "r1", Name: "admin", Description: "all", Type: "User"}
	rec = hookEventRecord{ID: "evt2", Event: "Role.Created", Hooks: []string{"h"}, Status: 201}
	v, err = appendHookEventRecord(nil, &rec, hookEventData{kind: "role", v: role})
	if err != nil {
		t.Fatal(err)
	}
	if _, data, err = decodeHookEventRecord(v); err != nil || !reflect.DeepEqual(data, role) {
		t.Errorf("role %+v, %v; want %+v", data, err, role)
	}

	scopes := []*Scope{{ID: "s1", Name: "read"}, {ID: "s2", Name: "write"}}
	rec = hookEventRecord{ID: "evt4", Event: HookRoleScopesUpdated, Hooks: []string{"h"}, Status: 201}
	if v, err = appendHookEventRecord(nil, &rec, hookEventData{kind: hookDataScopes, v: scopes}); err != nil {
		t.Fatal(err)
	}
	if _, data, err = decodeHookEventRecord(v); err != nil || !reflect.DeepEqual(data, &scopes) {
		t.Errorf("scopes %+v, %v; want %+v", data, err, scopes)
	}

	rec = hookEventRecord{ID: "evt3", Event: "User.Deleted", Hooks: []string{"h"}}
	v, err = appendHookEventRecord(nil, &rec, hookEventData{})
	if err != nil {
		t.Fatal(err)
	}
	if got, data, err = decodeHookEventRecord(v); err != nil || data != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("no data: %+v, %v, %v", got, data, err)
	}
}

// TestHookEventCodec_ReadsJSON: an event stored as JSON by an earlier
// version decodes to what the binary form of the same event does, so an
// upgrade delivers the outbox it finds.
func TestHookEventCodec_ReadsJSON(t *testing.T) {
	rec, u := sampleHookEvent()
	binary, err := appendHookEventRecord(nil, &rec, hookEventData{kind: "user", user: u})
	if err != nil {
		t.Fatal(err)
	}
	legacy := rec
	legacy.Kind = "user"
	if legacy.Data, err = json.Marshal(u.toUser()); err != nil {
		t.Fatal(err)
	}
	old, err := json.Marshal(&legacy)
	if err != nil {
		t.Fatal(err)
	}
	gotOld, dataOld, err := decodeHookEventRecord(old)
	if err != nil {
		t.Fatal(err)
	}
	gotNew, dataNew, err := decodeHookEventRecord(binary)
	if err != nil {
		t.Fatal(err)
	}
	gotOld.Data = nil
	if !reflect.DeepEqual(gotOld, gotNew) {
		t.Errorf("records differ\n json %+v\n binary %+v", gotOld, gotNew)
	}
	a, _ := json.Marshal(dataOld)
	b, _ := json.Marshal(dataNew)
	if string(a) != string(b) {
		t.Errorf("payload data differs\n json %s\n binary %s", a, b)
	}
	if hooks, err := hookEventHooks(old); err != nil || !reflect.DeepEqual(hooks, rec.Hooks) {
		t.Errorf("hooks of the JSON form %v, %v", hooks, err)
	}
}

// TestHookEventCodec_Truncated: every proper prefix of a record is refused
// with an error, never read as a shorter event.
func TestHookEventCodec_Truncated(t *testing.T) {
	rec, u := sampleHookEvent()
	v, err := appendHookEventRecord(nil, &rec, hookEventData{kind: "user", user: u})
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(v) {
		if got, data, err := decodeHookEventRecord(v[:n]); err == nil {
			t.Fatalf("prefix of %d of %d bytes decoded: %+v %+v", n, len(v), got, data)
		}
	}
}

// FuzzHookEventCodec: no stored bytes, however corrupt, panic the reader,
// and every event the writer makes reads back as written.
func FuzzHookEventCodec(f *testing.F) {
	rec, u := sampleHookEvent()
	v, err := appendHookEventRecord(nil, &rec, hookEventData{kind: "user", user: u})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v, "id", "User.Created", "/api/users", "k", "v", 200)
	f.Add([]byte(`{"id":"x","hooks":["h"],"kind":"role","data":{"id":"r"}}`), "", "", "", "", "", 0)
	f.Fuzz(func(t *testing.T, raw []byte, id, event, path, param, value string, status int) {
		decodeHookEventRecord(raw) //nolint:errcheck // must only not panic
		hookEventHooks(raw)        //nolint:errcheck

		rec := hookEventRecord{ID: id, Event: event, CreatedAt: int64(status) * -7, Hooks: []string{id, path},
			Path: path, Method: "PATCH", Route: path, Status: max(status, 0) % 1000,
			Params: map[string]string{param: value}, IP: value, UserAgent: param, AppID: event}
		v, err := appendHookEventRecord(nil, &rec, hookEventData{})
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeHookEventRecord(v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, rec) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, rec)
		}
	})
}
