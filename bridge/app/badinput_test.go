package app_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestBadInputKeepsFlowing: not-JSON bodies go raw to the invalid subject, odd ids make
// well-formed subjects, an oversize frame costs a reconnect and leaves its first bytes on
// the invalid subject, and valid events keep flowing.
func TestBadInputKeepsFlowing(t *testing.T) {
	ns := natstest.Start(t)
	s := startSim(t, sim.Config{OrgUUID: "ORG.X*"})
	cfg := testConfig(t, s, ns.URL())
	r := startApp(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	s.Emit([]byte("this is not json"))
	s.Emit([]byte(`{"entity":"POLICY_ALERT","entityUuid":"a.b *>c","type":"CREATE","deviceUuid":"dev ice.*>","timestampMs":1}`))
	s.Emit(bytes.Repeat([]byte("x"), 5<<20)) // over the 4 MiB read limit: the connection is dropped
	if err := s.Wait(ctx, func() bool { return s.Stats().Subscribes >= 2 }); err != nil {
		t.Fatalf("no resubscribe after the oversize frame: %v", err)
	}
	s.Emit([]byte(`{"entity":"POLICY_ALERT","entityUuid":"after","type":"CREATE","deviceUuid":"cam","timestampMs":2}`))
	st := openStream(t, ns.URL())
	waitFor(t, "four messages", 20*time.Second, func() bool { return len(st.all(t)) >= 4 })
	subjects := map[string][]byte{}
	var invalid []string
	for _, m := range st.all(t) {
		subjects[m.Subject] = m.Data
		if m.Subject == "rhombus.v1.ORG_X_.invalid" {
			invalid = append(invalid, string(m.Data))
		}
	}
	if len(invalid) != 2 || invalid[0] != "this is not json" {
		t.Fatalf("invalid subject holds %d messages, want the not-JSON body then the oversize frame's head: %.80q",
			len(invalid), invalid)
	}
	head := invalid[1] // the oversize frame: its first bytes (command, headers, body start), bounded
	// (the simulator announces the size, so the guard stops at the content-length header)
	if !strings.HasPrefix(head, "MESSAGE\n") || !strings.Contains(head, "content-length:5242880") || len(head) > 16<<10 {
		t.Fatalf("oversize frame recorded as %d bytes starting %.60q", len(head), head)
	}
	if _, ok := subjects["rhombus.v1.ORG_X_.policy_alert.create.dev_ice___"]; !ok {
		t.Fatalf("sanitised subject missing: %v", keys(subjects))
	}
	if _, ok := subjects["rhombus.v1.ORG_X_.policy_alert.create.cam"]; !ok {
		t.Fatalf("events stopped flowing after bad input: %v", keys(subjects))
	}
	if code := r.readyz(t); code != 200 {
		t.Fatalf("readyz %d after bad input", code)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestWrongAPIKey: the handshake's 401 is reported, attempts back off, /readyz is 503.
func TestWrongAPIKey(t *testing.T) {
	ns := natstest.Start(t)
	s := startSim(t, sim.Config{OrgUUID: "ORG-K"})
	cfg := testConfig(t, s, ns.URL())
	cfg.Rhombus.APIKey = "wrong"
	cfg.Rhombus.OrgUUID = "ORG-K" // skip discovery: the WebSocket handshake meets the 401
	r := startApp(t, cfg)
	time.Sleep(3 * time.Second)
	st := s.Stats()
	if st.Unauthorized < 2 {
		t.Fatalf("want repeated attempts, got %d", st.Unauthorized)
	}
	if st.Unauthorized > 12 {
		t.Fatalf("%d handshakes in 3s: not backing off", st.Unauthorized)
	}
	if code := r.readyz(t); code != 503 {
		t.Fatalf("readyz %d with a rejected key", code)
	}
	status := r.status(t)
	if status.Subscribed || !strings.Contains(status.ReadyProblem, "subscription") ||
		!strings.Contains(fmt.Sprint(status.Feed), "401") {
		t.Fatalf("status does not report the 401: %+v", status)
	}
}
