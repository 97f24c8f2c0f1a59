package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/store"
)

// hmacHex is the Logto-Signature-Sha-256 of body under key.
func hmacHex(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// TestInvitations_ThroughConnector: a tenant's email connector sends its
// invitation emails, and wins over its email webhook: the HTTP connector
// posts Logto's {to, type, payload} with the webhook's fields beside them,
// signed with its signing key; the SMTP connector mails them; a failed
// send answers 502 connector.general and keeps no message.
func TestInvitations_ThroughConnector(t *testing.T) {
	logs := &syncBuffer{}
	e, c := invStart(t, apitest.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	org := e.invOrg(t, "Acme Inc")
	role := e.invOrgRole(t, "member", "User")
	expires := c.nowMS() + 3_600_000
	link, code := "https://app.example.com/join?token=conn-link-1", "conn-code-2"
	t.Cleanup(func() {
		l := logs.String()
		for _, secret := range []string{link, code, "conn-link-1", "Bearer inv", "conn-signing-key"} {
			if strings.Contains(l, secret) {
				t.Errorf("the log shows %q", secret)
			}
		}
		if !strings.Contains(l, "connector send failed") {
			t.Error("the failed send is not logged")
		}
	})

	hook := invStartHook(t)
	e.invSetWebhook(t, map[string]any{"emailWebhookUrl": hook.URL + "/hook"})
	rc := startConnReceiver(t)
	const signingKey = "conn-signing-key-0123456789"
	e.connCreate(t, map[string]any{"connectorId": "http-email", "config": map[string]any{
		"endpoint": rc.URL + "/mail", "authorization": "Bearer inv", "signingKey": signingKey}})

	inv := e.invCreate(t, map[string]any{"invitee": "dana@example.com", "organizationId": org, "expiresAt": expires,
		"organizationRoleIds": []string{role}, "messagePayload": map[string]any{"link": link, "code": code, "locale": "fr"}})
	got := rc.received()
	if len(got) != 1 {
		t.Fatalf("the connector got %d requests, want 1", len(got))
	}
	if n := len(hook.requests()); n != 0 {
		t.Errorf("the webhook got %d requests beside the connector", n)
	}
	if got[0].Signature != hmacHex(signingKey, got[0].Body) || got[0].Authorization != "Bearer inv" || got[0].Path != "/mail" {
		t.Errorf("request %+v", got[0])
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	orgJSON := map[string]any{"id": org, "name": "Acme Inc"}
	want := map[string]any{
		// Logto's HTTP connector body
		"to": "dana@example.com", "type": "OrganizationInvitation",
		"payload": map[string]any{"link": link, "code": code, "locale": "fr", "organization": orgJSON},
		// the email webhook's, for receivers of an upgraded webhook
		"tenantId": "default", "invitationId": inv.ID, "invitee": "dana@example.com", "organization": orgJSON,
		"inviterId": nil, "organizationRoles": []any{map[string]any{"id": role, "name": "member"}}, "expiresAt": float64(expires),
		"messagePayload": map[string]any{"link": link, "code": code, "locale": "fr"}}
	if g, w := mustJSON(t, body), mustJSON(t, want); g != w {
		t.Errorf("body\n got %s\nwant %s", g, w)
	}

	t.Run("FailureKeepsNoMessage", func(t *testing.T) {
		failing := startConnReceiver(t, http.StatusInternalServerError, http.StatusInternalServerError)
		var list []connector
		e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
		e.do(t, "PATCH", "/api/connectors/"+list[0].ID, map[string]any{"config": map[string]any{"endpoint": failing.URL}}, http.StatusOK, nil)
		e.fail(t, "POST", invPath+"/"+inv.ID+"/message", map[string]any{"code": "never-kept"}, http.StatusBadGateway, "connector.general")
		m, err := e.DB.FindInvitationMessage(context.Background(), store.DefaultTenant, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Code == nil || *m.Code != code {
			t.Errorf("stored message %s after a failed send, want the one delivered", mustJSON(t, m))
		}
		body := map[string]any{"invitee": "erin@example.com", "organizationId": org, "expiresAt": expires,
			"messagePayload": map[string]any{"code": code}}
		e.fail(t, "POST", invPath, body, http.StatusBadGateway, "connector.general")
		if list := e.invList(t, "invitee=erin@example.com"); len(list) != 0 {
			t.Errorf("a failed email left the invitation %v", invIDs(list))
		}
		if len(failing.received()) != 2 || len(hook.requests()) != 0 {
			t.Errorf("connector got %d, webhook %d requests", len(failing.received()), len(hook.requests()))
		}
	})
	t.Run("SMTP", func(t *testing.T) {
		sink := startSMTPSink(t, true, "u1", "p1")
		// A new email connector replaces the HTTP one.
		e.connCreate(t, map[string]any{"connectorId": "smtp", "config": map[string]any{
			"host": sink.Host(), "port": sink.Port(), "username": "u1", "password": "p1",
			"fromEmail": "no-reply@example.com", "rootCertificate": sink.CertPEM}})
		e.do(t, "POST", invPath+"/"+inv.ID+"/message", map[string]any{"link": link, "code": code}, http.StatusNoContent, nil)
		mails := sink.received()
		if len(mails) != 1 || mails[0].To != "dana@example.com" || !mails[0].TLS {
			t.Fatalf("mails %+v", mails)
		}
		if !strings.Contains(mails[0].Data, "Subject: Invitation to join Acme Inc") ||
			!strings.Contains(mails[0].Text(), link) || !strings.Contains(mails[0].Text(), code) {
			t.Errorf("mail:\n%s\n%s", mails[0].Data, mails[0].Text())
		}
		if n := len(hook.requests()); n != 0 {
			t.Errorf("the webhook got %d requests", n)
		}
	})
	t.Run("WebhookAgainWithoutConnector", func(t *testing.T) {
		var list []connector
		e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
		for _, c := range list {
			e.do(t, "DELETE", "/api/connectors/"+c.ID, nil, http.StatusNoContent, nil)
		}
		e.do(t, "POST", invPath+"/"+inv.ID+"/message", map[string]any{"code": code}, http.StatusNoContent, nil)
		if n := len(hook.requests()); n != 1 {
			t.Errorf("the webhook got %d requests, want 1", n)
		}
	})
}

// TestConnectors_UpgradedWebhook starts on a copy of
// testdata/upgrade/main-99474a5-webhook.db: tenant default's invitation
// webhook is now an HTTP email connector whose signing key is the
// webhook's, so the receiver, once the connector points at it, verifies
// the invitation email as it did the webhook's.
func TestConnectors_UpgradedWebhook(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "old.db")
	for src, dst := range map[string]string{"main-99474a5-webhook.db": path, "main-99474a5-webhook.key": store.DefaultMasterKeyFile(path)} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "upgrade", src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const ( // testdata/upgrade/README.md
		hookKey = "JZUJAh27zC3EWeETDWWOaU5ZZeu_Af2mRlhRKwhUvY8"
		org     = "r92rdftxeqp9"
	)
	e := &env{Server: apitest.Start(t, apitest.Options{Path: path})}
	e.ClientID, e.ClientSecret = "admin-default", "fixture-secret-default-0123456789abcdef" // an instance administrator
	e.token = apitest.Token(t, e.URL, "default", e.ClientID, e.ClientSecret, mgmtResource, "all")

	var list []connector
	r := e.do(t, "GET", "/api/connectors", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ConnectorID != "http-email" || list[0].Config["endpoint"] != "http://127.0.0.1:1/default-hook?token=t1" ||
		list[0].Config["signingKey"] != store.ConfigMask || strings.Contains(string(r.Body), hookKey) {
		t.Fatalf("connectors after the upgrade: %s", r.Body)
	}
	tn := call(t, "GET", e.URL+"/system/tenants/default", e.SystemToken(t), nil)
	if strings.Contains(string(tn.Body), "default-hook") {
		t.Errorf("the tenant keeps its webhook: %s", tn.Body)
	}

	rc := startConnReceiver(t)
	e.do(t, "PATCH", "/api/connectors/"+list[0].ID, map[string]any{"config": map[string]any{
		"endpoint": rc.URL + "/default-hook", "signingKey": store.ConfigMask}}, http.StatusOK, nil)
	inv := e.invCreate(t, map[string]any{"invitee": "erin@example.com", "organizationId": org,
		"expiresAt": 4_102_444_800_000, "messagePayload": map[string]any{"code": "123456"}})
	got := rc.received()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	if got[0].Signature != hmacHex(hookKey, got[0].Body) {
		t.Errorf("signature %q does not verify with the webhook's key", got[0].Signature)
	}
	var body struct {
		Type, TenantID, InvitationID string
		Organization                 struct{ ID, Name string }
		MessagePayload               map[string]string
	}
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "OrganizationInvitation" || body.TenantID != "default" || body.InvitationID != inv.ID ||
		body.Organization.Name != "Org One" || body.MessagePayload["code"] != "123456" {
		t.Errorf("the webhook's fields: %s", got[0].Body)
	}
}
