package logtoimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// pageSize is the page_size of every listing read from the source: Logto's
// and idbolt's largest.
const pageSize = 100

// maxBody bounds a response body read from the source. A page of 100 users
// with large custom data stays well below it.
const maxBody = 64 << 20

// maxRetries is how often a request answered 429 or 502-504 is sent again.
const maxRetries = 5

// Source reads one tenant of a Logto Management API. Its methods are safe
// for one goroutine at a time.
type Source struct {
	base                       string // without trailing slash: http://host:3001, or .../t/T for an idbolt tenant
	resource, clientID, secret string
	hc                         *http.Client
	token                      string
	// sleep waits between retries; tests of the importer need no seam for
	// it, so it is a field only to keep the wait cancellable.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewSource returns a Source for the Management API at base (the server's
// URL, under which /oidc/token and /api/... are found), authenticating as
// clientID with secret for resource (Logto OSS: https://default.logto.app/api).
// hc nil means a client with a 60 s timeout.
func NewSource(base, resource, clientID, secret string, hc *http.Client) *Source {
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return &Source{base: strings.TrimRight(base, "/"), resource: resource, clientID: clientID, secret: secret,
		hc: hc, sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SourceError is a request the source refused or answered with something
// that is not what its API promises.
type SourceError struct {
	Op     string // e.g. "GET /api/users", "token request"
	Status int    // 0 when the answer never came or was not JSON
	Reason string // the source's code and message, or what was wrong
	Hint   string // what to check, for the statuses that have a usual cause
}

func (e *SourceError) Error() string {
	msg := "source: " + e.Op
	if e.Status != 0 {
		msg += ": " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Connect gets a Management API token with client_credentials. Returns a
// *SourceError when the source refuses (401: wrong client id or secret) or
// cannot be reached.
func (s *Source) Connect(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}, "resource": {s.resource}, "scope": {"all"}}
	req, err := http.NewRequestWithContext(ctx, "POST", s.base+"/oidc/token", strings.NewReader(form.Encode()))
	if err != nil {
		return &SourceError{Op: "token request", Reason: err.Error(), Hint: "check --from"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.clientID), url.QueryEscape(s.secret))
	body, _, err := s.do(req, "token request")
	if err != nil {
		var se *SourceError
		if errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusBadRequest) {
			se.Hint = "check --client-id, --client-secret-file and --resource; the application needs a role with the Management API scope all"
		}
		return err
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return &SourceError{Op: "token request", Reason: "the answer has no access_token", Hint: "is --from a Logto server?"}
	}
	if !strings.Contains(" "+tr.Scope+" ", " all ") {
		return &SourceError{Op: "token request", Reason: fmt.Sprintf("the token has scope %q, not all", tr.Scope),
			Hint: "give the application the Management API role of the source tenant"}
	}
	s.token = tr.AccessToken
	return nil
}

// get reads path with query into v and returns the Total-Number header, or
// -1 when there is none. A 401 gets a new token once (it may have expired
// during a long import).
func (s *Source) get(ctx context.Context, path string, query url.Values, v any) (int, error) {
	op := "GET " + path
	for renewed := false; ; renewed = true {
		req, err := http.NewRequestWithContext(ctx, "GET", s.base+path+"?"+query.Encode(), nil)
		if err != nil {
			return 0, &SourceError{Op: op, Reason: err.Error()}
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		body, h, err := s.do(req, op)
		var se *SourceError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized && !renewed {
			if err := s.Connect(ctx); err != nil {
				return 0, err
			}
			continue
		}
		if err != nil {
			if errors.As(err, &se) && se.Status == http.StatusForbidden {
				se.Hint = "the source's application needs the Management API scope all"
			}
			return 0, err
		}
		if err := json.Unmarshal(body, v); err != nil {
			return 0, &SourceError{Op: op, Reason: "bad JSON: " + err.Error()}
		}
		total := -1
		if t := h.Get("Total-Number"); t != "" {
			if total, err = strconv.Atoi(t); err != nil || total < 0 {
				return 0, &SourceError{Op: op, Reason: fmt.Sprintf("bad Total-Number %q", t)}
			}
		}
		return total, nil
	}
}

// do sends req, again after a 429 or a 502-504 (waiting Retry-After, at
// most 30 s, or a growing pause), and returns the body of a 2xx.
func (s *Source) do(req *http.Request, op string) ([]byte, http.Header, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, nil, &SourceError{Op: op, Reason: err.Error()}
			}
			req.Body = body
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			return nil, nil, &SourceError{Op: op, Reason: err.Error(), Hint: "is --from right and the source running?"}
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, nil, &SourceError{Op: op, Status: resp.StatusCode, Reason: "reading the answer: " + err.Error()}
		}
		if len(body) > maxBody {
			return nil, nil, &SourceError{Op: op, Status: resp.StatusCode, Reason: fmt.Sprintf("answer over %d bytes", maxBody)}
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code < 300:
			return body, resp.Header, nil
		case (code == http.StatusTooManyRequests || code >= 502 && code <= 504) && attempt < maxRetries:
			wait := time.Duration(attempt+1) * time.Second
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && ra >= 0 {
				wait = min(time.Duration(ra)*time.Second, 30*time.Second)
			}
			if err := s.sleep(req.Context(), wait); err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, &SourceError{Op: op, Status: code, Reason: errorDetail(body)}
		}
	}
}

// errorDetail gives the code and message of a Logto error body, or the
// start of any other body.
func errorDetail(body []byte) string {
	var e struct {
		Code             string `json:"code"`
		Message          string `json:"message"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Error != "") {
		if e.Code != "" {
			return printable(e.Code + ": " + e.Message)
		}
		return printable(e.Error + ": " + e.ErrorDescription)
	}
	return printable(strings.TrimSpace(string(body)))
}

// maxPrintable bounds what printable keeps of a text from the source.
const maxPrintable = 300

// printable makes text that came from the source safe to print on a
// terminal and short: control characters (an escape sequence could rewrite
// the screen) become spaces, invalid UTF-8 becomes "?", and beyond
// maxPrintable bytes it is cut at a character boundary and marked "...".
func printable(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		if unicode.IsControl(r) {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > maxPrintable {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// eachPage reads every page of the listing at path, with query, and calls
// fn with the listing's total (Total-Number, or -1) and each page's items.
// A page shorter than page_size ends the walk, and so does reaching the
// total.
func eachPage[T any](ctx context.Context, s *Source, path string, query url.Values, fn func(total int, items []T) error) error {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("page_size", strconv.Itoa(pageSize))
	seen := 0
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		var items []T
		total, err := s.get(ctx, path, q, &items)
		if err != nil {
			return err
		}
		if err := fn(total, items); err != nil {
			return err
		}
		seen += len(items)
		if len(items) < pageSize || (total >= 0 && seen >= total) {
			return nil
		}
	}
}
