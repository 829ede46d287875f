package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOutput(t *testing.T, out *syncBuffer, d time.Duration, cond func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond(out.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out; output so far:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoShowsEvents runs `rhombus-bridge demo` with no setting: events appear within
// seconds, read back from the stream, and Ctrl-C (ctx) drains and exits 0.
func TestDemoShowsEvents(t *testing.T) {
	t.Setenv("NATS_EMBEDDED_LISTEN", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"demo"}, &out, &errOut) }()
	waitOutput(t, &out, 30*time.Second, func(s string) bool {
		return strings.Count(s, "[websocket]") >= 3 && strings.Contains(s, "nats sub 'rhombus.>'")
	})
	if !strings.Contains(out.String(), ".policy_alert.create.") && !strings.Contains(out.String(), ".device_config.") {
		t.Fatalf("no event subjects in the feed:\n%s", out.String())
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("demo exited %d; stderr:\n%s", c, errOut.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop after Ctrl-C")
	}
}

func TestCheckListsEveryProblem(t *testing.T) {
	t.Setenv("RHOMBUS_API_KEY", "")
	t.Setenv("BRIDGE_SINKS", "nats,carrier-pigeon")
	t.Setenv("RHOMBUS_HEARTBEAT", "soon")
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 1 {
		t.Fatalf("check exited %d with a bad environment", code)
	}
	for _, want := range []string{"RHOMBUS_API_KEY", "BRIDGE_SINKS", "RHOMBUS_HEARTBEAT", "3 problems"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, errOut.String())
		}
	}
}

func TestCheckPrintsMaskedConfig(t *testing.T) {
	t.Setenv("RHOMBUS_API_KEY", "top-secret-token")
	t.Setenv("WEBHOOK_SECRET", "s1,s2")
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 0 {
		t.Fatalf("check exited %d: %s", code, errOut.String())
	}
	s := out.String()
	if strings.Contains(s, "top-secret-token") || strings.Contains(s, "s1,s2") || !strings.Contains(s, "RHOMBUS_API_KEY=******") {
		t.Fatalf("secrets not masked:\n%s", s)
	}
}

func TestVersionAndUnknown(t *testing.T) {
	var out, errOut syncBuffer
	if run(context.Background(), []string{"version"}, &out, &errOut) != 0 || !strings.Contains(out.String(), "rhombus-bridge dev") {
		t.Fatalf("version: %q", out.String())
	}
	if run(context.Background(), []string{"frobnicate"}, &out, &errOut) != 1 {
		t.Fatal("unknown command must fail")
	}
}

// TestHealthcheck: exit 0 against a ready process, 1 against a missing or unready one.
func TestHealthcheck(t *testing.T) {
	ready := false
	var mu sync.Mutex
	srv, err := newOpsForTest(func() bool { mu.Lock(); defer mu.Unlock(); return ready })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.Run(ctx) }()
	t.Setenv("HTTP_ADDR", srv.Addr())
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"healthcheck"}, &out, &errOut); code != 1 {
		t.Fatalf("healthcheck of an unready process exited %d", code)
	}
	mu.Lock()
	ready = true
	mu.Unlock()
	if code := run(context.Background(), []string{"healthcheck"}, &out, &errOut); code != 0 {
		t.Fatalf("healthcheck of a ready process exited %d: %s", code, errOut.String())
	}
	t.Setenv("HTTP_ADDR", "127.0.0.1:1")
	if code := run(context.Background(), []string{"healthcheck"}, &out, &errOut); code != 1 {
		t.Fatal("healthcheck with nothing listening must fail")
	}
}

// TestTailJSONFromDemo: `tail --json` against a running demo prints parseable events.
func TestTailJSONFromDemo(t *testing.T) {
	t.Setenv("NATS_EMBEDDED_LISTEN", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var demoOut, demoErr syncBuffer
	go run(ctx, []string{"demo"}, &demoOut, &demoErr)
	waitOutput(t, &demoOut, 30*time.Second, func(s string) bool { return strings.Contains(s, "--server nats://") })
	url := between(demoOut.String(), "--server ", "\n")
	var out, errOut syncBuffer
	tctx, tcancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() { done <- run(tctx, []string{"tail", "--json", "--since", "1m", "--server", url}, &out, &errOut) }()
	waitOutput(t, &out, 30*time.Second, func(s string) bool { return strings.Count(s, "\n") >= 2 })
	tcancel()
	if c := <-done; c != 0 {
		t.Fatalf("tail exited %d: %s", c, errOut.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev["specversion"] != "1.0" {
			t.Fatalf("tail --json printed %q (%v)", line, err)
		}
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return strings.TrimSpace(s[:j])
	}
	return strings.TrimSpace(s)
}
