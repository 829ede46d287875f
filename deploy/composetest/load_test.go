package composetest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// repoRoot is the repository root, found from this file's location.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller information")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadCompose loads docker-compose.yml as `docker compose config` would, in a scratch
// directory holding a copy of it and, when dotEnv is not nil, a .env with that content (so a
// developer's own .env never leaks into the test). The environment is exactly the .env's
// variables: nothing from the host.
func loadCompose(t *testing.T, dotEnv []byte) *types.Project {
	t.Helper()
	p, err := loadComposeBytes(t, readFile(t, "docker-compose.yml"), dotEnv)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// loadComposeBytes loads the given compose file content (see loadCompose).
func loadComposeBytes(t *testing.T, content, dotEnv []byte) (*types.Project, error) {
	t.Helper()
	dir := t.TempDir()
	compose := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(compose, content, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	if dotEnv != nil {
		path := filepath.Join(dir, ".env")
		if err := os.WriteFile(path, dotEnv, 0o600); err != nil {
			t.Fatal(err)
		}
		var err error
		if env, err = dotenv.Read(path); err != nil {
			t.Fatalf(".env: %v", err)
		}
	}
	details := types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: compose}},
		Environment: env,
	}
	return loader.LoadWithContext(context.Background(), details, func(o *loader.Options) {
		o.SetProjectName("rhombus-bridge", true)
		o.ResourceLoaders = nil // local files only: no git or OCI includes
		o.SkipValidation = false
		o.SkipConsistencyCheck = false
		o.SkipInterpolation = false
		o.SkipResolveEnvironment = false
	})
}

// env is a service's resolved environment as plain strings ("" for a bare name).
func env(t *testing.T, p *types.Project, service string) map[string]string {
	t.Helper()
	s, ok := p.Services[service]
	if !ok {
		t.Fatalf("service %q missing", service)
	}
	out := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		} else {
			out[k] = ""
		}
	}
	return out
}
