package rhombus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// seedAlerts creates n history-only alerts, 4 per millisecond from base, and returns the
// uuids with after ≤ ts ≤ before.
func seedAlerts(s *sim.Server, n int, base, after, before int64) map[string]bool {
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		ts := base + int64(i/4)
		a := s.CreateAlert(sim.Alert{TimestampMs: ts, HistoryOnly: true})
		if ts >= after && ts <= before {
			want[a.UUID] = true
		}
	}
	return want
}

func checkOnce(t *testing.T, got []PolicyAlert, want map[string]bool) {
	t.Helper()
	seen := map[string]bool{}
	for i, a := range got {
		if seen[a.UUID] {
			t.Fatalf("alert %s returned twice", a.UUID)
		}
		seen[a.UUID] = true
		if !want[a.UUID] {
			t.Fatalf("alert %s (ts %d) not in the window", a.UUID, a.TimestampMs)
		}
		if i > 0 && got[i-1].TimestampMs > a.TimestampMs {
			t.Fatal("not sorted oldest first")
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("got %d alerts, want %d", len(seen), len(want))
	}
}

// Server page caps below maxResults, both orders, inclusive bounds and same-millisecond
// alerts straddling page boundaries (so pages overlap): every alert in the window once.
func TestPolicyAlertsPagingSim(t *testing.T) {
	for _, newest := range []bool{false, true} {
		t.Run(fmt.Sprintf("newestFirst=%v", newest), func(t *testing.T) {
			s := startSim(t, sim.Config{RESTPageCap: 7, NewestFirst: newest})
			base := time.Now().Add(-time.Hour).UnixMilli()
			after, before := base+10, base+60 // inclusive; 4 alerts per ms
			want := seedAlerts(s, 400, base, after, before)
			c := newTestClient(t, s.URL(), func(c *ClientConfig) { c.PageSize = 50 })
			got, err := c.PolicyAlerts(ctxT(t, 20*time.Second), time.UnixMilli(after), time.UnixMilli(before))
			if err != nil {
				t.Fatal(err)
			}
			checkOnce(t, got, want)
			t.Logf("%d alerts in %d calls", len(got), len(s.CallsTo("/api/event/getPolicyAlertsV2")))
		})
	}
}

// A server that ignores the cursor entirely and caps pages, newest first, with many
// alerts in one millisecond: bounds-only narrowing and de-duplication still find all.
func TestPolicyAlertsPagingCursorIgnored(t *testing.T) {
	type rec struct {
		UUID string `json:"uuid"`
		Ts   int64  `json:"timestampMs"`
	}
	var all []rec
	for i := 0; i < 60; i++ {
		all = append(all, rec{UUID: fmt.Sprintf("a%03d", i), Ts: 1000 + int64(i/3)})
	}
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q alertsQuery
		_ = json.NewDecoder(r.Body).Decode(&q)
		mu.Lock()
		calls++
		mu.Unlock()
		var page []rec
		for i := len(all) - 1; i >= 0 && len(page) < 4; i-- { // newest first, cap 4
			if all[i].Ts >= q.After && all[i].Ts <= q.Before {
				page = append(page, all[i])
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"policyAlerts": page})
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, nil)
	got, err := c.PolicyAlerts(ctxT(t, 20*time.Second), time.UnixMilli(1000), time.UnixMilli(2000))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, a := range all {
		want[a.UUID] = true
	}
	checkOnce(t, got, want)
	// And the number of pages is bounded.
	c = newTestClient(t, srv.URL, func(c *ClientConfig) { c.MaxPages = 3 })
	if _, err := c.PolicyAlerts(ctxT(t, 20*time.Second), time.UnixMilli(1000), time.UnixMilli(2000)); err == nil {
		t.Fatal("no error after MaxPages")
	}
}

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
	evs, err := c.AlertEvents(org)(ctxT(t, 10*time.Second), now.Add(-time.Minute), time.Now().Add(time.Minute))
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
