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

// sent is one payload and the subject the contract gives it, worked out from the input
// (not from what the bridge produced, so a parse bug cannot hide behind itself).
type sent struct {
	raw     []byte
	subject string
}

// mixed returns n payloads: flat and nested alerts, DEVICE_CONFIG and an unknown entity.
func mixed(n int) []sent {
	out := make([]sent, 0, n)
	base := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		dev := fmt.Sprintf("cam-%02d", i%7)
		ts := base + int64(i)
		var p, subj string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"fa-%d","type":"CREATE","deviceUuid":"%s","timestampMs":%d,"durationSec":3.5,"policyAlertTriggers":["PERSON_DETECTED"],"textDescription":"Person %d"}`, i, dev, ts, i)
			subj = "policy_alert.create." + dev
		case 1:
			p = fmt.Sprintf(`{"entity":"POLICY_ALERT","entityUuid":"","type":"CREATE","update":{"uuid":"na-%d","deviceUuid":"%s","timestampMs":%d,"durationSec":8,"policyAlertTriggers":["MOTION_DETECTED"],"textDescription":"Motion"}}`, i, dev, ts)
			subj = "policy_alert.create." + dev
		case 2:
			p = fmt.Sprintf(`{"entity":"DEVICE_CONFIG","entityUuid":"%s","type":"UPDATE","deviceUuid":"%s","timestampMs":%d}`, dev, dev, ts)
			subj = "device_config.update." + dev
		default:
			p = fmt.Sprintf(`{"entity":"DOOR_STATE","entityUuid":"door-%d","type":"UPDATE","timestampMs":%d}`, i, ts)
			subj = "door_state.update.none"
		}
		out = append(out, sent{raw: []byte(p), subject: "rhombus.v1.ORG-E2E." + subj})
	}
	return out
}

// TestEndToEndThousandMixedEvents: simulator → bridge → a real JetStream server over
// TCP. Every event is stored once with the contract's subject, Nats-Msg-Id = id, raw
// equal to what was sent, and a schema-valid CloudEvent. Re-sending events (as after a
// reconnect) stores nothing new: a sentinel sent after the re-sends shows they were
// processed before the count is taken.
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
	want := map[string]sent{}
	for _, p := range payloads {
		ev, err := event.ParseChange("ORG-E2E", p.raw, event.ViaWebSocket)
		if err != nil {
			t.Fatal(err)
		}
		want[ev.ID] = p
		s.Emit(p.raw)
	}
	st := openStream(t, ns.URL())
	waitFor(t, "1000 events in the stream", 60*time.Second, func() bool { return countWanted(st.all(t), want) >= 1000 })
	for _, p := range payloads[:100] {
		s.Emit(p.raw) // the same events again
	}
	sentinel := sent{raw: []byte(`{"entity":"POLICY_ALERT","entityUuid":"sentinel","type":"CREATE","deviceUuid":"cam-00","timestampMs":1}`),
		subject: "rhombus.v1.ORG-E2E.policy_alert.create.cam-00"}
	want[event.AlertID("sentinel")] = sentinel
	s.Emit(sentinel.raw)
	waitFor(t, "the sentinel", 20*time.Second, func() bool { return countWanted(st.all(t), want) >= 1001 })
	checkStored(t, st.all(t), want)
}

// countWanted counts the stored messages whose id is one of want's.
func countWanted(msgs []msg, want map[string]sent) int {
	n := 0
	for _, m := range msgs {
		if _, ok := want[m.ID]; ok {
			n++
		}
	}
	return n
}

func checkStored(t *testing.T, msgs []msg, want map[string]sent) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("id %s stored twice", m.ID)
		}
		seen[m.ID] = true
		w, ok := want[m.ID]
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
		if ce.ID != m.ID || string(ce.Data.Raw) != string(w.raw) {
			t.Fatalf("id/raw mismatch: %s vs %s\n%s\n%s", ce.ID, m.ID, ce.Data.Raw, w.raw)
		}
		if m.Subject != w.subject {
			t.Fatalf("subject %s, want %s", m.Subject, w.subject)
		}
	}
	if n := countWanted(msgs, want); n != len(want) {
		t.Fatalf("%d of %d events stored", n, len(want))
	}
}
