package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Release builds stamp these with -ldflags "-X main.version=1.2.3 -X
// main.commit=... -X main.buildDate=...", as deploy/build.sh does; empty
// means "read them from the build info Go embeds" (module version, VCS
// revision and commit time), which a build without .git lacks.
var (
	version   string
	commit    string
	buildDate string
)

// devVersion is the version of a build neither stamped nor built as a
// tagged module (go build in a checkout reports "(devel)").
const devVersion = "0.1.0-dev"

// buildInfo is what idbolt version prints.
type buildInfo struct {
	Version   string
	Commit    string // VCS revision, "unknown" when not recorded
	Modified  bool   // the build had uncommitted changes
	Date      string // the stamped build date, else the commit's date
	GoVersion string
	Platform  string
}

// readBuildInfo merges the stamped values over runtime/debug's build info.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: buildDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = cmp.Or(b.Commit, s.Value)
			case "vcs.time":
				b.Date = cmp.Or(b.Date, s.Value)
			case "vcs.modified":
				b.Modified = commit == "" && s.Value == "true"
			}
		}
	}
	b.Version = cmp.Or(b.Version, devVersion)
	b.Commit = cmp.Or(b.Commit, "unknown")
	b.Date = cmp.Or(b.Date, "unknown")
	return b
}

// printVersion writes the version, then one "key: value" line each for
// the commit, the date and the toolchain.
func printVersion(w io.Writer) {
	b := readBuildInfo()
	modified := ""
	if b.Modified {
		modified = " (modified)"
	}
	fmt.Fprintf(w, "idbolt %s\ncommit: %s%s\ndate: %s\ngo: %s %s\n", b.Version, b.Commit, modified, b.Date, b.GoVersion, b.Platform)
}
