package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDemoUsesConfiguredStreamAndPrefix: the demo's bridge, feed and hints follow
// NATS_STREAM and NATS_SUBJECT_PREFIX instead of the defaults.
func TestDemoUsesConfiguredStreamAndPrefix(t *testing.T) {
	t.Setenv("NATS_EMBEDDED_LISTEN", "127.0.0.1:0")
	t.Setenv("NATS_STREAM", "ACME_EVENTS")
	t.Setenv("NATS_SUBJECT_PREFIX", "acme")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := start(ctx, "demo")
	waitOutput(t, &d.out, 30*time.Second, func(s string) bool { return strings.Count(s, " acme.v1.") >= 3 })
	s := d.out.String()
	if !strings.Contains(s, "stream ACME_EVENTS on nats://") || !strings.Contains(s, "nats sub 'acme.>'") {
		t.Errorf("demo header does not follow NATS_STREAM/NATS_SUBJECT_PREFIX:\n%s", s)
	}
	if strings.Contains(s, "RHOMBUS") || strings.Contains(s, " rhombus.") || strings.Contains(s, "'rhombus.>'") {
		t.Errorf("demo still shows the default stream or prefix:\n%s", s)
	}
	cancel()
	if c := d.exit(t, 30*time.Second); c != 0 {
		t.Fatalf("demo exited %d; stderr:\n%s", c, d.errOut.String())
	}
}

// TestTakenEmbeddedListen: with NATS_EMBEDDED_LISTEN held by someone else, `demo` says so,
// listens elsewhere and shows events; the plain run fails with an error naming the address.
func TestTakenEmbeddedListen(t *testing.T) {
	taken := holdPort(t)
	t.Setenv("NATS_EMBEDDED_LISTEN", taken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := start(ctx, "demo")
	waitOutput(t, &d.out, 30*time.Second, func(s string) bool { return strings.Count(s, "[websocket]") >= 2 })
	s := d.out.String()
	if !strings.Contains(s, "note: NATS_EMBEDDED_LISTEN="+taken+" is taken") {
		t.Errorf("demo does not say the port is taken:\n%s", s)
	}
	u, err := url.Parse(between(s, "--server ", "\n"))
	if err != nil || u.Port() == "" || u.Host == taken {
		t.Errorf("demo NATS at %q (%v), want a port other than the taken %s", u, err, taken)
	}
	cancel()
	if c := d.exit(t, 30*time.Second); c != 0 {
		t.Fatalf("demo exited %d; stderr:\n%s", c, d.errOut.String())
	}

	setRunEnv(t)
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	r := start(rctx, "run")
	if c := r.exit(t, 30*time.Second); c == 0 {
		t.Fatalf("the plain run exited 0 with %s taken; stderr:\n%s", taken, r.errOut.String())
	}
	e := r.errOut.String()
	if !strings.Contains(e, "NATS_EMBEDDED_LISTEN="+taken) || !strings.Contains(e, "cannot listen") {
		t.Fatalf("the plain run's error does not name the taken address %s:\n%s", taken, e)
	}
}

// setRunEnv makes a valid production configuration that touches nothing outside the test:
// Rhombus on a closed 127.0.0.1 port, the embedded NATS store in a temporary directory.
func setRunEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"RHOMBUS_API_KEY":  "test-key",
		"RHOMBUS_ORG_UUID": "ORG-test",
		"RHOMBUS_API_URL":  "http://127.0.0.1:1",
		"RHOMBUS_WS_URL":   "ws://127.0.0.1:1/websocket",
		"BRIDGE_DATA_DIR":  t.TempDir(),
		"BRIDGE_SINKS":     "nats",
		"NATS_URL":         "",
		"HTTP_ADDR":        "127.0.0.1:0",
		"WEBHOOK_SECRET":   "",
		"LOG_FORMAT":       "text",
	} {
		t.Setenv(k, v)
	}
}
