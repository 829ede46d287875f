package manyorgs_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bridgeBin is the rhombus-bridge binary built once for this test run.
var bridgeBin string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if orgs := os.Getenv(feederEnv); orgs != "" {
		return feederMain(orgs)
	}
	if bridgeBin = os.Getenv("MANYORGS_BRIDGE_BIN"); bridgeBin != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "rhombus-manyorgs-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "manyorgs:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bridgeBin = filepath.Join(dir, "rhombus-bridge")
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", bridgeBin, "github.com/rhombus-bridge/rhombus-bridge/cmd/rhombus-bridge")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "manyorgs: build rhombus-bridge:", err)
		return 1
	}
	return m.Run()
}
