package sim

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/go-stomp/stomp/v3/frame"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func TestGeneratorMixReachesSubscriberAndHistory(t *testing.T) {
	s := start(t, Config{Cameras: 3})
	c := subscribed(t, s)
	const n = 400
	res, err := s.RunGenerator(context.Background(), GenConfig{Count: n, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != n || res.Emitted != n || res.Alerts == 0 || res.Alerts == n {
		t.Fatalf("result %+v", res)
	}
	entities := map[string]int{}
	shapes := map[Shape]int{}
	for range n {
		m := c.expect(frame.MESSAGE)
		ev, err := event.ParseChange(s.OrgUUID(), m.Body, event.ViaWebSocket)
		if err != nil {
			t.Fatalf("bridge cannot parse %s: %v", m.Body, err)
		}
		entities[ev.Entity]++
		if ev.IsAlertCreate() {
			a, ok := s.Alert(ev.EntityUUID)
			if !ok {
				t.Fatalf("alert %s not in history", ev.EntityUUID)
			}
			if ev.ID != event.AlertID(a.UUID) {
				t.Fatalf("id %s", ev.ID)
			}
			shapes[a.Shape]++
		}
	}
	if entities["POLICY_ALERT"] != res.Alerts || entities["DEVICE_CONFIG"] == 0 || entities["DOOR_STATE"] == 0 {
		t.Fatalf("entities %v", entities)
	}
	if shapes[ShapeFlat] == 0 || shapes[ShapeNested] == 0 || shapes[ShapeNestedBare] == 0 {
		t.Fatalf("shapes %v", shapes)
	}
	if got := len(s.Alerts()); got != res.Alerts {
		t.Fatalf("history %d, alerts %d", got, res.Alerts)
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	run := func() []Alert {
		s := start(t, Config{Seed: 3})
		if _, err := s.RunGenerator(context.Background(), GenConfig{Count: 50, Seed: 9}); err != nil {
			t.Fatal(err)
		}
		return s.Alerts()
	}
	a, b := run(), run()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("%d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].UUID != b[i].UUID || a[i].DeviceUUID != b[i].DeviceUUID || a[i].Shape != b[i].Shape {
			t.Fatalf("alert %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestGeneratorRateAndStop(t *testing.T) {
	s := start(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := s.RunGenerator(ctx, GenConfig{Rate: 50, Count: 1000})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if res.Events == 0 || res.Events >= 1000 {
		t.Fatalf("events %d: pacing not applied", res.Events)
	}
	// Unbounded runs end without error when ctx ends.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.RunGenerator(ctx2, GenConfig{Rate: 100, Mix: Mix{Unknown: 1}}); err != nil {
		t.Fatal(err)
	}
	// Close stops a background generator.
	if err := s.StartGenerator(GenConfig{Rate: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(ctxT(t, 5*time.Second), func() bool { return s.Stats().Alerts > 60 }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAlertShapesMatchFixtures(t *testing.T) {
	a := Alert{UUID: "U", DeviceUUID: "D", TimestampMs: 5, DurationSec: 8, Triggers: []string{"MOTION_DETECTED"}, TextDescription: "x"}
	var flat map[string]any
	_ = json.Unmarshal(a.Payload(), &flat)
	if flat["entity"] != "POLICY_ALERT" || flat["entityUuid"] != "U" || flat["type"] != "CREATE" || flat["timestampMs"] != 5.0 {
		t.Fatalf("flat %v", flat)
	}
	a.Shape = ShapeNested
	var nested map[string]any
	_ = json.Unmarshal(a.Payload(), &nested)
	up, _ := nested["update"].(map[string]any)
	if nested["entityUuid"] != "" || up["uuid"] != "U" || up["timestampMs"] != 5.0 || up["durationSec"] != 8.0 {
		t.Fatalf("nested %v", nested)
	}
	for _, sh := range []Shape{ShapeFlat, ShapeNested, ShapeNestedBare} {
		a.Shape = sh
		ev, err := event.ParseChange("ORG", a.Payload(), event.ViaWebSocket)
		if err != nil || ev.ID != event.AlertID("U") {
			t.Fatalf("%v: %v %v", sh, ev.ID, err)
		}
	}
}
