package api_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

type logEntry struct {
	TenantID  string         `json:"tenantId"`
	ID        string         `json:"id"`
	Key       string         `json:"key"`
	Payload   map[string]any `json:"payload"`
	CreatedAt int64          `json:"createdAt"`
}

// logs lists tenant default's audit log with query q.
func (e *env) logs(t *testing.T, q string) ([]logEntry, response) {
	t.Helper()
	r := call(t, "GET", e.URL+"/api/logs?"+q, e.token, nil)
	if r.Status != 200 {
		t.Fatalf("list logs: %d %s", r.Status, r.Body)
	}
	var out []logEntry
	r.JSON(t, &out)
	return out, r
}

func TestLogs_ManagementWrites(t *testing.T) {
	e := newEnv(t)
	u := e.createUser(t, map[string]any{"username": "audited", "password": "Pw-123456!"})
	call(t, "PATCH", e.URL+"/api/users/"+u.ID, e.token, map[string]any{"name": "N"})
	call(t, "PATCH", e.URL+"/api/users/"+u.ID+"/password", e.token, map[string]any{"password": "An0ther-one!"})
	call(t, "DELETE", e.URL+"/api/users/"+u.ID, e.token, nil)
	// A failed write leaves no entry.
	call(t, "POST", e.URL+"/api/users", e.token, map[string]any{"username": "1bad"})

	entries, r := e.logs(t, "userId="+u.ID)
	var keys []string
	for _, l := range entries {
		keys = append(keys, l.Key)
		if l.TenantID != "default" || l.Payload["applicationId"] != e.ClientID || l.Payload["result"] != "Success" ||
			l.Payload["userId"] != u.ID || l.Payload["ip"] == nil || l.CreatedAt == 0 {
			t.Errorf("entry %+v", l)
		}
	}
	want := "Management.User.Delete,Management.User.UpdatePassword,Management.User.Update,Management.User.Create"
	if got := strings.Join(keys, ","); got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	if r.Header.Get("Total-Number") != "4" {
		t.Errorf("Total-Number %s", r.Header.Get("Total-Number"))
	}
	if strings.Contains(string(r.Body), "Pw-123456!") || strings.Contains(string(r.Body), "An0ther-one!") {
		t.Error("a password reached the audit log")
	}
	one := call(t, "GET", e.URL+"/api/logs/"+entries[0].ID, e.token, nil)
	if one.Status != 200 || !strings.Contains(string(one.Body), `"key":"Management.User.Delete"`) {
		t.Errorf("get one: %d %s", one.Status, one.Body)
	}
	for _, id := range []string{"nosuchentry", entries[0].ID + "0"} {
		wantError(t, call(t, "GET", e.URL+"/api/logs/"+id, e.token, nil), 404, "entity.not_exists_with_id")
	}
	byKey, _ := e.logs(t, "logKey=Management.User.Create")
	if len(byKey) != 1 {
		t.Errorf("logKey filter: %d entries", len(byKey))
	}
}

func TestLogs_TokenRequests(t *testing.T) {
	e := newEnv(t) // one successful token request (Basic)
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {mgmtResource}, "client_id": {e.ClientID}, "client_secret": {"the-wrong-secret"}}
	postForm(t, e.URL+"/oidc/token", form, "", "")

	var entries []logEntry
	var body string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) { // queued entries are committed within ~100ms
		var r response
		entries, r = e.logs(t, "logKey=ExchangeTokenBy.ClientCredentials")
		body = string(r.Body)
		if len(entries) == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(entries) != 2 {
		t.Fatalf("%d token entries, want 2: %s", len(entries), body)
	}
	failed, ok := entries[0], entries[1]
	if failed.Payload["result"] != "Error" || ok.Payload["result"] != "Success" {
		t.Fatalf("results: %v / %v", failed.Payload["result"], ok.Payload["result"])
	}
	params, _ := failed.Payload["params"].(map[string]any)
	if params["client_secret"] != "******" || params["grant_type"] != "client_credentials" {
		t.Errorf("params not masked as expected: %v", params)
	}
	if failed.Payload["applicationId"] != e.ClientID || failed.Payload["userAgent"] == nil {
		t.Errorf("failed entry %v", failed.Payload)
	}
	if errObj, _ := failed.Payload["error"].(map[string]any); errObj["error"] != "invalid_client" {
		t.Errorf("error reason %v", failed.Payload["error"])
	}
	if strings.Contains(body, "the-wrong-secret") || strings.Contains(body, e.ClientSecret) {
		t.Error("a secret reached the audit log")
	}
	byApp, _ := e.logs(t, "applicationId="+e.ClientID+"&logKey=ExchangeTokenBy.ClientCredentials")
	if len(byApp) != 2 {
		t.Errorf("applicationId filter: %d", len(byApp))
	}
}

func TestLogs_BadQuery(t *testing.T) {
	e := newEnv(t)
	for _, q := range []string{"start_time=abc", "end_time=-5", "start_time=10&end_time=5", "start_time=1.5", "page=0"} {
		if r := call(t, "GET", e.URL+"/api/logs?"+q, e.token, nil); r.Status != 400 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	now := time.Now().UnixMilli()
	e.createUser(t, map[string]any{})
	if got, _ := e.logs(t, "start_time="+itoa(now-60000)+"&end_time="+itoa(now+60000)+"&logKey=Management.User.Create"); len(got) != 1 {
		t.Errorf("time window: %d entries", len(got))
	}
	if got, _ := e.logs(t, "end_time="+itoa(now-60000)+"&logKey=Management.User.Create"); len(got) != 0 {
		t.Errorf("before the window: %d entries", len(got))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestLogs_ReadYourTokenWrites checks that a log read shows every token
// request answered before it, although token entries are group-committed
// later: integration tests that assert on the log right after a token
// request must not flake.
func TestLogs_ReadYourTokenWrites(t *testing.T) {
	e := newEnv(t)
	for i := range 50 {
		r := e.clientCredentials(t, e.ClientID, e.ClientSecret, mgmtResource, "all")
		if r.Status != 200 {
			t.Fatalf("token %d: %d %s", i, r.Status, r.Body)
		}
		entries, resp := e.logs(t, "logKey=ExchangeTokenBy.ClientCredentials&page_size=1")
		// One token request came from newEnv, before the loop.
		if got, want := resp.Header.Get("Total-Number"), strconv.Itoa(i+2); got != want {
			t.Fatalf("after token request %d: %s token entries, want %s", i, got, want)
		}
		if len(entries) != 1 {
			t.Fatalf("after token request %d: page of %d entries", i, len(entries))
		}
		one := call(t, "GET", e.URL+"/api/logs/"+entries[0].ID, e.token, nil)
		if one.Status != 200 {
			t.Fatalf("get entry %s: %d %s", entries[0].ID, one.Status, one.Body)
		}
	}
}
