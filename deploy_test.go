package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRelease builds idbolt with deploy/build.sh, as a release is built,
// and checks the binary: static, without local paths, stamped; then, as a
// real process, its help and misuse exit statuses and the healthcheck
// command against a running and a stopped server.
func TestRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: builds the release binary")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the release recipe and the ELF checks are for Linux")
	}
	out := t.TempDir()
	const stamp = "9.8.7-test"
	cmd := exec.Command("sh", "deploy/build.sh")
	cmd.Env = append(os.Environ(), "OUT="+out, "PLATFORMS="+runtime.GOOS+"/"+runtime.GOARCH,
		"VERSION="+stamp, "COMMIT=0123456789abcdef", "BUILD_DATE=2026-12-04T00:00:00Z")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deploy/build.sh: %v\n%s", err, b)
	}
	bin := filepath.Join(out, "idbolt-"+stamp+"-"+runtime.GOOS+"-"+runtime.GOARCH)

	t.Run("Static", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("program header %v: the binary is dynamically linked", p.Type)
			}
		}
		if s := f.Section(".dynamic"); s != nil {
			t.Error("the binary has a .dynamic section")
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("the binary needs %v", libs)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		wd, _ := os.Getwd()
		if bytes.Contains(data, []byte(wd)) {
			t.Errorf("the binary holds the build directory %s: built without -trimpath", wd)
		}
	})

	t.Run("Version", func(t *testing.T) {
		for _, arg := range []string{"version", "--version"} {
			got, err := exec.Command(bin, arg).Output()
			want := "idbolt " + stamp + "\ncommit: 0123456789abcdef\ndate: 2026-12-04T00:00:00Z\n"
			if err != nil || !strings.HasPrefix(string(got), want) {
				t.Errorf("%s: %v\n%s\nwant it to start with\n%s", arg, err, got, want)
			}
		}
	})

	t.Run("ExitStatus", func(t *testing.T) {
		for _, tc := range []struct {
			args   []string
			status int
			want   string // in stdout and stderr together
		}{
			{[]string{"--help"}, 0, "admin reset-credentials"},
			{[]string{"-h"}, 0, "IDBOLT_SHUTDOWN_TIMEOUT"},
			{[]string{"help"}, 0, "IDBOLT_HEALTHCHECK_URL"},
			{[]string{"help", "serve"}, 0, "IDBOLT_ADDR"},
			{[]string{"serve", "--help"}, 0, "IDBOLT_DATA"},
			{[]string{"frobnicate"}, 2, "Commands:"},
			{[]string{"serve", "--no-such-flag"}, 1, "flag provided but not defined"},
		} {
			got, err := exec.Command(bin, tc.args...).CombinedOutput()
			status := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tc.status || !strings.Contains(string(got), tc.want) {
				t.Errorf("idbolt %v: exit %d, want %d with %q in\n%s", tc.args, status, tc.status, tc.want, got)
			}
		}
	})

	t.Run("Healthcheck", func(t *testing.T) {
		server, base, _ := startProcess(t, bin, filepath.Join(t.TempDir(), "idbolt.db"))
		check := exec.Command(bin, "healthcheck")
		check.Env = append(os.Environ(), "IDBOLT_HEALTHCHECK_URL="+base)
		if b, err := check.CombinedOutput(); err != nil {
			t.Errorf("healthcheck of a running server: %v\n%s", err, b)
		}
		server.Process.Signal(syscall.SIGTERM)
		server.Wait()
		check = exec.Command(bin, "healthcheck", "--url", base, "--timeout", "2s")
		start := time.Now()
		b, err := check.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("healthcheck of a stopped server: %v, want exit status 1\n%s", err, b)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("healthcheck of a stopped server took %v", d)
		}
	})
}

// dockerInstruction is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstruction struct {
	op, args string
}

// dockerStage is one FROM and the instructions under it.
type dockerStage struct {
	image, name string
	body        []dockerInstruction
}

func (s dockerStage) all(op string) []string {
	var out []string
	for _, in := range s.body {
		if in.op == op {
			out = append(out, in.args)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into its stages. Docker is not
// installed here, so this is as far as the image is tested: the stages and
// instructions the image depends on, not a build.
func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages []dockerStage
	var line strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if line.Len() == 0 && (text == "" || strings.HasPrefix(text, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(text)
		op, args, _ := strings.Cut(line.String(), " ")
		line.Reset()
		op, args = strings.ToUpper(op), strings.TrimSpace(args)
		if op == "FROM" {
			f := strings.Fields(args)
			st := dockerStage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, op)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, dockerInstruction{op, args})
	}
	return stages
}

func TestDeploy_Dockerfile(t *testing.T) {
	stages := parseDockerfile(t, "deploy/Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a final one", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if !strings.HasPrefix(build.image, "golang:"+string(goVersion[1])) || build.name == "" {
		t.Errorf("build stage FROM %s AS %q, want golang:%s AS a name", build.image, build.name, goVersion[1])
	}
	runs := strings.Join(build.all("RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-X main.commit=", "-X main.buildDate=", "go build"} {
		if !strings.Contains(runs, want) {
			t.Errorf("build stage does not run %q", want)
		}
	}

	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") && final.image != "scratch" {
		t.Errorf("final stage FROM %s, want distroless/static or scratch", final.image)
	}
	users := final.all("USER")
	if len(users) == 0 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(users[len(users)-1]) {
		t.Errorf("final stage USER %v, want a numeric non-root user", users)
	}
	var copied []string
	for _, c := range final.all("COPY") {
		if !strings.Contains(c, "--from="+build.name) {
			t.Errorf("COPY %s: not from the build stage", c)
		}
		f := strings.Fields(c)
		copied = append(copied, f[len(f)-1])
	}
	env := strings.Join(final.all("ENV"), " ")
	for _, want := range []string{"IDBOLT_DATA=/data/idbolt.db", "IDBOLT_ADDR=:3001"} {
		if !strings.Contains(env, want) {
			t.Errorf("final stage ENV lacks %s", want)
		}
	}
	if v := final.all("VOLUME"); !slices.Contains(v, "/data") || !slices.Contains(copied, "/data") {
		t.Errorf("VOLUME %v, copied %v: want /data, made in the build stage and owned by the user", v, copied)
	}
	if e := final.all("EXPOSE"); !slices.Contains(e, "3001") {
		t.Errorf("EXPOSE %v, want 3001", e)
	}
	entry := final.all("ENTRYPOINT")
	if len(entry) != 1 || !slices.Contains(copied, "/idbolt") || entry[0] != `["/idbolt"]` {
		t.Errorf("ENTRYPOINT %v, copied %v: want the copied binary", entry, copied)
	}
	hc := final.all("HEALTHCHECK")
	if len(hc) != 1 || !strings.Contains(hc[0], `CMD ["/idbolt", "healthcheck"]`) || !strings.Contains(hc[0], "--timeout=") {
		t.Errorf("HEALTHCHECK %v, want idbolt healthcheck with a timeout", hc)
	}
}

func TestDeploy_SystemdUnit(t *testing.T) {
	data, err := os.ReadFile("deploy/idbolt.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, want := range []string{
		"DynamicUser=yes", "StateDirectory=idbolt", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"NoNewPrivileges=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=", "SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes", "LimitNOFILE=", "EnvironmentFile=-", "ExecReload=/bin/kill -HUP $MAINPID",
		"ExecStart=/usr/local/bin/idbolt serve", "Environment=IDBOLT_DATA=/var/lib/idbolt/",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit was checked for its settings only")
	}
	// verify needs ExecStart to be executable: put this test binary there.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idbolt.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/idbolt", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
