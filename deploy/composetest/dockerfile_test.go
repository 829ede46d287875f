package composetest

import (
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct{ cmd, args string }

// stages splits the Dockerfile into stages by FROM, keyed by stage name ("" before any).
func parseDockerfile(t *testing.T) (order []string, stages map[string][]instruction) {
	t.Helper()
	stages = map[string][]instruction{}
	cur := ""
	var buf strings.Builder
	for _, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if buf.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			buf.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		buf.WriteString(trimmed)
		cmd, args, _ := strings.Cut(buf.String(), " ")
		buf.Reset()
		in := instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			cur = f[len(f)-1]
			order = append(order, cur)
		}
		stages[cur] = append(stages[cur], in)
	}
	return order, stages
}

func find(ins []instruction, cmd string) []string {
	var out []string
	for _, in := range ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// TestDockerfile checks what the image promises, since no Docker engine runs in CI: a
// static, stamped build on golang:1.26; distroless nonroot final stages running as a
// numeric non-root user; the healthcheck subcommand; the ports; the /data volume.
func TestDockerfile(t *testing.T) {
	order, st := parseDockerfile(t)
	if len(order) != 3 || order[len(order)-1] != "bridge" {
		t.Fatalf("stages %v: want build, sim, bridge (bridge last: the default target)", order)
	}
	build := st["build"]
	if from := find(build, "FROM"); len(from) != 1 || !strings.HasPrefix(from[0], "golang:${GO_VERSION}") {
		t.Errorf("build FROM %v", from)
	}
	if !slicesHas(find(st[""], "ARG"), "GO_VERSION=1.26") {
		t.Errorf("ARG GO_VERSION=1.26 missing")
	}
	run := strings.Join(find(build, "RUN"), " ")
	for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}",
		"./cmd/rhombus-bridge", "./cmd/rhombus-sim"} {
		if !strings.Contains(run, want) {
			t.Errorf("build RUN lacks %q", want)
		}
	}
	if !strings.Contains(strings.Join(find(build, "ENV"), " "), "CGO_ENABLED=0") {
		t.Errorf("build stage does not set CGO_ENABLED=0")
	}
	for _, name := range []string{"sim", "bridge"} {
		s := st[name]
		if from := find(s, "FROM"); len(from) != 1 || !strings.HasPrefix(from[0], "gcr.io/distroless/static-debian12:nonroot ") {
			t.Errorf("%s FROM %v", name, from)
		}
		if u := find(s, "USER"); len(u) != 1 || !regexp.MustCompile(`^[1-9][0-9]*:[1-9][0-9]*$`).MatchString(u[0]) {
			t.Errorf("%s USER %v: want one numeric non-root uid:gid", name, u)
		}
	}
	b := st["bridge"]
	checks := map[string]string{
		"HEALTHCHECK": `CMD ["/rhombus-bridge", "healthcheck"]`,
		"ENTRYPOINT":  `["/rhombus-bridge"]`,
		"EXPOSE":      "8080 9090",
		"VOLUME":      `["/data"]`,
	}
	for cmd, want := range checks {
		got := strings.Join(find(b, cmd), " | ")
		if !strings.Contains(got, want) {
			t.Errorf("bridge %s %q, want %q", cmd, got, want)
		}
	}
	if env := strings.Join(find(b, "ENV"), " "); !strings.Contains(env, "BRIDGE_DATA_DIR=/data") {
		t.Errorf("bridge ENV %q lacks BRIDGE_DATA_DIR=/data", env)
	}
	if !slicesHas(find(st["sim"], "ENTRYPOINT"), `["/rhombus-sim"]`) {
		t.Errorf("sim ENTRYPOINT %v", find(st["sim"], "ENTRYPOINT"))
	}
}

// TestDockerignore: the build context leaves out VCS data, local state and secrets, and
// keeps what the build needs.
func TestDockerignore(t *testing.T) {
	lines := strings.Split(string(readFile(t, ".dockerignore")), "\n")
	for _, want := range []string{".git", ".env", "data/"} {
		if !slicesHas(lines, want) {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
	for _, line := range lines {
		switch strings.TrimSpace(line) {
		case "go.mod", "go.sum", "cmd", "cmd/", "bridge", "bridge/", "schemas", "schemas/", "sinks", "sinks/", "*.go", "**/*.go":
			t.Errorf(".dockerignore drops %q, which the build needs", line)
		}
	}
}

func slicesHas(list []string, s string) bool {
	for _, v := range list {
		if strings.TrimSpace(v) == s {
			return true
		}
	}
	return false
}
