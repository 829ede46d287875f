package rhombus

import (
	"context"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// A backfilled alert gets the same id as its live copy, in every live shape.
func TestBackfillIDsMatchLive(t *testing.T) {
	s := startSim(t, sim.Config{})
	org := s.OrgUUID()
	now := time.Now()
	var alerts []sim.Alert
	for _, sh := range []sim.Shape{sim.ShapeFlat, sim.ShapeNested, sim.ShapeNestedBare} {
		alerts = append(alerts, s.CreateAlert(sim.Alert{Shape: sh, HistoryOnly: true}))
	}
	c := newTestClient(t, s.URL(), nil)
	evs, err := c.AlertEvents(org)(ctxT(t, 10*time.Second), now.Add(-time.Minute).UnixMilli(),
		time.Now().Add(time.Minute).UnixMilli(), 0, "")
	if err != nil || len(evs) != len(alerts) {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	byID := map[string]event.Event{}
	for _, ev := range evs {
		byID[ev.ID] = ev
		if ev.Via != event.ViaBackfill || !ev.IsAlertCreate() || ev.TimestampMs == 0 || len(ev.Data().Raw) == 0 {
			t.Fatalf("backfill event %+v", ev)
		}
	}
	for _, a := range alerts {
		live, err := event.ParseChange(org, a.Payload(), event.ViaWebSocket)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := byID[live.ID]; !ok || live.ID != event.AlertID(a.UUID) {
			t.Fatalf("live %v alert %s: id %s not among backfill ids", a.Shape, a.UUID, live.ID)
		}
	}
}

func TestCameraCacheAndEnricher(t *testing.T) {
	s := startSim(t, sim.Config{})
	c := newTestClient(t, s.URL(), func(c *ClientConfig) { c.CameraTTL = 200 * time.Millisecond })
	cam := s.Cameras()[0]
	for i := 0; i < 5; i++ {
		if name, ok := c.DeviceName(ctxT(t, 5*time.Second), cam.UUID); !ok || name != cam.Name {
			t.Fatalf("DeviceName = %q, %v; want %q", name, ok, cam.Name)
		}
	}
	if n := len(s.CallsTo("/api/camera/getMinimalCameraStateList")); n != 1 {
		t.Fatalf("%d refreshes for 5 lookups within the TTL", n)
	}
	if _, ok := c.DeviceName(ctxT(t, 5*time.Second), "no-such-camera"); ok {
		t.Fatal("unknown camera found")
	}
	time.Sleep(250 * time.Millisecond) // let the TTL lapse
	c.DeviceName(ctxT(t, 5*time.Second), cam.UUID)
	waitCalls(t, s, "/api/camera/getMinimalCameraStateList", 2)

	e := NewEnricher(c, 2*time.Second, quietLogger())
	a := s.CreateAlert(sim.Alert{Shape: sim.ShapeNestedBare, DeviceUUID: cam.UUID, HistoryOnly: true})
	bare, err := event.ParseChange(s.OrgUUID(), a.Payload(), event.ViaWebSocket)
	if err != nil || bare.TimestampMs != 0 {
		t.Fatalf("bare alert parsed as %+v, %v", bare, err)
	}
	bare.Received, bare.Fence = time.Now(), 7
	got := e.Enrich(context.Background(), bare)
	d := got.Data()
	if got.ID != bare.ID || got.TimestampMs != a.TimestampMs || d.DeviceName != cam.Name ||
		d.TextDescription != a.TextDescription || string(d.Raw) != string(a.Payload()) || got.Fence != 7 {
		t.Fatalf("enriched %+v data %+v", got, d)
	}

	// REST failing: the event comes back unenriched (but named from the cache) within the wait.
	s.REST5xx(-1)
	e = NewEnricher(c, 300*time.Millisecond, quietLogger())
	start := time.Now()
	got = e.Enrich(context.Background(), bare)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("enrichment held the event %s", took)
	}
	if got.ID != bare.ID || got.TimestampMs != 0 {
		t.Fatalf("failed enrichment changed the event: %+v", got)
	}
	s.ClearFaults()
	waitRefreshIdle(t, c)
}

func waitCalls(t *testing.T, s *sim.Server, path string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.CallsTo(path)) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d calls to %s", n, path)
		}
	}
}

// waitRefreshIdle waits for a background camera refresh to end (goleak).
func waitRefreshIdle(t *testing.T, c *Client) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c.cams.mu.Lock()
		idle := c.cams.refreshing == nil
		c.cams.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("camera refresh never ended")
		}
	}
}
