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
