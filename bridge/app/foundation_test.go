package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

// mixed returns n payloads: flat and nested alerts, DEVICE_CONFIG and an unknown entity.
func mixed(n int) [][]byte {
	out := make([][]byte, 0, n)
	base := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		dev := fmt.Sprintf("cam-%02d", i%7)
		ts := base + int64(i)
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"fa-%d","type":"CREATE","deviceUuid":"%s","timestampMs":%d,"durationSec":3.5,"policyAlertTriggers":["PERSON_DETECTED"],"textDescription":"Person %d"}`, i, dev, ts, i)
		case 1:
			p = fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"","type":"CREATE","update":{"uuid":"na-%d","deviceUuid":"%s","timestampMs":%d,"durationSec":8,"policyAlertTriggers":["MOTION_DETECTED"],"textDescription":"Motion"}}`, i, dev, ts)
		case 2:
			p = fmt.Sprintf(`{"entity":"DEVICE_CONFIG","entityUuid":"%s","type":"UPDATE","deviceUuid":"%s","timestampMs":%d}`, dev, dev, ts)
		default:
			p = fmt.Sprintf(`{"entity":"DOOR_STATE","entityUuid":"door-%d","type":"UPDATE","timestampMs":%d}`, i, ts)
		}
		out = append(out, []byte(p))
	}
	return out
}

// TestEndToEndThousandMixedEvents: simulator → bridge → a real JetStream server over
// TCP. Every event is stored once with the contract's subject, Nats-Msg-Id = id, raw
// equal to what was sent, and a schema-valid CloudEvent. Re-sending everything (as
// after a reconnect) stores nothing new.
func TestEndToEndThousandMixedEvents(t *testing.T) {
	ns := natstest.Start(t)
	s := startSim(t, sim.Config{OrgUUID: "ORG-E2E"})
	cfg := testConfig(t, s, ns.URL())
	cfg.Rhombus.Enrich = false // raw comparison below; enrichment has its own test
	startApp(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	payloads := mixed(1000)
	want := map[string][]byte{}
	for _, p := range payloads {
		ev, err := event.ParseChange("ORG-E2E", p, event.ViaWebSocket)
		if err != nil {
			t.Fatal(err)
		}
		want[ev.ID] = p
		s.Emit(p)
	}
	st := openStream(t, ns.URL())
	waitFor(t, "1000 events in the stream", 60*time.Second, func() bool { return len(st.all(t)) >= 1000 })
	for _, p := range payloads[:100] {
		s.Emit(p) // the same events again
	}
	time.Sleep(500 * time.Millisecond)
	checkStored(t, st.all(t), want)
}

func checkStored(t *testing.T, msgs []msg, want map[string][]byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("id %s stored twice", m.ID)
		}
		seen[m.ID] = true
		raw, ok := want[m.ID]
		if !ok {
			if strings.Contains(m.Subject, ".bridge_gap.") {
				continue
			}
			t.Fatalf("unexpected message %s %s", m.Subject, m.Data)
		}
		var ce v1.Event
		if err := json.Unmarshal(m.Data, &ce); err != nil {
			t.Fatal(err)
		}
		if err := validate.Event(m.Data); err != nil {
			t.Fatalf("schema: %v", err)
		}
		if ce.ID != m.ID || string(ce.Data.Raw) != string(raw) {
			t.Fatalf("id/raw mismatch: %s vs %s\n%s\n%s", ce.ID, m.ID, ce.Data.Raw, raw)
		}
		wantSubj := fmt.Sprintf("rhombus.v1.ORG-E2E.%s.%s.%s", strings.ToLower(ce.RhombusEntity),
			strings.ToLower(ce.RhombusChange), event.Token(ce.Data.DeviceUUID))
		if m.Subject != wantSubj {
			t.Fatalf("subject %s, want %s", m.Subject, wantSubj)
		}
	}
	if len(seen) < len(want) {
		t.Fatalf("%d of %d events stored", len(seen), len(want))
	}
}
