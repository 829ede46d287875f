package ha_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bridgeBin is the rhombus-bridge binary built once for this test run.
var bridgeBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rhombus-ha-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ha:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if bridgeBin = os.Getenv("HA_BRIDGE_BIN"); bridgeBin != "" { // a binary built elsewhere
		return m.Run()
	}
	bridgeBin = filepath.Join(dir, "rhombus-bridge")
	if err := build(bridgeBin, "github.com/rhombus-bridge/rhombus-bridge/cmd/rhombus-bridge"); err != nil {
		fmt.Fprintln(os.Stderr, "ha: build rhombus-bridge:", err)
		return 1
	}
	return m.Run()
}

// build compiles pkg to out with the go command that runs this test.
func build(out, pkg string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	args := []string{"build", "-o", out}
	if os.Getenv("HA_RACE") == "1" {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, pkg)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}
