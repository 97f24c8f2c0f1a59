package store

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/idbolt/idbolt/store/kv"

	"github.com/idbolt/idbolt/pagination"
)

// tokenAuditPayload is what auth.audit queues for a successful
// client_credentials request sent with client_secret_post: nothing in it is
// in the record format's dictionary except the names and fixed values.
func tokenAuditPayload() AuditPayload {
	return AuditPayload{Key: "ExchangeTokenBy.ClientCredentials", Result: "Success", IP: "203.0.113.7",
		UserAgent: "python-requests/2.31.0", ApplicationID: "m1xq0ps5c8ns3ul6tfg2a",
		Params: map[string]string{"grant_type": "client_credentials", "client_id": "m1xq0ps5c8ns3ul6tfg2a",
			"client_secret": "s3cr3t", "resource": "https://api.example.com/v1", "scope": "read:users write:users"},
		TokenTypes: []string{"AccessToken"}}
}

// BenchmarkAudit_BytesPerTokenRequest writes the audit entries of 100,000
// successful token requests to a fresh file per iteration and reports what
// they take on disk per request: B/token counts the audit bucket's pages
// (bbolt's LeafAlloc + BranchAlloc, headers and free space included),
// file-B/token the data file's growth. "legacy" writes the record main
// wrote before issue 13 (JSON payload in an envelope, default half-full
// pages) in group commits of 2,000 as the audit writer did; "compact" goes
// through AuditAsync, the token endpoint's path. Run with -benchtime 1x.
func BenchmarkAudit_BytesPerTokenRequest(b *testing.B) {
	const requests = 100_000
	for _, format := range []string{"legacy", "compact"} {
		b.Run(format, func(b *testing.B) {
			var pages, grown int64
			for range b.N {
				b.StopTimer()
				ctx := context.Background()
				db := mustOpen(b)
				before := fileSize(b, db.Path())
				b.StartTimer()
				if format == "compact" {
					for range requests {
						db.AuditAsync(DefaultTenant, tokenAuditPayload())
					}
					if _, _, err := db.FindAuditEntries(ctx, DefaultTenant, AuditFilter{}, pagination.Params{Page: 1, PageSize: 1}); err != nil {
						b.Fatal(err)
					}
				} else {
					writeLegacyAudits(b, db, requests)
				}
				b.StopTimer()
				grown += fileSize(b, db.Path()) - before
				kv.View(db.bolt, func(btx *kv.Tx) error {
					s := btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketAudit).Stats()
					pages += int64(s.LeafAlloc + s.BranchAlloc)
					return nil
				})
				b.StartTimer()
			}
			b.ReportMetric(float64(pages)/float64(b.N*requests), "B/token")
			b.ReportMetric(float64(grown)/float64(b.N*requests), "file-B/token")
			b.ReportMetric(float64(b.N*requests)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// writeLegacyAudits appends n token request entries in the format and page
// fill of files written before issue 13.
func writeLegacyAudits(b *testing.B, db *DB, n int) {
	for done := 0; done < n; done += auditFlushSize {
		err := db.update(func(btx *kv.Tx) error {
			log := btx.Bucket(bucketTenants).Bucket([]byte(DefaultTenant)).Bucket(bucketAudit)
			for range min(auditFlushSize, n-done) {
				p := tokenAuditPayload()
				p.Params["client_secret"] = "******"
				seq, err := log.NextSequence()
				if err != nil {
					return err
				}
				r := auditRecord{ID: auditID(seq, randomSuffix()), Key: p.Key, Payload: p.appendJSON(nil), CreatedAt: msec(time.Now())}
				if err := log.Put(itob(seq), encodeLegacyAudit(r)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkAudit_Read reads a log of 20,000 token request entries in either
// format: "page" is page 1 of 100 entries unfiltered, "scan" an
// applicationId filter that matches none, so every record is decoded.
func BenchmarkAudit_Read(b *testing.B) {
	const entries = 20_000
	for _, format := range []string{"legacy", "compact"} {
		ctx := context.Background()
		db := mustOpen(b)
		if format == "compact" {
			for range entries {
				db.AuditAsync(DefaultTenant, tokenAuditPayload())
			}
		} else {
			writeLegacyAudits(b, db, entries)
		}
		for _, read := range []struct {
			name   string
			filter AuditFilter
		}{{"page", AuditFilter{}}, {"scan", AuditFilter{ApplicationID: "nobody"}}} {
			b.Run(format+"/"+read.name, func(b *testing.B) {
				for range b.N {
					if _, _, err := db.FindAuditEntries(ctx, DefaultTenant, read.filter, pagination.Params{Page: 1, PageSize: 100}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkAudit_Encode is the token endpoint's share of auditing: encoding
// one entry for the queue, as AuditAsync did before issue 13 (the JSON
// payload; the envelope was added by the audit writer) and as it does now.
func BenchmarkAudit_Encode(b *testing.B) {
	p := tokenAuditPayload()
	b.Run("legacy", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			p.appendJSON(make([]byte, 0, 384))
		}
	})
	b.Run("compact", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := appendCompactAudit(make([]byte, 0, 160), p.Key, 1795280000000, "abcdefgh", &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
