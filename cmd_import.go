package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/idbolt/idbolt/auth"
	"github.com/idbolt/idbolt/store"
	"github.com/idbolt/idbolt/store/logtoimport"
)

// importUsage is the synopsis of "idbolt import".
const importUsage = "usage: idbolt import logto --from URL --client-id ID --client-secret-file F --data FILE [--tenant T] [--resource URI] [--secrets-out F] [--master-key-file F]"

// importCmd runs "idbolt import logto": it copies a Logto tenant, read
// through its Management API, into a data file that no server holds (the
// file is opened and locked as serve opens it). The source is asked first,
// so wrong credentials leave the data file untouched.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "logto" {
		return errors.New(importUsage)
	}
	fs := newFlagSet("import logto", stderr)
	env := func(name, def string) string { return cmp.Or(getenv(name), def) }
	from := fs.String("from", env("IDBOLT_FROM", ""), "URL of the source's Management API server, e.g. https://auth.example.com; an idbolt tenant T: http://host:3001/t/T (IDBOLT_FROM)")
	clientID := fs.String("client-id", env("IDBOLT_CLIENT_ID", ""), "source application with the Management API role (scope all) (IDBOLT_CLIENT_ID)")
	secretFile := fs.String("client-secret-file", env("IDBOLT_CLIENT_SECRET_FILE", ""), "file holding that application's secret (IDBOLT_CLIENT_SECRET_FILE)")
	resource := fs.String("resource", env("IDBOLT_RESOURCE", "https://default.logto.app/api"), "the source's Management API resource: https://default.logto.app/api for Logto OSS, https://TENANT.logto.app/api for Logto Cloud (IDBOLT_RESOURCE)")
	data := fs.String("data", env("IDBOLT_DATA", "./idbolt.db"), "data file to import into, created if missing; its server must be stopped (IDBOLT_DATA)")
	tenant := fs.String("tenant", env("IDBOLT_TENANT", store.DefaultTenant), "tenant of the data file to import into, created if missing (IDBOLT_TENANT)")
	secretsOut := fs.String("secrets-out", env("IDBOLT_SECRETS_OUT", ""), "file (mode 0600) the new application secrets are appended to, one JSON line each; default DATA.import-secrets (IDBOLT_SECRETS_OUT)")
	masterKey := fs.String("master-key-file", env("IDBOLT_MASTER_KEY_FILE", ""), "the data file's master key; default DATA.key, created if missing (IDBOLT_MASTER_KEY_FILE)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *from == "" || *clientID == "" || *secretFile == "" || fs.NArg() > 0 {
		return errors.New("import logto needs --from, --client-id and --client-secret-file (and no other arguments); " + importUsage)
	}
	secret, err := os.ReadFile(*secretFile)
	if err != nil {
		return fmt.Errorf("--client-secret-file: %w", err)
	}
	if u, err := url.Parse(*from); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--from %q: want an http or https URL", *from)
	} else if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		fmt.Fprintf(stderr, "idbolt: warning: --from is plain http: the client secret and every password digest cross the network unencrypted\n")
	}
	src := logtoimport.NewSource(*from, *resource, *clientID, strings.TrimSpace(string(secret)), nil)
	if err := src.Connect(ctx); err != nil {
		return fmt.Errorf("import: %w", err)
	}

	db, err := store.Open(ctx, *data, store.Options{MasterKeyFile: *masterKey,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer db.Close()
	secrets, err := openSecretsFile(cmp.Or(*secretsOut, *data+".import-secrets"))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer secrets.Close()
	if err := bootstrap(ctx, db, *data, "ES256", getenv, stderr, slog.New(slog.NewTextHandler(stderr, nil))); err != nil {
		return err
	}
	if err := ensureImportTenant(ctx, db, *tenant, secrets, stderr); err != nil {
		return fmt.Errorf("import: %w", err)
	}

	im := &logtoimport.Importer{Source: src, DB: db, Tenant: *tenant, Secrets: secrets,
		Progress: &importProgress{w: stderr}}
	summary, err := im.Run(ctx)
	fmt.Fprintf(stdout, "idbolt: import from %s into %s (tenant %s)\n", *from, *data, *tenant)
	summary.Write(stdout)
	copied, skipped := 0, 0
	for _, k := range summary.Kinds {
		copied, skipped = copied+k.Copied, skipped+k.Skipped
	}
	fmt.Fprintf(stdout, "copied %d, skipped %d, failed %d; new application secrets are in %s\n",
		copied, skipped, summary.Failed(), secrets.Name())
	if err != nil {
		return fmt.Errorf("import stopped, the file holds what was copied so far and a new run goes on from there: %w", err)
	}
	if n := summary.Failed(); n > 0 {
		return fmt.Errorf("import: %d entries failed (reasons above)", n)
	}
	return secrets.Sync()
}

// openSecretsFile opens path for appending, creating it with mode 0600;
// a file that others may read is refused, since it will hold secrets.
func openSecretsFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--secrets-out: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = fmt.Errorf("%s has mode %s: others could read the secrets (chmod 600 it)", path, fi.Mode().Perm())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--secrets-out: %w", err)
	}
	return f, nil
}

// ensureImportTenant creates tenant id when the file lacks it, and writes
// the credentials of its new admin application to secrets.
func ensureImportTenant(ctx context.Context, db *store.DB, id string, secrets io.Writer, stderr io.Writer) error {
	if ok, err := db.TenantExists(ctx, id); err != nil || ok {
		return err
	}
	key, err := auth.GenerateKey("ES256")
	if err != nil {
		return err
	}
	_, creds, err := db.CreateTenant(ctx, store.NewTenant{ID: id, Name: id, SigningKey: key})
	if err != nil {
		return fmt.Errorf("create tenant %s: %w", id, err)
	}
	line, _ := json.Marshal(map[string]string{"tenant": id, "applicationId": creds.ClientID,
		"name": "admin application of the new tenant", "secret": creds.ClientSecret})
	if _, err := secrets.Write(append(line, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "idbolt: created tenant %q; its admin application's credentials are in the secrets file\n", id)
	return nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
