package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// connector is the wire shape of a connector, for assertions.
type connector struct {
	ID          string         `json:"id"`
	ConnectorID string         `json:"connectorId"`
	Type        string         `json:"type"`
	Target      string         `json:"target"`
	Config      map[string]any `json:"config"`
	Metadata    map[string]any `json:"metadata"`
	FormItems   []struct {
		Key            string `json:"key"`
		IsConfidential bool   `json:"isConfidential"`
	} `json:"formItems"`
}

func (e *env) connCreate(t testing.TB, body map[string]any) connector {
	t.Helper()
	var c connector
	e.do(t, "POST", "/api/connectors", body, http.StatusOK, &c)
	return c
}

func TestConnectors_Factories(t *testing.T) {
	e := newEnv(t)
	var list []struct {
		ID, Type, Target string
		Name             map[string]string
		ConfigTemplate   string
		FormItems        []map[string]any
		Platform         *string
	}
	e.do(t, "GET", "/api/connector-factories", nil, http.StatusOK, &list)
	var ids []string
	for _, f := range list {
		ids = append(ids, f.ID+":"+f.Type)
		if f.Type == "Social" {
			t.Errorf("factory %s is social: no sign-in flow, so none is offered", f.ID)
		}
		if len(f.FormItems) == 0 || f.Name["en"] == "" || !json.Valid([]byte(f.ConfigTemplate)) || f.Platform != nil {
			t.Errorf("factory %s: incomplete: %+v", f.ID, f)
		}
	}
	if got, want := strings.Join(ids, ","), "http-email:Email,http-sms:Sms,smtp:Email"; got != want {
		t.Errorf("factories %s, want %s", got, want)
	}
	var one map[string]any
	e.do(t, "GET", "/api/connector-factories/smtp", nil, http.StatusOK, &one)
	if one["id"] != "smtp" || one["type"] != "Email" {
		t.Errorf("GET smtp: %v", one)
	}
	if r := e.do(t, "GET", "/api/connector-factories/google", nil, http.StatusNotFound, nil); r.Code() != "entity.not_found" {
		t.Errorf("unknown factory: code %s", r.Code())
	}
}

func TestConnectors_CRUD(t *testing.T) {
	e := newEnv(t)
	rc := startConnReceiver(t)
	c := e.connCreate(t, map[string]any{"connectorId": "http-email",
		"config":   map[string]any{"endpoint": rc.URL + "/mail", "authorization": "Bearer crud-secret"},
		"metadata": map[string]any{"target": "my-mail", "name": map[string]string{"en": "Our mail"}}})
	if len(c.ID) != 12 || c.ConnectorID != "http-email" || c.Type != "Email" || c.Target != "my-mail" {
		t.Errorf("created: %+v", c)
	}
	if c.Config["endpoint"] != rc.URL+"/mail" || c.Config["authorization"] != store.ConfigMask {
		t.Errorf("config %v: the authorization must be masked", c.Config)
	}
	var got connector
	r := e.do(t, "GET", "/api/connectors/"+c.ID, nil, http.StatusOK, &got)
	if strings.Contains(string(r.Body), "crud-secret") || got.Config["authorization"] != store.ConfigMask {
		t.Errorf("GET shows the secret: %s", r.Body)
	}
	var list []connector
	r = e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != c.ID || strings.Contains(string(r.Body), "crud-secret") {
		t.Errorf("list: %s", r.Body)
	}
	e.do(t, "GET", "/api/connectors?target=other", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("target filter: %+v", list)
	}

	// An edited copy of the config, mask included, keeps the secret: a
	// test message with the masked config carries the stored one.
	var upd connector
	e.do(t, "PATCH", "/api/connectors/"+c.ID, map[string]any{
		"config": map[string]any{"endpoint": rc.URL + "/mail2", "authorization": store.ConfigMask}}, http.StatusOK, &upd)
	if upd.Config["endpoint"] != rc.URL+"/mail2" || upd.Config["authorization"] != store.ConfigMask || upd.Target != "my-mail" {
		t.Errorf("updated: %+v", upd)
	}
	e.do(t, "POST", "/api/connectors/http-email/test", map[string]any{"email": "a@example.com",
		"config": upd.Config}, http.StatusNoContent, nil)
	if got := rc.received(); len(got) != 1 || got[0].Authorization != "Bearer crud-secret" || got[0].Path != "/mail2" {
		t.Errorf("test message: %+v", got)
	}
	// Leaving the secret out removes it.
	var cleared connector
	e.do(t, "PATCH", "/api/connectors/"+c.ID, map[string]any{"config": map[string]any{"endpoint": rc.URL + "/mail2"}}, http.StatusOK, &cleared)
	if _, ok := cleared.Config["authorization"]; ok {
		t.Errorf("authorization still set: %v", cleared.Config)
	}

	e.do(t, "DELETE", "/api/connectors/"+c.ID, nil, http.StatusNoContent, nil)
	for _, m := range []string{"GET", "DELETE", "PATCH"} {
		if r := e.do(t, m, "/api/connectors/"+c.ID, map[string]any{}, http.StatusNotFound, nil); r.Code() != "entity.not_exists_with_id" {
			t.Errorf("%s deleted: code %s", m, r.Code())
		}
	}
}

// TestConnectors_OnePerType: as in Logto, a new email connector replaces
// the tenant's email connector, and leaves its SMS connector alone.
func TestConnectors_OnePerType(t *testing.T) {
	e := newEnv(t)
	sink := startSMTPSink(t, true, "", "")
	first := e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": "https://mail.example.com/send"}})
	sms := e.connCreate(t, map[string]any{"connectorId": "http-sms", "config": map[string]any{"endpoint": "https://sms.example.com/send"}})
	second := e.connCreate(t, map[string]any{"connectorId": "smtp", "config": map[string]any{"host": sink.Host(),
		"port": sink.Port(), "fromEmail": "no-reply@example.com"}})
	var list []connector
	e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 2 || list[0].ID != sms.ID || list[1].ID != second.ID {
		t.Errorf("connectors after the replacement: %+v", list)
	}
	e.do(t, "GET", "/api/connectors/"+first.ID, nil, http.StatusNotFound, nil)
	if second.Config["security"] != "STARTTLS" || second.Config["port"] != float64(sink.Port()) {
		t.Errorf("defaults: %v", second.Config)
	}
}

func TestConnectors_ConfigValidation(t *testing.T) {
	e := newEnv(t)
	smtp := func(extra map[string]any) map[string]any {
		c := map[string]any{"host": "mail.example.com", "fromEmail": "no-reply@example.com"}
		for k, v := range extra {
			c[k] = v
		}
		return map[string]any{"connectorId": "smtp", "config": c}
	}
	http1 := func(config map[string]any) map[string]any {
		return map[string]any{"connectorId": "http-email", "config": config}
	}
	for _, tc := range []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantCode   string
	}{
		{"no connectorId", map[string]any{"config": map[string]any{}}, 400, "guard.invalid_input"},
		{"unknown factory", map[string]any{"connectorId": "google", "config": map[string]any{}}, 422, "connector.not_found_with_connector_id"},
		{"no config", map[string]any{"connectorId": "http-email"}, 400, "connector.invalid_config"},
		{"endpoint missing", http1(map[string]any{"authorization": "x"}), 400, "connector.invalid_config"},
		{"endpoint not http", http1(map[string]any{"endpoint": "ftp://example.com/x"}), 400, "connector.invalid_config"},
		{"endpoint relative", http1(map[string]any{"endpoint": "/send"}), 400, "connector.invalid_config"},
		{"endpoint a number", http1(map[string]any{"endpoint": 5}), 400, "connector.invalid_config"},
		{"unknown field", http1(map[string]any{"endpoint": "https://x.example/", "extra": "y"}), 400, "connector.invalid_config"},
		{"header injection", http1(map[string]any{"endpoint": "https://x.example/", "authorization": "a\r\nX-Evil: 1"}), 400, "connector.invalid_config"},
		{"smtp port out of range", smtp(map[string]any{"port": 70000}), 400, "connector.invalid_config"},
		{"smtp port a fraction", smtp(map[string]any{"port": 25.5}), 400, "connector.invalid_config"},
		{"smtp port a string", smtp(map[string]any{"port": "25"}), 400, "connector.invalid_config"},
		{"smtp security unknown", smtp(map[string]any{"security": "SSL3"}), 400, "connector.invalid_config"},
		{"smtp credentials in clear", smtp(map[string]any{"security": "None", "username": "u", "password": "p"}), 400, "connector.invalid_config"},
		{"smtp password without user", smtp(map[string]any{"password": "p"}), 400, "connector.invalid_config"},
		{"smtp from not an address", smtp(map[string]any{"fromEmail": "nobody"}), 400, "connector.invalid_config"},
		{"smtp host with a path", smtp(map[string]any{"host": "mail.example.com/x"}), 400, "connector.invalid_config"},
		{"smtp root not PEM", smtp(map[string]any{"rootCertificate": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"}), 400, "connector.invalid_config"},
		{"metadata logo not a URL", map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": "https://x.example/"},
			"metadata": map[string]any{"logo": "javascript:alert(1)"}}, 400, "guard.invalid_input"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", e.URL+"/api/connectors", e.token, tc.body)
			if r.Status != tc.wantStatus || r.Code() != tc.wantCode {
				t.Errorf("status %d code %s, want %d %s: %s", r.Status, r.Code(), tc.wantStatus, tc.wantCode, r.Body)
			}
		})
	}
	// A valid connector's PATCH is validated the same way and changes nothing when refused.
	c := e.connCreate(t, http1(map[string]any{"endpoint": "https://x.example/"}))
	if r := call(t, "PATCH", e.URL+"/api/connectors/"+c.ID, e.token, map[string]any{"config": map[string]any{"endpoint": "nope"}}); r.Status != 400 || r.Code() != "connector.invalid_config" {
		t.Errorf("PATCH invalid: %d %s", r.Status, r.Body)
	}
	var got connector
	e.do(t, "GET", "/api/connectors/"+c.ID, nil, http.StatusOK, &got)
	if got.Config["endpoint"] != "https://x.example/" {
		t.Errorf("a refused PATCH changed the config: %v", got.Config)
	}
	var list []connector
	e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 1 {
		t.Errorf("refused creates left connectors: %+v", list)
	}
}

// TestConnectors_SecretsSealed: confidential values are in no answer and
// nowhere in the data file in clear, and survive a restart.
func TestConnectors_SecretsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idbolt.db")
	srv := apitest.Start(t, apitest.Options{Path: path})
	e := &env{Server: srv, token: srv.ManagementToken(t, "default")}
	rc := startConnReceiver(t)
	sink := startSMTPSink(t, true, "mailer", "smtp-pass-7f3a9c1e5b")
	const auth = "Bearer http-secret-4d8e2b6a0c"
	e.connCreate(t, map[string]any{"connectorId": "http-sms", "config": map[string]any{"endpoint": rc.URL, "authorization": auth}})
	smtpConn := e.connCreate(t, map[string]any{"connectorId": "smtp", "config": map[string]any{"host": sink.Host(), "port": sink.Port(),
		"username": "mailer", "password": "smtp-pass-7f3a9c1e5b", "fromEmail": "no-reply@example.com", "rootCertificate": sink.CertPEM}})
	if smtpConn.Config["password"] != store.ConfigMask || smtpConn.Config["username"] != "mailer" {
		t.Errorf("smtp config: %v", smtpConn.Config)
	}
	for _, f := range smtpConn.FormItems {
		if f.IsConfidential != (f.Key == "password") {
			t.Errorf("form item %s: isConfidential %v", f.Key, f.IsConfidential)
		}
	}
	srv.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"http-secret-4d8e2b6a0c", "smtp-pass-7f3a9c1e5b"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("the data file holds %q in clear", secret)
		}
	}
	if !bytes.Contains(data, []byte("no-reply@example.com")) {
		t.Errorf("the scan would not see clear config values: fromEmail not found in the file")
	}

	// After a restart the sealed values open: both connectors still send with them.
	id, secret := srv.ClientID, srv.ClientSecret
	srv = apitest.Start(t, apitest.Options{Path: path})
	e = &env{Server: srv, token: apitest.Token(t, srv.URL, "default", id, secret, store.ManagementIndicator("default"), "all")}
	var list []connector
	e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	for _, c := range list {
		body := map[string]any{"config": c.Config, "phone": "+15550100", "email": "to@example.com"}
		e.do(t, "POST", "/api/connectors/"+c.ConnectorID+"/test", body, http.StatusNoContent, nil)
	}
	if got := rc.received(); len(got) != 1 || got[0].Authorization != auth {
		t.Errorf("HTTP SMS after restart: %+v", got)
	}
	if got := sink.received(); len(got) != 1 || got[0].AuthUser != "mailer" || !got[0].TLS {
		t.Errorf("SMTP after restart: %+v", got)
	}
}

// TestConnectors_TestRoute sends test messages with unsaved configs
// through each factory and checks what arrives and how failures answer.
func TestConnectors_TestRoute(t *testing.T) {
	e := newEnv(t)
	t.Run("HTTP email", func(t *testing.T) {
		rc := startConnReceiver(t)
		e.do(t, "POST", "/api/connectors/http-email/test", map[string]any{"email": "jane@example.com", "locale": "fr",
			"config": map[string]any{"endpoint": rc.URL + "/send?k=1", "authorization": "Token abc"}}, http.StatusNoContent, nil)
		got := rc.received()
		if len(got) != 1 {
			t.Fatalf("received %d requests", len(got))
		}
		var body struct {
			To, Type string
			Payload  map[string]any
		}
		if err := json.Unmarshal(got[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.To != "jane@example.com" || body.Type != "Generic" || body.Payload["code"] == "" || body.Payload["locale"] != "fr" ||
			got[0].Authorization != "Token abc" || got[0].ContentType != "application/json" || got[0].Path != "/send" {
			t.Errorf("received %+v %s", got[0], got[0].Body)
		}
	})
	t.Run("HTTP SMS", func(t *testing.T) {
		rc := startConnReceiver(t)
		e.do(t, "POST", "/api/connectors/http-sms/test", map[string]any{"phone": "+4915550100",
			"config": map[string]any{"endpoint": rc.URL}}, http.StatusNoContent, nil)
		if got := rc.received(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"to":"+4915550100"`) || got[0].Authorization != "" {
			t.Errorf("received %+v", got)
		}
	})
	t.Run("SMTP with STARTTLS", func(t *testing.T) {
		sink := startSMTPSink(t, true, "u1", "p1")
		e.do(t, "POST", "/api/connectors/smtp/test", map[string]any{"email": "jane@example.com", "config": map[string]any{
			"host": sink.Host(), "port": sink.Port(), "username": "u1", "password": "p1",
			"fromEmail": "Example <no-reply@example.com>", "rootCertificate": sink.CertPEM}}, http.StatusNoContent, nil)
		got := sink.received()
		if len(got) != 1 || !got[0].TLS || got[0].AuthUser != "u1" || got[0].From != "no-reply@example.com" || got[0].To != "jane@example.com" {
			t.Fatalf("received %+v", got)
		}
		if !strings.Contains(got[0].Data, "Subject: Test message") || !strings.Contains(got[0].Text(), "Code: 000000") ||
			!strings.Contains(got[0].Data, "From: \"Example\" <no-reply@example.com>") {
			t.Errorf("message:\n%s", got[0].Data)
		}
	})
	t.Run("SMTP plain", func(t *testing.T) {
		sink := startSMTPSink(t, false, "", "")
		e.do(t, "POST", "/api/connectors/smtp/test", map[string]any{"email": "jane@example.com", "config": map[string]any{
			"host": sink.Host(), "port": sink.Port(), "security": "None", "fromEmail": "no-reply@example.com"}}, http.StatusNoContent, nil)
		if got := sink.received(); len(got) != 1 || got[0].TLS {
			t.Errorf("received %+v", got)
		}
	})
	// Failures answer 502 connector.general, naming the cause but never
	// the endpoint's answer.
	rcFail := startConnReceiver(t, 500, 302, 401)
	tlsSink := startSMTPSink(t, true, "u1", "p1")
	plainSink := startSMTPSink(t, false, "", "")
	for _, tc := range []struct {
		name, factory string
		config        map[string]any
		want          string
	}{
		{"endpoint 500", "http-email", map[string]any{"endpoint": rcFail.URL}, "status 500"},
		{"redirect not followed", "http-email", map[string]any{"endpoint": rcFail.URL}, "status 302"},
		{"endpoint 401", "http-sms", map[string]any{"endpoint": rcFail.URL}, "status 401"},
		{"nobody listens", "http-email", map[string]any{"endpoint": "http://127.0.0.1:1/"}, "request failed"},
		{"link-local refused", "http-email", map[string]any{"endpoint": "http://169.254.169.254/latest/meta-data/"}, "not allowed"},
		{"no STARTTLS offered", "smtp", map[string]any{"host": plainSink.Host(), "port": plainSink.Port(), "fromEmail": "a@example.com"}, "does not offer STARTTLS"},
		{"untrusted certificate", "smtp", map[string]any{"host": tlsSink.Host(), "port": tlsSink.Port(), "fromEmail": "a@example.com"}, "STARTTLS"},
		{"wrong password", "smtp", map[string]any{"host": tlsSink.Host(), "port": tlsSink.Port(), "fromEmail": "a@example.com",
			"username": "u1", "password": "nope", "rootCertificate": tlsSink.CertPEM}, "authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", e.URL+"/api/connectors/"+tc.factory+"/test", e.token,
				map[string]any{"email": "a@example.com", "phone": "+15550100", "config": tc.config})
			if r.Status != http.StatusBadGateway || r.Code() != "connector.general" || !strings.Contains(string(r.Body), tc.want) {
				t.Errorf("%d %s, want 502 connector.general naming %q", r.Status, r.Body, tc.want)
			}
		})
	}
	if n := len(tlsSink.received()) + len(plainSink.received()); n != 0 {
		t.Errorf("failed sends delivered %d messages", n)
	}
	for _, tc := range []struct {
		name, factory string
		body          map[string]any
		wantStatus    int
		wantCode      string
	}{
		{"unknown factory", "google", map[string]any{"email": "a@example.com", "config": map[string]any{}}, 404, "entity.not_found"},
		{"email connector without email", "http-email", map[string]any{"phone": "+15550100", "config": map[string]any{"endpoint": "https://x.example/"}}, 400, "guard.invalid_input"},
		{"sms connector without phone", "http-sms", map[string]any{"email": "a@example.com", "config": map[string]any{"endpoint": "https://x.example/"}}, 400, "guard.invalid_input"},
		{"bad email", "smtp", map[string]any{"email": "a@example.com\r\nBcc: x@example.com", "config": map[string]any{}}, 400, "guard.invalid_input"},
		{"bad phone", "http-sms", map[string]any{"phone": "555-0100", "config": map[string]any{"endpoint": "https://x.example/"}}, 400, "guard.invalid_input"},
		{"no config", "http-email", map[string]any{"email": "a@example.com"}, 400, "guard.invalid_input"},
		{"invalid config", "http-email", map[string]any{"email": "a@example.com", "config": map[string]any{}}, 400, "connector.invalid_config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", e.URL+"/api/connectors/"+tc.factory+"/test", e.token, tc.body)
			if r.Status != tc.wantStatus || r.Code() != tc.wantCode {
				t.Errorf("status %d code %s, want %d %s: %s", r.Status, r.Code(), tc.wantStatus, tc.wantCode, r.Body)
			}
		})
	}
}

// TestConnectors_TenantIsolation: a tenant sees, replaces and tests with
// its own connectors only.
func TestConnectors_TenantIsolation(t *testing.T) {
	e := newEnv(t)
	other := e.inTenant(t, "acme")
	rc := startConnReceiver(t)
	mine := e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": rc.URL, "authorization": "mine"}})
	theirs := other.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{"endpoint": rc.URL}})
	var list []connector
	other.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != theirs.ID {
		t.Errorf("tenant acme sees %+v", list)
	}
	other.do(t, "GET", "/api/connectors/"+mine.ID, nil, http.StatusNotFound, nil)
	other.do(t, "DELETE", "/api/connectors/"+mine.ID, nil, http.StatusNotFound, nil)
	e.do(t, "GET", "/api/connectors/"+mine.ID, nil, http.StatusOK, nil)
	// acme's masked config does not reach default's secret.
	other.do(t, "POST", "/api/connectors/http-email/test", map[string]any{"email": "a@example.com",
		"config": map[string]any{"endpoint": rc.URL, "authorization": store.ConfigMask}}, http.StatusNoContent, nil)
	if got := rc.received(); len(got) != 1 || got[0].Authorization != "" {
		t.Errorf("acme's test carried %q", got[0].Authorization)
	}
}
