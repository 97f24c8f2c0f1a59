package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idbolt/idbolt/api/apitest"
)

const vcPath = "/api/verification-codes"

// lastCode returns the code of the last message rc received, checking
// that it is Logto's HTTP connector body for a Generic message to to.
func lastCode(t *testing.T, rc *connReceiver, to string) string {
	t.Helper()
	got := rc.received()
	if len(got) == 0 {
		t.Fatal("the connector received nothing")
	}
	var body struct {
		To, Type string
		Payload  map[string]any
	}
	if err := json.Unmarshal(got[len(got)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	code, _ := body.Payload["code"].(string)
	if body.To != to || body.Type != "Generic" || !regexp.MustCompile(`^[0-9]{6}$`).MatchString(code) || len(body.Payload) != 1 {
		t.Fatalf("message %s", got[len(got)-1].Body)
	}
	return code
}

// wrongCode returns a six-digit code that is not code.
func wrongCode(code string) string {
	n, _ := strconv.Atoi(code)
	return strconv.Itoa(100000 + (n+1)%900000)
}

func TestVerificationCodes_NoConnector(t *testing.T) {
	e := newEnv(t)
	e.fail(t, "POST", vcPath, map[string]any{"email": "a@example.com"}, http.StatusNotImplemented, "connector.not_found")
	e.fail(t, "POST", vcPath, map[string]any{"phone": "4915550100"}, http.StatusNotImplemented, "connector.not_found")
	e.fail(t, "POST", vcPath+"/verify", map[string]any{"email": "a@example.com", "verificationCode": "123456"}, 400, "verification_code.not_found")
}

func TestVerificationCodes_BadRequests(t *testing.T) {
	e := newEnv(t)
	rc := startConnReceiver(t)
	e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": rc.URL}})
	for _, tc := range []struct {
		name, path string
		body       any
	}{
		{"Empty", vcPath, map[string]any{}},
		{"EmailNotEmail", vcPath, map[string]any{"email": "not-an-email"}},
		{"EmailEmpty", vcPath, map[string]any{"email": ""}},
		{"EmailNumber", vcPath, map[string]any{"email": 5}},
		{"PhoneLetters", vcPath, map[string]any{"phone": "call-me"}},
		{"PhoneTooLong", vcPath, map[string]any{"phone": strings.Repeat("1", 21)}},
		{"Both", vcPath, map[string]any{"email": "a@example.com", "phone": "4915550100"}},
		{"CodeOnCreate", vcPath, map[string]any{"email": "a@example.com", "verificationCode": "123456"}},
		{"VerifyNoCode", vcPath + "/verify", map[string]any{"email": "a@example.com"}},
		{"VerifyCodeNumber", vcPath + "/verify", map[string]any{"email": "a@example.com", "verificationCode": 123456}},
		{"VerifyNoRecipient", vcPath + "/verify", map[string]any{"verificationCode": "123456"}},
		{"NotObject", vcPath, []string{"a@example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fail(t, "POST", tc.path, tc.body, http.StatusBadRequest, "guard.invalid_input")
		})
	}
	if n := len(rc.received()); n != 0 {
		t.Errorf("refused requests sent %d messages", n)
	}
	// Without a token, neither route is reachable.
	if r := call(t, "POST", e.URL+vcPath, "", map[string]any{"email": "a@example.com"}); r.Status != http.StatusUnauthorized {
		t.Errorf("no token: %d", r.Status)
	}
}

// TestVerificationCodes_Email sends codes through the HTTP email connector
// on a clock the test moves: a code verifies once, for the recipient
// however its address is cased; wrong codes are refused and void it after
// ten; it expires after ten minutes; a new code replaces the old one.
func TestVerificationCodes_Email(t *testing.T) {
	e, c := invStart(t)
	rc := startConnReceiver(t)
	e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": rc.URL + "/mail"}})
	verify := func(email, code string, status int, want string) {
		t.Helper()
		body := map[string]any{"email": email, "verificationCode": code}
		if status == http.StatusNoContent {
			e.do(t, "POST", vcPath+"/verify", body, status, nil)
			return
		}
		e.fail(t, "POST", vcPath+"/verify", body, status, want)
	}

	t.Run("OnceAndCaseInsensitive", func(t *testing.T) {
		e.do(t, "POST", vcPath, map[string]any{"email": "Jane@Example.com"}, http.StatusNoContent, nil)
		code := lastCode(t, rc, "Jane@Example.com")
		verify("jane@example.com", wrongCode(code), 400, "verification_code.code_mismatch")
		verify("other@example.com", code, 400, "verification_code.not_found")
		verify("jane@example.com", code, http.StatusNoContent, "")
		verify("jane@example.com", code, 400, "verification_code.not_found")
	})
	t.Run("TriesVoidTheCode", func(t *testing.T) {
		e.do(t, "POST", vcPath, map[string]any{"email": "tries@example.com"}, http.StatusNoContent, nil)
		code := lastCode(t, rc, "tries@example.com")
		for i := 0; i < 10; i++ {
			verify("tries@example.com", wrongCode(code), 400, "verification_code.code_mismatch")
		}
		verify("tries@example.com", code, 400, "verification_code.exceed_max_try")
	})
	t.Run("Expires", func(t *testing.T) {
		e.do(t, "POST", vcPath, map[string]any{"email": "late@example.com"}, http.StatusNoContent, nil)
		code := lastCode(t, rc, "late@example.com")
		c.Add(10*time.Minute - time.Second)
		verify("late@example.com", wrongCode(code), 400, "verification_code.code_mismatch")
		c.Add(time.Second)
		verify("late@example.com", code, 400, "verification_code.expired")
	})
	t.Run("NewCodeReplacesOld", func(t *testing.T) {
		e.do(t, "POST", vcPath, map[string]any{"email": "twice@example.com"}, http.StatusNoContent, nil)
		first := lastCode(t, rc, "twice@example.com")
		c.Add(time.Minute)
		e.do(t, "POST", vcPath, map[string]any{"email": "twice@example.com"}, http.StatusNoContent, nil)
		second := lastCode(t, rc, "twice@example.com")
		if first != second {
			verify("twice@example.com", first, 400, "verification_code.code_mismatch")
		}
		verify("twice@example.com", second, http.StatusNoContent, "")
	})
	t.Run("SendFailure", func(t *testing.T) {
		failing := startConnReceiver(t, http.StatusServiceUnavailable)
		e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": failing.URL}})
		e.fail(t, "POST", vcPath, map[string]any{"email": "down@example.com"}, http.StatusBadGateway, "connector.general")
	})
}

// TestVerificationCodes_RateLimit: one code a minute and five an hour per
// recipient, refused with 429 and Retry-After; other recipients are not
// held back.
func TestVerificationCodes_RateLimit(t *testing.T) {
	e, c := invStart(t)
	rc := startConnReceiver(t)
	e.connCreate(t, map[string]any{"connectorId": "http-sms", "config": map[string]any{"endpoint": rc.URL}})
	send := func(phone string, status int) response {
		t.Helper()
		r := call(t, "POST", e.URL+vcPath, e.token, map[string]any{"phone": phone})
		if r.Status != status {
			t.Fatalf("send to %s: %d %s, want %d", phone, r.Status, r.Body, status)
		}
		return r
	}
	send("4915550100", http.StatusNoContent)
	// The same number written with a + is the same recipient.
	r := send("+4915550100", http.StatusTooManyRequests)
	if r.Code() != "request.message_rate_limited" || r.Header.Get("Retry-After") != "60" {
		t.Errorf("429: %s, Retry-After %q", r.Body, r.Header.Get("Retry-After"))
	}
	send("4915550101", http.StatusNoContent)
	for i := 0; i < 4; i++ {
		c.Add(time.Minute)
		send("4915550100", http.StatusNoContent)
	}
	c.Add(time.Minute)
	r = send("4915550100", http.StatusTooManyRequests) // the sixth in five minutes
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 55*60 || ra > 56*60 {
		t.Errorf("Retry-After %q, want about 55 minutes", r.Header.Get("Retry-After"))
	}
	if got := len(rc.received()); got != 6 {
		t.Errorf("the connector got %d messages, want 6", got)
	}
	// An hour after the first send, one more is allowed.
	c.Add(55 * time.Minute)
	e.token = apitest.Token(t, e.URL, "default", e.ClientID, e.ClientSecret, mgmtResource, "all")
	send("4915550100", http.StatusNoContent)
	code := lastCode(t, rc, "4915550100")
	e.do(t, "POST", vcPath+"/verify", map[string]any{"phone": "+4915550100", "verificationCode": code}, http.StatusNoContent, nil)
}

// TestVerificationCodes_SMTP sends a code through the SMTP connector to the
// in-test sink and verifies the code read from the email.
func TestVerificationCodes_SMTP(t *testing.T) {
	e := newEnv(t)
	sink := startSMTPSink(t, true, "u1", "p1")
	e.connCreate(t, map[string]any{"connectorId": "smtp", "config": map[string]any{
		"host": sink.Host(), "port": sink.Port(), "username": "u1", "password": "p1",
		"fromEmail": "no-reply@example.com", "rootCertificate": sink.CertPEM}})
	e.do(t, "POST", vcPath, map[string]any{"email": "sam@example.com"}, http.StatusNoContent, nil)
	mails := sink.received()
	if len(mails) != 1 || mails[0].To != "sam@example.com" || !strings.Contains(mails[0].Data, "Subject: Your verification code") {
		t.Fatalf("mails %+v", mails)
	}
	m := regexp.MustCompile(`code is ([0-9]{6})\.`).FindStringSubmatch(mails[0].Text())
	if m == nil {
		t.Fatalf("no code in %q", mails[0].Text())
	}
	e.do(t, "POST", vcPath+"/verify", map[string]any{"email": "sam@example.com", "verificationCode": m[1]}, http.StatusNoContent, nil)
}
