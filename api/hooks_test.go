package api_test

import (
	"net/http"
	"testing"
)

// hook is the wire shape of a hook, for assertions.
type hook struct {
	TenantID string   `json:"tenantId"`
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Event    *string  `json:"event"`
	Events   []string `json:"events"`
	Config   struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"config"`
	SigningKey     string `json:"signingKey"`
	Enabled        bool   `json:"enabled"`
	CreatedAt      int64  `json:"createdAt"`
	ExecutionStats *struct {
		SuccessCount int `json:"successCount"`
		RequestCount int `json:"requestCount"`
	} `json:"executionStats"`
}

// createHook creates a hook of e's tenant posting events to url.
func (e *env) createHook(t testing.TB, url string, events ...string) hook {
	t.Helper()
	var h hook
	e.do(t, "POST", "/api/hooks", map[string]any{"name": "sink", "events": events, "config": map[string]any{"url": url}},
		http.StatusCreated, &h)
	return h
}

func TestHooks_CRUD(t *testing.T) {
	e := newEnv(t)
	h := e.createHook(t, "https://example.com/hook", "User.Created", "Role.Created")
	if h.ID == "" || h.Name != "sink" || !h.Enabled || len(h.SigningKey) < 32 || h.TenantID != "default" || h.Event != nil ||
		len(h.Events) != 2 || h.Config.URL != "https://example.com/hook" || h.CreatedAt == 0 {
		t.Fatalf("created hook: %+v", h)
	}
	r := call(t, "GET", e.URL+"/api/hooks/"+h.ID, e.token, nil)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET hook: Cache-Control %q, want no-store: it shows the signing key", r.Header.Get("Cache-Control"))
	}
	var got hook
	r.JSON(t, &got)
	if got.SigningKey != h.SigningKey || got.ExecutionStats != nil {
		t.Errorf("GET hook: %+v", got)
	}

	t.Run("Stats", func(t *testing.T) {
		var withStats hook
		e.do(t, "GET", "/api/hooks/"+h.ID+"?includeExecutionStats=true", nil, http.StatusOK, &withStats)
		if s := withStats.ExecutionStats; s == nil || s.RequestCount != 0 || s.SuccessCount != 0 {
			t.Errorf("executionStats: %+v", s)
		}
		var list []hook
		e.do(t, "GET", "/api/hooks?includeExecutionStats=1", nil, http.StatusOK, &list)
		if len(list) != 1 || list[0].ExecutionStats == nil {
			t.Errorf("list with stats: %+v", list)
		}
	})

	t.Run("Update", func(t *testing.T) {
		var upd hook
		e.do(t, "PATCH", "/api/hooks/"+h.ID, map[string]any{"name": "renamed", "events": []string{"Scope.Deleted"},
			"config": map[string]any{"url": "http://127.0.0.1:9/x", "headers": map[string]string{"x-tenant": "a"}}, "enabled": false},
			http.StatusOK, &upd)
		if upd.Name != "renamed" || upd.Enabled || len(upd.Events) != 1 || upd.Events[0] != "Scope.Deleted" ||
			upd.Config.Headers["x-tenant"] != "a" || upd.SigningKey != h.SigningKey {
			t.Errorf("updated: %+v", upd)
		}
		// The deprecated single event still works.
		e.do(t, "PATCH", "/api/hooks/"+h.ID, map[string]any{"event": "User.Deleted"}, http.StatusOK, &upd)
		if len(upd.Events) != 1 || upd.Events[0] != "User.Deleted" {
			t.Errorf("event: %+v", upd.Events)
		}
	})

	t.Run("SigningKey", func(t *testing.T) {
		var rot hook
		e.do(t, "PATCH", "/api/hooks/"+h.ID+"/signing-key", nil, http.StatusOK, &rot)
		if rot.SigningKey == h.SigningKey || len(rot.SigningKey) < 32 {
			t.Errorf("rotated key %q, was %q", rot.SigningKey, h.SigningKey)
		}
		var again hook
		e.do(t, "GET", "/api/hooks/"+h.ID, nil, http.StatusOK, &again)
		if again.SigningKey != rot.SigningKey {
			t.Errorf("GET after rotation: key %q, want %q", again.SigningKey, rot.SigningKey)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, path string
			body               any
			status             int
			code               string
		}{
			{"NoEvents", "POST", "/api/hooks", map[string]any{"name": "x", "events": []string{}, "config": map[string]any{"url": "https://a.example"}}, 400, "hook.missing_events"},
			{"UnknownEvent", "POST", "/api/hooks", map[string]any{"events": []string{"User.Exploded"}, "config": map[string]any{"url": "https://a.example"}}, 400, "guard.invalid_input"},
			{"NoConfig", "POST", "/api/hooks", map[string]any{"events": []string{"User.Created"}}, 400, "guard.invalid_input"},
			{"BadURL", "POST", "/api/hooks", map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": "ftp://a.example"}}, 400, "guard.invalid_input"},
			{"URLWithCredentials", "POST", "/api/hooks", map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": "https://u:p@a.example"}}, 400, "guard.invalid_input"},
			{"SignatureHeader", "POST", "/api/hooks", map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": "https://a.example", "headers": map[string]string{"Logto-Signature-Sha-256": "forged"}}}, 400, "guard.invalid_input"},
			{"HeaderInjection", "POST", "/api/hooks", map[string]any{"events": []string{"User.Created"}, "config": map[string]any{"url": "https://a.example", "headers": map[string]string{"x": "a\r\nb: c"}}}, 400, "guard.invalid_input"},
			{"GetMissing", "GET", "/api/hooks/nope", nil, 404, "entity.not_found"},
			{"PatchMissing", "PATCH", "/api/hooks/nope", map[string]any{"name": "x"}, 404, "entity.not_found"},
			{"DeleteMissing", "DELETE", "/api/hooks/nope", nil, 404, "entity.not_found"},
			{"KeyMissing", "PATCH", "/api/hooks/nope/signing-key", nil, 404, "entity.not_found"},
			{"LogsMissing", "GET", "/api/hooks/nope/recent-logs", nil, 404, "entity.not_found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantError(t, call(t, tc.method, e.URL+tc.path, e.token, tc.body), tc.status, tc.code)
			})
		}
	})

	t.Run("Delete", func(t *testing.T) {
		e.do(t, "DELETE", "/api/hooks/"+h.ID, nil, http.StatusNoContent, nil)
		wantError(t, call(t, "GET", e.URL+"/api/hooks/"+h.ID, e.token, nil), 404, "entity.not_found")
		var list []hook
		e.do(t, "GET", "/api/hooks", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("list after delete: %+v", list)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		other := e.inTenant(t, "hooks-b")
		hb := other.createHook(t, "https://b.example/hook", "User.Created")
		wantError(t, call(t, "GET", e.URL+"/api/hooks/"+hb.ID, e.token, nil), 404, "entity.not_found")
		var list []hook
		e.do(t, "GET", "/api/hooks", nil, http.StatusOK, &list)
		if len(list) != 0 {
			t.Errorf("tenant default lists tenant hooks-b's hook: %+v", list)
		}
	})
}
