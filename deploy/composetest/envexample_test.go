package composetest

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// composeOnly are .env.example variables that only docker-compose.yml reads.
var composeOnly = map[string]bool{"VERSION": true, "COMMIT": true, "SIM_RATE": true, "NATS_HOST_PORT": true}

// configVars lists every variable bridge/config reads: the envconfig tags of its raw struct.
func configVars(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "bridge", "config", "raw.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		field, ok := n.(*ast.Field)
		if !ok || field.Tag == nil {
			return true
		}
		tag, err := strconv.Unquote(field.Tag.Value)
		if err != nil {
			t.Fatal(err)
		}
		if name := reflect.StructTag(tag).Get("envconfig"); name != "" {
			names = append(names, name)
		}
		return true
	})
	if len(names) < 20 {
		t.Fatalf("found only %d envconfig tags in %s", len(names), path)
	}
	return names
}

// envExample maps each variable of .env.example to whether a comment line precedes it.
func envExample(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, ".env.example")))
	commented := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		default:
			name, _, ok := strings.Cut(line, "=")
			if !ok {
				t.Errorf(".env.example: not NAME=value: %q", line)
				continue
			}
			if _, dup := out[name]; dup {
				t.Errorf(".env.example: %s twice", name)
			}
			out[name] = commented
		}
	}
	return out
}

// TestEnvExampleComplete: .env.example names every setting the bridge reads, each under a
// comment, and nothing the bridge (or compose) does not read.
func TestEnvExampleComplete(t *testing.T) {
	have := envExample(t)
	known := map[string]bool{}
	for _, name := range configVars(t) {
		known[name] = true
		commented, ok := have[name]
		switch {
		case !ok:
			t.Errorf(".env.example lacks %s", name)
		case !commented:
			t.Errorf(".env.example: %s has no comment above it", name)
		}
	}
	for name := range have {
		if !known[name] && !composeOnly[name] {
			t.Errorf(".env.example sets %s, which nothing reads", name)
		}
	}
}
