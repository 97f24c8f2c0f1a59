package api

import (
	"context"
	"net/http"
	"time"

	"github.com/idbolt/idbolt/limits"
	"github.com/idbolt/idbolt/store"
)

// tenantResponse is a tenant on the wire of the system API.
type tenantResponse struct {
	ID          string               `json:"id"`
	Name        string               `json:"name"`
	RateLimit   *store.RateLimit     `json:"rateLimit"`
	CreatedAt   int64                `json:"createdAt"`
	Credentials *credentialsResponse `json:"credentials,omitempty"`
	// EmailWebhookURL receives the tenant's emails; null when none.
	EmailWebhookURL *string `json:"emailWebhookUrl"`
	// EmailWebhookSigningKey is shown once, by the PATCH that made it.
	EmailWebhookSigningKey string `json:"emailWebhookSigningKey,omitempty"`
	// ReadableApplicationSecrets is the Logto compatibility switch that
	// keeps new application secrets readable (sealed, not only hashed).
	ReadableApplicationSecrets bool `json:"readableApplicationSecrets"`
	// CORSAllowedOrigins may call the tenant's Management API and token
	// endpoint from a browser (cors.go); [] when none.
	CORSAllowedOrigins []string `json:"corsAllowedOrigins"`
}

// credentialsResponse carries a new tenant's admin credentials, shown once.
type credentialsResponse struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

func toTenantResponse(t *store.Tenant) tenantResponse {
	return tenantResponse{ID: t.ID, Name: t.Name, RateLimit: t.RateLimit, CreatedAt: t.CreatedAt, EmailWebhookURL: t.EmailWebhookURL,
		ReadableApplicationSecrets: t.ReadableApplicationSecrets, CORSAllowedOrigins: t.CORSAllowedOrigins}
}

// tenantCreateRequest is the body of POST /system/tenants.
type tenantCreateRequest struct {
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

func (s *Server) handleTenantCreate(w http.ResponseWriter, r *request) error {
	var req tenantCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := requireField(req.ID != nil, "id"); err != nil {
		return err
	}
	name := *req.ID
	if req.Name != nil {
		name = *req.Name
	}
	if err := store.ValidateTenantID(*req.ID); err != nil {
		return err
	}
	key, err := s.auth.NewSigningKey()
	if err != nil {
		return err
	}
	t, creds, err := s.store.CreateTenant(r.Context(), store.NewTenant{ID: *req.ID, Name: name, SigningKey: key})
	if err != nil {
		return err
	}
	// A tenant with this id may have existed before; drop anything cached for it.
	s.auth.ForgetTenant(t.ID)
	resp := toTenantResponse(t)
	resp.Credentials = &credentialsResponse{ClientID: creds.ClientID, ClientSecret: creds.ClientSecret}
	s.writeSecretJSON(w, r, http.StatusCreated, resp)
	return nil
}

func (s *Server) handleTenantList(w http.ResponseWriter, r *request) error {
	lq, err := parseList(r, pagedAlways, nil)
	if err != nil {
		return err
	}
	tenants, total, err := s.store.FindTenants(r.Context(), lq.page)
	if err != nil {
		return err
	}
	out := make([]tenantResponse, len(tenants))
	for i, t := range tenants {
		out[i] = toTenantResponse(t)
	}
	s.writeList(w, r, lq, total, out)
	return nil
}

func (s *Server) handleTenantGet(w http.ResponseWriter, r *request) error {
	t, err := s.store.FindTenantByID(r.Context(), r.param("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, toTenantResponse(t))
	return nil
}

// tenantUpdateRequest is the body of PATCH /system/tenants/{id}.
type tenantUpdateRequest struct {
	Name            *string                      `json:"name"`
	RateLimit       store.Field[store.RateLimit] `json:"rateLimit"`
	EmailWebhookURL store.Field[string]          `json:"emailWebhookUrl"`
	RotateKey       *bool                        `json:"rotateEmailWebhookSigningKey"`
	ReadableSecrets *bool                        `json:"readableApplicationSecrets"`
	CORSOrigins     store.Field[[]string]        `json:"corsAllowedOrigins"`
}

func (s *Server) handleTenantUpdate(w http.ResponseWriter, r *request) error {
	var req tenantUpdateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	t, err := s.store.UpdateTenant(r.Context(), r.param("id"), store.TenantUpdate{Name: req.Name, RateLimit: req.RateLimit,
		EmailWebhookURL: req.EmailWebhookURL, RotateEmailWebhookSigningKey: req.RotateKey != nil && *req.RotateKey,
		ReadableApplicationSecrets: req.ReadableSecrets, CORSAllowedOrigins: req.CORSOrigins})
	if err != nil {
		return err
	}
	if req.RateLimit.Set && s.limiter != nil {
		s.limiter.SetRate(t.ID, toLimitsRate(t.RateLimit))
	}
	resp := toTenantResponse(t)
	if t.EmailWebhookSigningKey != "" {
		resp.EmailWebhookSigningKey = t.EmailWebhookSigningKey
		s.writeSecretJSON(w, r, http.StatusOK, resp)
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, resp)
	return nil
}

// toLimitsRate converts a stored rate limit; nil stays nil (the default).
func toLimitsRate(rl *store.RateLimit) *limits.Rate {
	if rl == nil {
		return nil
	}
	return &limits.Rate{Requests: rl.Requests, Per: time.Duration(rl.PerSeconds) * time.Second}
}

// SyncRateLimits gives every tenant with its own rate limit that limit in l;
// call it once at start-up.
func SyncRateLimits(ctx context.Context, db *store.DB, l *limits.Limiter) error {
	rls, err := db.TenantRateLimits(ctx)
	if err != nil {
		return err
	}
	for id, rl := range rls {
		l.SetRate(id, toLimitsRate(&rl))
	}
	return nil
}

func (s *Server) handleTenantDelete(w http.ResponseWriter, r *request) error {
	id := r.param("id")
	if err := s.store.DeleteTenant(r.Context(), id); err != nil {
		return err
	}
	s.auth.ForgetTenant(id)
	s.auth.DropTenantMetrics(id)
	s.metrics.dropTenant(id)
	if s.limiter != nil {
		s.limiter.SetRate(id, nil)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
