package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeOwnFiles are the files of package store that are neither storage
// machinery (db_*.go) nor named after the api/ file that serves their
// entity, each with what it holds.
var storeOwnFiles = map[string]string{
	"doc.go":                 "the package documentation",
	"store.go":               "Open, DB and Tx",
	"errors.go":              "the error model",
	"text.go":                "the text validation every entity shares",
	"jti.go":                 "JWT bearer assertions' used jtis, for the token endpoint (auth/)",
	"organization_tokens.go": "organization tokens, for the token endpoint (auth/)",
	"signing_keys.go":        "signing keys, served by api/configs.go and used by auth/",
	"resource_scopes.go":     "a resource's scopes, served by api/resources.go",
}

// TestLayout_FilesShowTheArchitecture fails when a file of package store is
// neither machinery (db_*.go), nor named after an api/ file (alone or with a
// suffix: users_search.go for api/users.go), nor listed in storeOwnFiles,
// and when storeOwnFiles lists a file that is gone: the file names are the
// map store/doc.go describes.
func TestLayout_FilesShowTheArchitecture(t *testing.T) {
	apiFiles, err := filepath.Glob("../api/*.go")
	if err != nil || len(apiFiles) == 0 {
		t.Fatalf("no api/ files: %v", err)
	}
	var apiStems []string
	for _, f := range apiFiles {
		if !strings.HasSuffix(f, "_test.go") {
			apiStems = append(apiStems, strings.TrimSuffix(filepath.Base(f), ".go"))
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "db_") {
			continue
		}
		if _, ok := storeOwnFiles[f]; ok {
			continue
		}
		stem := strings.TrimSuffix(f, ".go")
		named := false
		for _, s := range apiStems {
			if stem == s || strings.HasPrefix(stem, s+"_") {
				named = true
				break
			}
		}
		if !named {
			t.Errorf("store/%s is neither machinery (name it db_%s) nor named after the api/ file that serves its entity; rename it, or list it in storeOwnFiles with what it holds", f, f)
		}
	}
	for f := range storeOwnFiles {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("storeOwnFiles lists %s: %v", f, err)
		}
	}
}
