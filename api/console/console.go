// Package console holds the admin console's static files (static/) and
// serves them: hand-written HTML, CSS and ES modules, embedded in the binary
// so that the console needs no build step and no network at run time. The
// console's sessions and its door to the Management API are served by
// package api (api/console.go); this package only serves files.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// static is the console's files, read-only.
//
//go:embed static
var static embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console"

// asset is one file ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Files serves the console's files: a path with a file extension is the
// file of that name under static/, any other path under Prefix is a page
// of the console, which the client-side router draws from index.html. Build
// it with New.
type Files struct {
	assets map[string]*asset // by path under static/; pages are "index.html"
}

// New reads the embedded files and computes each one's ETag once.
func New() (*Files, error) {
	f := &Files{assets: map[string]*asset{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		if path.Ext(p) == ".js" {
			ct = "text/javascript; charset=utf-8" // whatever the host's mime table says
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		f.assets[strings.TrimPrefix(p, "static/")] = &asset{body: body, contentType: ct,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console files: %w", err)
	}
	if f.assets["index.html"] == nil {
		return nil, fmt.Errorf("console files: no index.html")
	}
	return f, nil
}

// ServeHTTP serves GET and HEAD of a console file or page. Every answer
// carries an ETag and Cache-Control: no-cache, so a browser revalidates
// (a 304 without a body) and never runs the files of an older binary.
// Security headers are the caller's (api/console.go), set for every
// answer under Prefix.
func (f *Files) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, Prefix), "/")
	name := rel
	if path.Ext(rel) == "" {
		name = "index.html" // a page of the client-side router
	}
	a := f.assets[name]
	if a == nil || strings.Contains(rel, "..") {
		http.Error(w, "Not found.", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
