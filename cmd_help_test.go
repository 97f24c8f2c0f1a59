package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// flagBlockRE matches one flag of flag.PrintDefaults: "  -name type" and
// its indented usage lines.
var flagBlockRE = regexp.MustCompile(`(?m)^  -(\S+)(?: (\S+))?\n((?:    \t.*\n?)+)`)

// helpFlags runs idbolt help NAME with env and returns its flags: name to
// type ("" for a bool) and usage.
func helpFlags(t *testing.T, name string, env map[string]string) map[string][2]string {
	t.Helper()
	var out bytes.Buffer
	args := append([]string{"help"}, strings.Fields(name)...)
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("help %s: %v\n%s", name, err, out.String())
	}
	flags := map[string][2]string{}
	for _, m := range flagBlockRE.FindAllStringSubmatch(out.String(), -1) {
		flags[m[1]] = [2]string{m[2], m[3]}
	}
	if !strings.HasPrefix(out.String(), "usage: idbolt "+name) {
		t.Errorf("help %s starts with %q", name, strings.SplitN(out.String(), "\n", 2)[0])
	}
	return flags
}

var envNameRE = regexp.MustCompile(`\((IDBOLT_[A-Z0-9_]+)\)`)

// TestHelp_EveryFlagHasAnEnvironmentVariable: every flag of every command
// names its environment variable, and that variable really sets the flag
// (the default help shows changes to it).
func TestHelp_EveryFlagHasAnEnvironmentVariable(t *testing.T) {
	for _, c := range commands {
		if c.name == "help" || c.name == "version" {
			continue
		}
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			flags := helpFlags(t, c.name, nil)
			if len(flags) == 0 {
				t.Fatal("no flags listed")
			}
			for name, f := range flags {
				m := envNameRE.FindStringSubmatch(f[1])
				if m == nil {
					t.Errorf("--%s names no environment variable: %q", name, f[1])
					continue
				}
				if f[0] != "string" {
					continue // only a string flag can take any sentinel value
				}
				sentinel := "sentinel-of-" + strings.ToLower(m[1])
				again := helpFlags(t, c.name, map[string]string{m[1]: sentinel})
				if !strings.Contains(again[name][1], `(default "`+sentinel+`")`) {
					t.Errorf("--%s: %s does not set it: %q", name, m[1], again[name][1])
				}
			}
		})
	}
}

// TestHelp_ListsEveryCommandAndFlag: idbolt --help, -h and help print every
// command and, for each, the flags its own help lists.
func TestHelp_ListsEveryCommandAndFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		out, err := runCmd(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		for _, c := range commands {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("%v does not list command %q", args, c.name)
			}
			if c.name == "help" || c.name == "version" {
				continue
			}
			section := out[strings.Index(out, "usage: idbolt "+c.name+" [flags]"):]
			if next := strings.Index(section[1:], "usage: idbolt "); next >= 0 {
				section = section[:next+1]
			}
			for name, f := range helpFlags(t, c.name, nil) {
				if !strings.Contains(section, "  -"+name+" ") && !strings.Contains(section, "  -"+name+"\n") {
					t.Errorf("%v: command %s lacks --%s (%s)", args, c.name, name, f[1])
				}
			}
		}
	}
}

func TestRun_HelpAndMisuse(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		wantUsage bool // a usage error, for exit status 2
		wantOut   string
	}{
		{[]string{"serve", "--help"}, false, "usage: idbolt serve [flags]"},
		{[]string{"backup", "-h"}, false, "usage: idbolt backup [flags]"},
		{[]string{"help", "serve"}, false, "-shutdown-timeout string"},
		{[]string{"help", "cluster"}, false, "usage: idbolt cluster init-certs [flags]"},
		{[]string{"--version"}, false, "idbolt "},
		{[]string{"frobnicate"}, true, ""},
		{[]string{"help", "frobnicate"}, true, ""},
		{[]string{"cluster", "frobnicate"}, false, ""}, // exit 1, as before: the command is known
		{[]string{"admin"}, false, ""},
	} {
		out, err := runCmd(tc.args...)
		var misuse *usageError
		wantErr := tc.wantUsage || tc.wantOut == ""
		if isUsage := err != nil && errors.As(err, &misuse); isUsage != tc.wantUsage || (err != nil) != wantErr {
			t.Errorf("%v: err %v, want usage error %v", tc.args, err, tc.wantUsage)
		}
		if !strings.Contains(out, tc.wantOut) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.wantOut, out)
		}
	}
}

func TestVersion_BuildInfo(t *testing.T) {
	out, err := runCmd("version")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^idbolt \S+\ncommit: \S+.*\ndate: \S+\ngo: go\S* \S+/\S+\n$`).MatchString(out) {
		t.Errorf("version output:\n%s", out)
	}
}
