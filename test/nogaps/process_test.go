package nogaps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

// TestMain removes the binary binPath built (if a test asked for one).
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binFile string
	binErr  error
)

// binPath builds cmd/rhombus-bridge once per test binary (only when a test needs a real
// process) and returns its path; NOGAPS_BRIDGE_BIN names a binary built elsewhere, and
// NOGAPS_RACE=1 builds with -race.
func binPath(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binFile = os.Getenv("NOGAPS_BRIDGE_BIN"); binFile != "" {
			return
		}
		if binDir, binErr = os.MkdirTemp("", "rhombus-nogaps-*"); binErr != nil {
			return
		}
		binFile = filepath.Join(binDir, "rhombus-bridge")
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		args := []string{"build", "-o", binFile}
		if os.Getenv("NOGAPS_RACE") == "1" {
			args = append(args, "-race")
		}
		out, err := exec.Command(goBin, append(args, "github.com/rhombus-bridge/rhombus-bridge/cmd/rhombus-bridge")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build rhombus-bridge: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binFile
}

// proc is a rhombus-bridge process, restartable with the same environment (instance id,
// data directory, ports).
type proc struct {
	t       testing.TB
	env     []string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	starts  int
}

// newProc prepares (does not start) a bridge process against the simulator and NATS:
// the NATS sink, no lease, 1 s heart-beats, a 3 s backfill overlap, data in dataDir.
func newProc(t testing.TB, s *sim.Server, natsURL, instance, dataDir string) *proc {
	t.Helper()
	vars := map[string]string{
		"RHOMBUS_API_KEY": apiKey, "RHOMBUS_ORG_UUID": s.OrgUUID(),
		"RHOMBUS_WS_URL": s.WSURL(), "RHOMBUS_API_URL": s.URL(),
		"RHOMBUS_HEARTBEAT": "1s", "RHOMBUS_REST_RATE": "50",
		"BRIDGE_INSTANCE_ID": instance, "BRIDGE_LEASE": "none", "BRIDGE_SINKS": "nats",
		"BRIDGE_DATA_DIR": dataDir, "BRIDGE_BACKFILL_OVERLAP": "3s", "BRIDGE_SHUTDOWN_TIMEOUT": "10s",
		"NATS_URL": natsURL, "HTTP_ADDR": bridgetest.FreeAddr(t), "WEBHOOK_ADDR": "127.0.0.1:0", "WEBHOOK_SECRET": "",
		"LOG_FORMAT": "json", "LOG_LEVEL": "info",
	}
	env := bridgetest.ProcessEnv(vars)
	p := &proc{t: t, env: env, logPath: filepath.Join(t.TempDir(), instance+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			if b, err := os.ReadFile(p.logPath); err == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("---- %s log (last 40 lines) ----\n%s", instance, strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
		}
	})
	return p
}

// start runs a new process (the previous one must have exited).
func (p *proc) start() {
	p.t.Helper()
	if p.done != nil {
		select {
		case <-p.done:
		default:
			p.t.Fatal("start while running")
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.starts++
	fmt.Fprintf(f, "{\"nogaps_test\":\"process start %d\",\"time\":%q}\n", p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(binPath(p.t))
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(done)
	}()
}

// kill sends SIGKILL and waits for the process to be gone; it returns the exit error.
func (p *proc) kill() error {
	if p.cmd == nil {
		return nil
	}
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("still running 10s after SIGKILL")
	}
}
