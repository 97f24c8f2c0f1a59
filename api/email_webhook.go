package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/idbolt/idbolt/store"
)

// signatureHeader carries the hex HMAC-SHA256 of the request body, keyed
// with the webhook's signing key: the header Logto's webhooks use.
const signatureHeader = "Logto-Signature-Sha-256"

// webhookSender posts a tenant's emails to its email webhook. Delivery is
// synchronous and bounded: one attempt plus one retry per backoff entry,
// each attempt with its own timeout, all within the request's context.
// Network errors, 429 and 5xx are retried; any other answer but a 2xx is
// final. It never logs the signing key or the body, which holds the
// invitation's link and code. New builds one that every request shares; its
// fields are only read after that.
type webhookSender struct {
	client  *http.Client
	backoff []time.Duration // the wait before each retry
	timeout time.Duration   // per attempt
	logger  *slog.Logger
}

// newWebhookSender returns the production sender: 3 attempts, 100 ms and
// 400 ms apart, 5 s each.
func newWebhookSender(logger *slog.Logger) *webhookSender {
	return &webhookSender{
		// A redirect is answered, not followed: the signed body goes only
		// to the configured URL (newOutboundClient, connectors_send.go).
		client:  newOutboundClient(),
		backoff: []time.Duration{100 * time.Millisecond, 400 * time.Millisecond},
		timeout: 5 * time.Second,
		logger:  logger,
	}
}

// sign returns the hex HMAC-SHA256 of body keyed with key.
func sign(key string, body []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// errDeliveryFailed is the answer when every attempt failed.
func errDeliveryFailed(attempts int, last string) error {
	return &store.Error{Code: store.EBADGATEWAY, Detail: "organization_invitation.email_delivery_failed",
		Message: fmt.Sprintf("The email webhook did not accept the invitation email after %d attempt(s): %s.", attempts, last)}
}

// deliver posts body to hook with its signature. It returns nil once the
// webhook answers 2xx, EBADGATEWAY when it never does, and the context's
// error when ctx ends first.
func (ws *webhookSender) deliver(ctx context.Context, hook store.EmailWebhook, body []byte) error {
	sig := sign(hook.SigningKey, body)
	host := "?"
	if u, err := url.Parse(hook.URL); err == nil {
		host = u.Host // the URL's path or query may hold a secret; the host is enough to debug
	}
	for attempt := 1; ; attempt++ {
		retry, last := ws.attempt(ctx, hook.URL, sig, body)
		if last == "" {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ws.logger.WarnContext(ctx, "email webhook attempt failed", "host", host, "attempt", attempt,
			"result", last, "retry", retry && attempt <= len(ws.backoff))
		if !retry || attempt > len(ws.backoff) {
			return errDeliveryFailed(attempt, last)
		}
		t := time.NewTimer(ws.backoff[attempt-1])
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// attempt makes one delivery attempt. It returns "" on success, else a
// short description of the failure and whether it is worth retrying.
func (ws *webhookSender) attempt(ctx context.Context, target, sig string, body []byte) (retry bool, failure string) {
	ctx, cancel := context.WithTimeout(ctx, ws.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, "invalid webhook URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signatureHeader, sig)
	req.Header.Set("User-Agent", "idbolt-email-webhook")
	resp, err := ws.client.Do(req)
	if err != nil {
		// A *url.Error repeats the whole URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, "request failed: " + err.Error()
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxOutboundAnswer)) // lets the connection be reused
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, ""
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return false, fmt.Sprintf("status %d", resp.StatusCode)
}
