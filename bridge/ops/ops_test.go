package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestEndpoints(t *testing.T) {
	var ready atomic.Bool
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_test_total", Help: "x"})
	reg.MustRegister(c)
	c.Add(3)
	s, err := ops.New(ops.Config{
		Addr:   "127.0.0.1:0",
		Status: func() ops.Status { return ops.Status{Instance: "a", Leader: true, OrgUUID: "ORG", Gaps: 2} },
		Ready: func(context.Context) error {
			if ready.Load() {
				return nil
			}
			return errors.New("not subscribed")
		},
		Gatherer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + s.Addr()

	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "not subscribed") {
		t.Fatalf("readyz %d %q", code, body)
	}
	ready.Store(true)
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	_, body := get(t, base+"/status")
	var st map[string]any
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"instance", "leader", "subscribed", "orgUuid", "lastEventMs", "reconnects", "backfilled", "gaps"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status lacks %q: %s", k, body)
		}
	}
	if _, body := get(t, base+"/metrics"); !strings.Contains(body, "rhombus_bridge_test_total 3") {
		t.Fatalf("metrics: %s", body)
	}
	if code, _ := get(t, base+"/nope"); code != 404 {
		t.Fatalf("unknown path %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestPortTaken(t *testing.T) {
	s, err := ops.New(ops.Config{Addr: "127.0.0.1:0", Status: func() ops.Status { return ops.Status{} },
		Ready: func(context.Context) error { return nil }, Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	_, err = ops.New(ops.Config{Addr: s.Addr(), Status: func() ops.Status { return ops.Status{} },
		Ready: func(context.Context) error { return nil }, Gatherer: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "HTTP_ADDR") {
		t.Fatalf("want a clear listen error, got %v", err)
	}
}

// The profiler is served only with Pprof (HTTP_PPROF=true): by default every
// /debug/pprof/ path is 404, the other endpoints unchanged.
func TestPprofOnlyWhenAsked(t *testing.T) {
	for _, on := range []bool{false, true} {
		s, err := ops.New(ops.Config{Addr: "127.0.0.1:0", Pprof: on, Status: func() ops.Status { return ops.Status{} },
			Ready: func(context.Context) error { return nil }, Gatherer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		base := "http://" + s.Addr()
		want := map[bool]int{false: 404, true: 200}[on]
		for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/symbol",
			"/debug/pprof/heap", "/debug/pprof/trace?seconds=0.01"} {
			if code, _ := get(t, base+p); code != want {
				t.Errorf("pprof %v: %s answered %d, want %d", on, p, code, want)
			}
		}
		if code, _ := get(t, base+"/healthz"); code != 200 {
			t.Errorf("pprof %v: healthz %d", on, code)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// Headers are bounded (16 KiB, not net/http's 1 MiB default): 64 KiB of them get 431.
func TestHeaderLimit(t *testing.T) {
	s, err := ops.New(ops.Config{Addr: "127.0.0.1:0", Status: func() ops.Status { return ops.Status{} },
		Ready: func(context.Context) error { return nil }, Gatherer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KiB of headers: %d", resp.StatusCode)
	}
}
