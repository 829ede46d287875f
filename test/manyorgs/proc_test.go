package manyorgs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
