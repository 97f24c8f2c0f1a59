package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestVerificationTarget_Key(t *testing.T) {
	for _, tc := range []struct {
		name              string
		in                VerificationTarget
		kind, key, detail string
	}{
		{"Email", VerificationTarget{Email: "Jane@Example.COM"}, ConnectorEmail, "e:jane@example.com", ""},
		{"PhoneDigits", VerificationTarget{Phone: "4915550100"}, ConnectorSms, "p:4915550100", ""},
		{"PhonePlus", VerificationTarget{Phone: "+4915550100"}, ConnectorSms, "p:4915550100", ""},
		{"PhoneNotANumberKeptAsDigits", VerificationTarget{Phone: "123"}, ConnectorSms, "p:123", ""},
		{"Neither", VerificationTarget{}, "", "", "verification_code.phone_email_empty"},
		{"Both", VerificationTarget{Email: "a@b.co", Phone: "4915550100"}, "", "", "guard.invalid_input"},
		{"EmailNoAt", VerificationTarget{Email: "jane.example.com"}, "", "", "guard.invalid_input"},
		{"EmailSpace", VerificationTarget{Email: "jane doe@example.com"}, "", "", "guard.invalid_input"},
		{"EmailControl", VerificationTarget{Email: "jane\x00@example.com"}, "", "", "guard.invalid_input"},
		{"EmailTooLong", VerificationTarget{Email: strings.Repeat("a", 300) + "@example.com"}, "", "", "guard.invalid_input"},
		{"PhoneLetters", VerificationTarget{Phone: "49155O0100"}, "", "", "guard.invalid_input"},
		{"PhoneSpaces", VerificationTarget{Phone: "49 155 50100"}, "", "", "guard.invalid_input"},
		{"PhonePlusOnly", VerificationTarget{Phone: "+"}, "", "", "guard.invalid_input"},
		{"PhoneTooLong", VerificationTarget{Phone: strings.Repeat("1", 21)}, "", "", "guard.invalid_input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, _, key, err := tc.in.key()
			if tc.detail != "" {
				var se *Error
				if !errors.As(err, &se) || se.Code != EINVALID || se.Detail != tc.detail {
					t.Fatalf("err %v, want EINVALID %s", err, tc.detail)
				}
				return
			}
			if err != nil || kind != tc.kind || key != tc.key {
				t.Errorf("got %q %q %v, want %q %q", kind, key, err, tc.kind, tc.key)
			}
		})
	}
}

// FuzzVerificationTarget: no recipient panics the parser; one it accepts
// has a key of its kind, and a phone's key is digits.
func FuzzVerificationTarget(f *testing.F) {
	f.Add("jane@example.com", "")
	f.Add("", "+4915550100")
	f.Add("", "+")
	f.Add("a@b.c", "1")
	f.Fuzz(func(t *testing.T, email, phone string) {
		kind, _, key, err := VerificationTarget{Email: email, Phone: phone}.key()
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("a refusal is not EINVALID: %v", err)
			}
			return
		}
		switch kind {
		case ConnectorEmail:
			if !strings.HasPrefix(key, "e:") || key != strings.ToLower(key) {
				t.Fatalf("email key %q", key)
			}
		case ConnectorSms:
			if d := strings.TrimPrefix(key, "p:"); d == key || d == "" || strings.Trim(d, "0123456789") != "" {
				t.Fatalf("phone key %q", key)
			}
		default:
			t.Fatalf("kind %q", kind)
		}
	})
}

// TestVerificationCodes_Store: the code is stored only as its keyed hash,
// belongs to its tenant, and a recipient idle for an hour is swept by a
// later send.
func TestVerificationCodes_Store(t *testing.T) {
	var mu sync.Mutex
	now := testNow
	db := mustOpenClock(t, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := context.Background()
	for _, tenant := range []string{DefaultTenant, "other"} {
		if _, err := db.CreateConnector(ctx, tenant, ConnectorCreate{FactoryID: FactoryHTTPEmail,
			Config: map[string]any{"endpoint": "https://mail.example.com/"}}); err != nil {
			t.Fatal(err)
		}
	}
	jane := VerificationTarget{Email: "jane@example.com"}
	code, c, err := db.CreateVerificationCode(ctx, DefaultTenant, jane)
	if err != nil || len(code) != 6 || c.FactoryID != FactoryHTTPEmail {
		t.Fatalf("create: %q %v %v", code, c, err)
	}
	raw := func(tenant string) (records map[string]string, times int) {
		records = map[string]string{}
		if err := db.bolt.View(func(btx *bbolt.Tx) error {
			tb := btx.Bucket(bucketTenants).Bucket([]byte(tenant))
			tb.Bucket(bucketVerificationCodes).ForEach(func(k, v []byte) error { records[string(k)] = string(v); return nil })
			return tb.Bucket(bucketVerificationCodesTime).ForEach(func(k, v []byte) error { times++; return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return records, times
	}
	records, times := raw(DefaultTenant)
	if len(records) != 1 || times != 1 || strings.Contains(records["e:jane@example.com"], `"`+code+`"`) {
		t.Errorf("stored %v (%d in the time index)", records, times)
	}
	if err := db.VerifyVerificationCode(ctx, "other", jane, code); ErrorCode(err) != EINVALID {
		t.Errorf("verified in another tenant: %v", err)
	}

	// An hour later, the next send (to anyone) removes jane's record.
	advance(time.Hour)
	if _, _, err := db.CreateVerificationCode(ctx, DefaultTenant, VerificationTarget{Phone: "4915550100"}); ErrorCode(err) != ENOTIMPLEMENTED {
		t.Fatalf("SMS without an SMS connector: %v", err)
	}
	if _, _, err := db.CreateVerificationCode(ctx, DefaultTenant, VerificationTarget{Email: "sam@example.com"}); err != nil {
		t.Fatal(err)
	}
	records, times = raw(DefaultTenant)
	if _, ok := records["e:jane@example.com"]; ok || len(records) != 1 || times != 1 {
		t.Errorf("after the sweep: %v (%d in the time index)", records, times)
	}
	if err := db.VerifyVerificationCode(ctx, DefaultTenant, jane, code); ErrorCode(err) != EINVALID {
		t.Errorf("a swept code verified: %v", err)
	}
}
