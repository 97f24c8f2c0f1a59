package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"time"

	"github.com/idbolt/idbolt/store"
)

// adminCmd runs "idbolt admin SUBCOMMAND": only reset-credentials so far.
func adminCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "reset-credentials" {
		return errors.New("usage: idbolt admin reset-credentials --data FILE [--tenant T] [--master-key-file F]")
	}
	return resetCredentials(ctx, args[1:], getenv, stdout, stderr)
}

// resetOpenTimeout is how long reset-credentials waits for the data file's
// lock: a running server holds it for good, so waiting longer helps nobody.
const resetOpenTimeout = 500 * time.Millisecond

// resetCredentials issues new credentials for a tenant's admin application
// (store.ResetAdminCredentials) in a data file no server holds, and shows
// them as the first start does: on the terminal, else in a 0600 file
// beside the data file.
func resetCredentials(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("admin reset-credentials", stderr)
	data := fs.String("data", cmp.Or(getenv("IDBOLT_DATA"), "./idbolt.db"), "data file; its server must be stopped (IDBOLT_DATA)")
	tenant := fs.String("tenant", cmp.Or(getenv("IDBOLT_TENANT"), store.DefaultTenant), "tenant whose admin application gets a new secret (IDBOLT_TENANT)")
	keyFile := fs.String("master-key-file", getenv("IDBOLT_MASTER_KEY_FILE"), "master key file; default DATA.key (IDBOLT_MASTER_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("reset-credentials: unexpected arguments: %v", fs.Args())
	}
	if _, err := os.Stat(*data); err != nil {
		return fmt.Errorf("reset-credentials: %w", err) // Open would create a new file
	}
	if _, err := os.Stat(*data + ".raft"); err == nil {
		return fmt.Errorf("reset-credentials: %s belongs to a cluster node (%s.raft exists): a change made here would not reach the other nodes; "+
			"use an instance administrator of the running cluster (POST /system/admins), or restore every node from one file first", *data, *data)
	}
	db, err := store.Open(ctx, *data, store.Options{OpenTimeout: resetOpenTimeout, MasterKeyFile: *keyFile})
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("reset-credentials: %s is locked by a running server: stop it first, then run this again", *data)
	}
	if err != nil {
		return fmt.Errorf("reset-credentials: %w", err)
	}
	defer db.Close()
	if _, err := db.FindTenantByID(ctx, *tenant); err != nil {
		return fmt.Errorf("reset-credentials: %w", err)
	}
	sink, err := openCredentialsSink(stderr, *data)
	if err != nil {
		return fmt.Errorf("reset-credentials: %w", err)
	}
	ctx = store.NewContextWithActor(ctx, store.Actor{UserAgent: "idbolt admin reset-credentials"})
	reset, err := db.ResetAdminCredentials(ctx, *tenant)
	if err != nil {
		sink.discard()
		return fmt.Errorf("reset-credentials: %w", err)
	}
	if err := db.Close(); err != nil {
		sink.discard()
		return fmt.Errorf("reset-credentials: close %s: %w", *data, err)
	}
	what := "New credentials of its admin application (other secrets of that application are revoked)"
	if reset.Created {
		what = "It had no admin application left; a new one was made with the same rights"
	}
	if err := sink.write(*tenant, reset.TenantCredentials, what); err != nil {
		return fmt.Errorf("reset-credentials: %w", err)
	}
	if sink.file != nil {
		fmt.Fprintf(stdout, "idbolt: new credentials of tenant %q's admin application %s written to %s (mode 0600)\n", *tenant, reset.ClientID, sink.path)
	}
	return nil
}

// credentialsSink is where generated admin credentials go, so that they
// never enter the log stream: the terminal when stderr is one, else a file
// DATA.credentials that only the owner can read. The file is created before
// the credentials exist, with O_EXCL, so a file left from an earlier run is
// never overwritten, nor a symlink planted there followed (O_EXCL fails on
// any existing name, a dangling symlink included), and a failure costs
// nothing.
type credentialsSink struct {
	terminal io.Writer // set when stderr is a terminal
	file     *os.File
	path     string
}

// credentialsFile returns the path of the credentials file of data file path.
func credentialsFile(data string) string { return data + ".credentials" }

// openCredentialsSink chooses the terminal or creates the file.
func openCredentialsSink(stderr io.Writer, data string) (*credentialsSink, error) {
	if f, ok := stderr.(*os.File); ok && isTerminal(f) {
		return &credentialsSink{terminal: stderr}, nil
	}
	path := credentialsFile(data)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, iofs.ErrExist) {
		return nil, fmt.Errorf("%s exists (credentials written earlier?): move or delete it, then start again", path)
	}
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	return &credentialsSink{file: f, path: path}, nil
}

// write shows creds of tenant's admin application, with what says how they
// came about, and closes the sink.
func (s *credentialsSink) write(tenant string, creds store.TenantCredentials, what string) error {
	if s.terminal != nil {
		_, err := fmt.Fprintf(s.terminal, "\nidbolt: tenant %q. %s. Its secret is shown only now:\n"+
			"  client id:     %s\n  client secret: %s\n\n", tenant, what, creds.ClientID, creds.ClientSecret)
		return err
	}
	// Shell syntax, so that a script can source it for idbolt backup.
	_, err := fmt.Fprintf(s.file, "# idbolt: tenant %q, %s.\n# %s.\n# Keep these safe, then delete this file.\n"+
		"IDBOLT_TENANT=%s\nIDBOLT_CLIENT_ID=%s\nIDBOLT_CLIENT_SECRET=%s\n",
		tenant, time.Now().UTC().Format(time.RFC3339), what, tenant, creds.ClientID, creds.ClientSecret)
	if err == nil {
		err = s.file.Sync()
	}
	if cerr := s.file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	return nil
}

// discard removes the file of credentials that were never made.
func (s *credentialsSink) discard() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.path)
	}
}
