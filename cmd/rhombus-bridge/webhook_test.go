package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

const hookURL = "https://bridge.example.com/webhooks/rhombus"

// newWebhookSim starts the simulator on 127.0.0.1 with API key "right-key" and points
// RHOMBUS_API_URL at it.
func newWebhookSim(t *testing.T) *sim.Server {
	t.Helper()
	s, err := sim.New(sim.Config{APIKey: "right-key", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	t.Setenv("RHOMBUS_API_URL", s.URL())
	return s
}

func runNow(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestWebhookRegisterAndStatus: register sets the integration in Rhombus and prints the
// secret Rhombus generated, once; status shows url, disabled and diagnostic.
func TestWebhookRegisterAndStatus(t *testing.T) {
	s := newWebhookSim(t)
	t.Setenv("RHOMBUS_API_KEY", "right-key")
	code, out, errOut := runNow(t, "webhook", "register", "--url", hookURL, "--diagnostic")
	if code != 0 {
		t.Fatalf("register exited %d: %s", code, errOut)
	}
	got := s.Webhook()
	if got.URL != hookURL || got.Disabled || !got.Diagnostic || got.Secret == "" {
		t.Fatalf("simulator holds %+v after register", got)
	}
	if n := strings.Count(out, got.Secret); n != 1 {
		t.Fatalf("register printed the secret %d times, want once:\n%s", n, out)
	}
	code, out, errOut = runNow(t, "webhook", "status")
	if code != 0 {
		t.Fatalf("status exited %d: %s", code, errOut)
	}
	var st rhombus.WebhookSettings
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status printed %q: %v", out, err)
	}
	if st != (rhombus.WebhookSettings{URL: hookURL, Disabled: false, Diagnostic: true}) || strings.Contains(out, got.Secret) {
		t.Fatalf("status shows %+v (%q), want url %s, enabled, diagnostic, no secret", st, out, hookURL)
	}
	if !strings.Contains(out, `"disabled": false`) || !strings.Contains(out, `"isDiagnostic": true`) {
		t.Fatalf("status does not show disabled and diagnostic:\n%s", out)
	}
}

// TestWebhookErrors: a wrong API key and a missing --url fail with a clear message and a
// non-zero exit, and register changes nothing.
func TestWebhookErrors(t *testing.T) {
	s := newWebhookSim(t)
	t.Setenv("RHOMBUS_API_KEY", "wrong-key")
	for _, args := range [][]string{{"webhook", "register", "--url", hookURL}, {"webhook", "status"}} {
		code, out, errOut := runNow(t, args...)
		if code == 0 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "check RHOMBUS_API_KEY") {
			t.Errorf("%v with a wrong key: exit %d, stderr %q, stdout %q", args, code, errOut, out)
		}
	}
	if got := s.Webhook(); got.URL != "" {
		t.Fatalf("a refused register changed the integration: %+v", got)
	}
	t.Setenv("RHOMBUS_API_KEY", "right-key")
	if code, _, errOut := runNow(t, "webhook", "register"); code == 0 || !strings.Contains(errOut, "--url is required") {
		t.Fatalf("register without --url: exit %d, %q", code, errOut)
	}
}
