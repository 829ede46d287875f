package manyorgs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// replica is one rhombus-bridge process.
type replica struct {
	t       testing.TB
	id      string
	http    string
	webhook string // WEBHOOK_ADDR
	env     []string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

// orgStatus and status are the parts of /status the tests read.
type orgStatus struct {
	OrgUUID    string `json:"orgUuid"`
	Leader     bool   `json:"leader"`
	Subscribed bool   `json:"subscribed"`
	Reconnects int64  `json:"reconnects"`
	Gaps       int64  `json:"gaps"`
	Backfilled int64  `json:"backfilled"`
	FeedError  string `json:"feedError"`
}

type status struct {
	Instance   string            `json:"instance"`
	Leader     bool              `json:"leader"`
	Subscribed bool              `json:"subscribed"`
	Orgs       []orgStatus       `json:"orgs"`
	Shard      map[string]string `json:"shard"`
}

func (r *replica) start() {
	r.t.Helper()
	f, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	cmd := exec.Command(bridgeBin)
	cmd.Env, cmd.Stdout, cmd.Stderr = r.env, f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // no orphan if the test is killed
	if err := cmd.Start(); err != nil {
		f.Close()
		r.t.Fatalf("%s: start: %v", r.id, err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(r.done) }()
}

// kill sends SIGKILL and waits for the exit.
func (r *replica) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// stop asks politely, then kills after 20s.
func (r *replica) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.kill()
	}
}

func (r *replica) status() (status, error) {
	var st status
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("%s: /status: %s", r.id, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// led lists the orgs the replica says it leads.
func (st status) led() []string {
	var out []string
	for _, o := range st.Orgs {
		if o.Leader {
			out = append(out, o.OrgUUID)
		}
	}
	return out
}

// showLog logs the end of the replica's log when the test failed, and keeps it in
// MANYORGS_LOG_DIR when set.
func (r *replica) showLog() {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return
	}
	if dir := os.Getenv("MANYORGS_LOG_DIR"); dir != "" {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, strings.ReplaceAll(r.t.Name(), "/", "_")+"."+r.id+".log"), b, 0o644)
	}
	if r.t.Failed() {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		r.t.Logf("---- %s log (last 40 lines) ----\n%s", r.id, strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

// waitFor polls cond (returning "" when satisfied, else why not) until d passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, d, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proc is a helper process spoken to in lines on stdin and stdout (the feeder); it dies
// with the test process, and at the end of the test its stdin closes and it is awaited.
type proc struct {
	name  string
	in    io.WriteCloser
	lines chan string
}

func startProc(t testing.TB, name, bin string, env []string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env, cmd.Stderr = env, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, in: in, lines: make(chan string, 16)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = in.Close()
		timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
		_ = cmd.Wait()
		timer.Stop()
	})
	return p
}

// line is the next line p writes, waiting at most d.
func (p *proc) line(d time.Duration) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", fmt.Errorf("%s exited", p.name)
		}
		return l, nil
	case <-time.After(d):
		return "", fmt.Errorf("%s: no answer within %v", p.name, d)
	}
}

// command sends one command and returns the N of its "ok N" answer, waiting at most d.
func (p *proc) command(d time.Duration, cmd string) (int, error) {
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return 0, fmt.Errorf("%s: %w", p.name, err)
	}
	l, err := p.line(d)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", p.name, cmd, err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(l, "ok "))
	if err != nil {
		return 0, fmt.Errorf("%s %q: answered %q", p.name, cmd, l)
	}
	return n, nil
}
