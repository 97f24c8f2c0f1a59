package logtoimport_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idbolt/idbolt/api/apitest"
	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/logtoimport"
)

// fault makes the source answer requests to path with status and body, the
// first times times (0: always).
type fault struct {
	path   string
	status int
	body   string
	times  int32
}

// faultySource serves src's API and answers as f for f.path.
func faultySource(t *testing.T, src *apitest.Server, f *fault) *httptest.Server {
	var seen atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f != nil && r.URL.Path == f.path && (f.times == 0 || seen.Add(1) <= f.times) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f.status)
			w.Write([]byte(f.body))
			return
		}
		src.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// openTarget opens a new data file with tenant default, as the import
// command does, and checks its integrity when the test ends.
func openTarget(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "target.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	key, err := auth.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Bootstrap(ctx, store.NewTenant{ID: store.DefaultTenant, Name: "Default", SigningKey: key, System: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.CheckIntegrity(ctx); err != nil {
			t.Errorf("integrity: %v", err)
		}
		db.Close()
	})
	return db
}

// progressLog records what an Importer tells its Progress, one line a call.
type progressLog struct{ bytes.Buffer }

func (p *progressLog) Start(name string, total int) { fmt.Fprintf(p, "start %s %d\n", name, total) }
func (p *progressLog) SetTotal(total int)           { fmt.Fprintf(p, "total %d\n", total) }
func (p *progressLog) Add(n int)                    { fmt.Fprintf(p, "add %d\n", n) }
func (p *progressLog) Done(result string)           { fmt.Fprintf(p, "done %s\n", result) }

// runImport imports from base into db and returns the summary, the error
// and the calls of its progress.
func runImport(t *testing.T, base, secret string, db *store.DB) (*logtoimport.Summary, string, error) {
	t.Helper()
	var progress progressLog
	var secrets bytes.Buffer
	src := logtoimport.NewSource(base, "https://default.logto.app/api", "apitest-admin", secret, nil)
	if err := src.Connect(context.Background()); err != nil {
		return nil, "", err
	}
	im := &logtoimport.Importer{Source: src, DB: db, Tenant: store.DefaultTenant, Secrets: &secrets,
		Progress: &progress}
	sum, err := im.Run(context.Background())
	return sum, progress.String(), err
}

func kind(s *logtoimport.Summary, name string) logtoimport.KindSummary {
	for _, k := range s.Kinds {
		if k.Kind == name {
			return *k
		}
	}
	return logtoimport.KindSummary{}
}

// TestImporter_SourceErrors checks that what the source does wrong (a
// refused token, a 5xx, a body that is not JSON, a page that claims
// passwords without digests) stops the import with a message naming the
// request and the status, leaves a consistent file (the cleanup's
// integrity check), and that a run against the mended source goes on
// from there: what was copied is skipped, the rest copied. A 503 the
// source answers once is retried.
func TestImporter_SourceErrors(t *testing.T) {
	src := apitest.Start(t)
	if src.ClientID != "apitest-admin" {
		t.Fatalf("admin client %q", src.ClientID)
	}
	ctx := context.Background()
	for i := range 5 {
		name, pw := fmt.Sprintf("user%d", i), fmt.Sprintf("Passw0rd-%d!", i)
		if _, err := src.DB.CreateUser(ctx, store.DefaultTenant, store.UserCreate{Username: &name, Password: &pw}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := src.DB.CreateApplication(ctx, store.DefaultTenant, store.ApplicationCreate{Name: "m2m", Type: "MachineToMachine"}); err != nil {
		t.Fatal(err)
	}
	if _, err := src.DB.CreateOrganization(ctx, store.DefaultTenant, store.OrganizationCreate{Name: "Org"}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		fault     fault
		wantErr   string // "" when the run succeeds
		wantUsers int    // users copied by the faulty run
	}{
		{"token refused", fault{"/oidc/token", 401, `{"error":"invalid_client","error_description":"client authentication failed"}`, 0},
			"token request: 401 Unauthorized: invalid_client: client authentication failed (check --client-id", 0},
		{"5xx", fault{"/api/applications", 500, `{"code":"unknown","message":"boom"}`, 0},
			"GET /api/applications: 500 Internal Server Error: unknown: boom", 5},
		{"bad JSON", fault{"/api/organizations", 200, `[{"id":`, 0}, "GET /api/organizations: bad JSON", 5},
		{"no digests", fault{"/api/users", 200, `[{"id":"abcdefghijkl","hasPassword":true}]`, 0}, "has a password but no passwordDigest", 0},
		{"forbidden", fault{"/api/roles", 403, `{"code":"auth.forbidden","message":"Forbidden."}`, 0}, "403 Forbidden: auth.forbidden: Forbidden. (the source's application needs", 5},
		{"503 once", fault{"/api/users", 503, `{}`, 1}, "", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openTarget(t)
			sum, _, err := runImport(t, faultySource(t, src, &tc.fault).URL, src.ClientSecret, db)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if sum != nil {
				if got := kind(sum, logtoimport.KindUsers).Copied; got != tc.wantUsers {
					t.Errorf("faulty run copied %d users, want %d", got, tc.wantUsers)
				}
			}
			// Against the mended source, the import goes on from there.
			sum, progress, err := runImport(t, faultySource(t, src, nil).URL, src.ClientSecret, db)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			users, orgs := kind(sum, logtoimport.KindUsers), kind(sum, logtoimport.KindOrganizations)
			if users.Copied != 5-tc.wantUsers || users.Skipped != tc.wantUsers || users.Failed != 0 || orgs.Copied+orgs.Skipped != 1 {
				t.Errorf("second run: users %+v, organizations %+v", users, orgs)
			}
			if !strings.Contains(progress, "start users -1\ntotal 5\n") {
				t.Errorf("progress:\n%s", progress)
			}
		})
	}
}

// TestImporter_RefusedUser checks that a user the target refuses (an
// Argon2d digest, which idbolt cannot verify) fails alone, with its reason,
// while the rest of its page is copied.
func TestImporter_RefusedUser(t *testing.T) {
	src := apitest.Start(t)
	page := `[{"id":"okuser000001","username":"ok","hasPassword":true,"passwordAlgorithm":"SHA256",
	"passwordDigest":"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8","isSuspended":true},
	{"id":"baduser00001","username":"bad","hasPassword":true,"passwordAlgorithm":"Argon2d",
	"passwordDigest":"$argon2d$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"},
	{"id":"nopass000001","username":"nopass","hasPassword":false,"passwordDigest":null,"passwordAlgorithm":null}]`
	db := openTarget(t)
	sum, _, err := runImport(t, faultySource(t, src, &fault{"/api/users", 200, page, 0}).URL, src.ClientSecret, db)
	if err != nil {
		t.Fatal(err)
	}
	users := kind(sum, logtoimport.KindUsers)
	if users.Copied != 2 || users.Failed != 1 || len(users.Reasons) != 1 {
		t.Fatalf("users %+v", users)
	}
	for reason := range users.Reasons {
		if !strings.Contains(reason, "baduser00001") || !strings.Contains(reason, "Argon2d") {
			t.Errorf("reason %q", reason)
		}
	}
	ok, err := db.FindUserByID(context.Background(), store.DefaultTenant, "okuser000001")
	if err != nil || !ok.IsSuspended || !ok.HasPassword {
		t.Errorf("okuser000001: %+v %v", ok, err)
	}
	if _, err := db.FindUserByID(context.Background(), store.DefaultTenant, "baduser00001"); store.ErrorCode(err) != store.ENOTFOUND {
		t.Errorf("baduser00001: %v", err)
	}
	var out bytes.Buffer
	sum.Write(&out)
	if !strings.Contains(out.String(), "users:                     copied 2, skipped 0, failed 1\n  1 failed: user baduser00001: ") {
		t.Errorf("summary:\n%s", out.String())
	}
}
