package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one line of the command list that usage prints. Its flags are
// not listed here: help runs the command with -h, so the list printed is the
// one its flag set really parses and cannot drift from it.
type command struct {
	name    string // as typed after idbolt, e.g. "cluster init-certs"
	summary string
}

// commands lists every command, in the order usage shows them. A new
// command needs a line here as well as its case in run.
var commands = []command{
	{"serve", "serve the Management API (the default command)"},
	{"backup", "download a checked copy of a running server's data file"},
	{"restore", "replace a stopped server's data file with a checked backup"},
	{"rotate-master-key", "re-encrypt a stopped server's data file under a new master key"},
	{"admin reset-credentials", "issue a new secret for a tenant's admin application (server stopped)"},
	{"healthcheck", "exit 0 if a server answers /api/status/ready, 1 otherwise (for Docker and monitors)"},
	{"cluster init-certs", "write the cluster CA and node certificates"},
	{"import logto", "copy a running Logto (or idbolt) through its Management API into a data file no server holds"},
	{"version", "print the version, commit and build date"},
	{"help", "print this help, or one command's: idbolt help COMMAND"},
}

// usageError is an invocation that names no known command: main prints the
// usage and exits 2, as for any misuse of a command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// isHelpFlag reports whether arg asks for help rather than naming a flag.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// isVersionFlag reports whether arg asks for the version.
func isVersionFlag(arg string) bool {
	switch arg {
	case "-version", "--version":
		return true
	}
	return false
}

// newFlagSet returns the flag set of command name whose -h prints its
// summary and flags to output.
func newFlagSet(name string, output io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("idbolt "+name, flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: idbolt %s [flags]\n", name)
		for _, c := range commands {
			if c.name == name {
				fmt.Fprintf(fs.Output(), "\n%s.\n", upperFirst(c.summary))
			}
		}
		fmt.Fprintln(fs.Output(), "\nFlags (each can be set instead by the environment variable in parentheses):")
		fs.PrintDefaults()
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// help prints the usage of every command with its flags, or, with a
// command name as argument, only that command's.
func help(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		name := strings.Join(args, " ")
		for _, c := range commands {
			if c.name == name || strings.HasPrefix(c.name, name+" ") {
				return commandHelp(ctx, c, getenv, stdout)
			}
		}
		return &usageError{fmt.Sprintf("help: unknown command %q", name)}
	}
	fmt.Fprint(stdout, usage())
	for _, c := range commands {
		if c.name == "help" || c.name == "version" {
			continue
		}
		fmt.Fprintf(stdout, "\n")
		if err := commandHelp(ctx, c, getenv, stdout); err != nil {
			return err
		}
	}
	return nil
}

// commandHelp prints c's usage by running it with -h, which its flag set
// answers with flag.ErrHelp before the command does anything.
func commandHelp(ctx context.Context, c command, getenv func(string) string, stdout io.Writer) error {
	if c.name == "help" || c.name == "version" {
		fmt.Fprintf(stdout, "usage: idbolt %s\n\n%s.\n", c.name, upperFirst(c.summary))
		return nil
	}
	var out bytes.Buffer
	err := run(ctx, append(strings.Fields(c.name), "-h"), getenv, &out, &out)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return fmt.Errorf("help %s: %w", c.name, err)
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// usage is the short list of commands printed by idbolt help and after a
// misused command line.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: idbolt [COMMAND] [flags]\n\nidbolt is a multi-tenant, Logto-compatible identity Management API server with its data in one file.\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-24s %s\n", c.name, c.summary)
	}
	b.WriteString("\nidbolt help COMMAND (or idbolt COMMAND --help) lists a command's flags; idbolt --help lists them all.\n")
	return b.String()
}
