package ha_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// replica is one rhombus-bridge process (restartable under the same instance id, port
// and data directory).
type replica struct {
	t       testing.TB
	id      string
	http    string // HTTP_ADDR
	env     []string
	logPath string
	proxy   *proxy // between this replica and NATS
	kproxy  *proxy // between this replica and kfake (BRIDGE_LEASE=kafka only)

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process has exited
	exitErr error
	starts  int
}

// status is the part of /status the tests read.
type status struct {
	Instance   string `json:"instance"`
	Leader     bool   `json:"leader"`
	Subscribed bool   `json:"subscribed"`
	Lease      struct {
		Backend     string `json:"backend"`
		Leader      bool   `json:"leader"`
		Holder      string `json:"holder"`
		Revision    uint64 `json:"revision"`
		Transitions uint64 `json:"transitions"`
	} `json:"lease"`
}

// start runs a new process for the replica.
func (r *replica) start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil {
		select {
		case <-r.done:
		default:
			r.t.Fatalf("%s: start while running", r.id)
		}
	}
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	r.starts++
	fmt.Fprintf(f, "{\"ha_test\":\"process start %d\",\"time\":%q}\n", r.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(bridgeBin)
	cmd.Env, cmd.Stdout, cmd.Stderr = r.env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		r.t.Fatalf("%s: start: %v", r.id, err)
	}
	done := make(chan struct{})
	r.cmd, r.done, r.exitErr = cmd, done, nil
	go func() {
		err := cmd.Wait()
		f.Close()
		r.mu.Lock()
		r.exitErr = err
		r.mu.Unlock()
		close(done)
	}()
}

// running reports whether the current process has not exited.
func (r *replica) running() bool {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (r *replica) signal(sig syscall.Signal) {
	r.t.Helper()
	r.mu.Lock()
	cmd := r.cmd
	r.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("%s: %v: %v", r.id, sig, err)
	}
}

// wait waits up to d for the process to exit and returns its exit error.
func (r *replica) wait(d time.Duration) error {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	select {
	case <-done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.exitErr
	case <-time.After(d):
		return fmt.Errorf("%s: still running after %v", r.id, d)
	}
}

// stop ends the process (SIGCONT first, in case it is frozen; then SIGKILL).
func (r *replica) stop() {
	if !r.running() {
		return
	}
	r.mu.Lock()
	p := r.cmd.Process
	r.mu.Unlock()
	_ = p.Signal(syscall.SIGCONT)
	_ = p.Kill()
	_ = r.wait(10 * time.Second)
}

// status reads /status (bounded: a frozen process does not answer).
func (r *replica) status(timeout time.Duration) (status, error) {
	var st status
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return st, fmt.Errorf("%s: /status: %s", r.id, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitStatus polls /status until ok(st) or d passes.
func (r *replica) waitStatus(d time.Duration, what string, ok func(status) bool) status {
	r.t.Helper()
	deadline := time.Now().Add(d)
	var (
		st  status
		err error
	)
	for time.Now().Before(deadline) {
		if st, err = r.status(time.Second); err == nil && ok(st) {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.t.Fatalf("%s: not %s within %v (last status %+v, error %v)", r.id, what, d, st, err)
	return st
}

// tail returns the last n lines of the replica's log.
func (r *replica) tail(n int) []string {
	f, err := os.Open(r.logPath)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 4*n {
			lines = append(lines[:0], lines[len(lines)-n:]...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// keepLog copies the log into HA_LOG_DIR when set.
func (r *replica) keepLog(test string) {
	dir := os.Getenv("HA_LOG_DIR")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(test) + "." + r.id + ".log"
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
}

var errNoLeader = errors.New("no single subscribed leader")
