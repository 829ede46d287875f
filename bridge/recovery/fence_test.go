package recovery_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// A gap whose only cause is a lost policy-alert creation is fully recovered by backfill,
// so its record says no other events may be missing; a lost event of another kind, or a
// disconnect joining the gap, says they may.
func TestGapRecordSaysWhetherNonAlertsMayBeMissing(t *testing.T) {
	for _, tc := range []struct {
		name string
		lose func(r *recovery.Recovery, alert event.Event)
		want bool
	}{
		{"lost alert", func(r *recovery.Recovery, a event.Event) { r.OpenFor("overflow", a) }, false},
		{"lost config change", func(r *recovery.Recovery, a event.Event) {
			cfg, err := event.ParseChange("ORG", []byte(`{"entity":"DEVICE_CONFIG","entityUuid":"cam","type":"UPDATE","timestampMs":1}`), event.ViaWebSocket)
			if err != nil {
				t.Fatal(err)
			}
			r.OpenFor("overflow", a)
			r.OpenFor("overflow", cfg)
		}, true},
		{"lost alert then disconnect", func(r *recovery.Recovery, a event.Event) {
			r.OpenFor("overflow", a)
			r.Open("abrupt_close", time.Now())
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, p, wm := runningPipeline(t)
			h := &history{alerts: []event.Event{pipetest.Alert(t, "cam", 1, time.Now().Add(-time.Second).UnixMilli())}}
			r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond}, p, wm)
			runRecovery(t, r)
			tc.lose(r, h.alerts[0])
			if g := r.OpenGap(); g == nil || g.NonAlertsMayBeMissed != tc.want {
				t.Fatalf("open gap %+v, want nonAlertEventsMayBeMissed %v", g, tc.want)
			}
			r.Recover()
			pipetest.WaitFor(t, "gap closed", 10*time.Second, func() bool { return r.OpenGap() == nil })
			g := lastGapRecord(t, b)
			if g.Data.NonAlertEventsMayBeMissed != tc.want || g.Data.AlertsRecovered != 1 {
				t.Fatalf("gap record %+v, want nonAlertEventsMayBeMissed %v and 1 alert", g.Data, tc.want)
			}
		})
	}
}

// Backfill and gap records carry the term's lease revision: once the term is over the
// pipeline refuses them, so a deposed (or thawed) leader cannot publish a backfill after
// its successor started. The gap stays open for the successor.
func TestBackfillIsFencedByTheTerm(t *testing.T) {
	b := pipetest.StartBroker(t)
	var current atomic.Uint64
	current.Store(7)
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{Watermark: wm, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		FenceValid: func(f uint64) bool { return f == current.Load() }}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pipetest.Run(t, p))
	h := &history{alerts: []event.Event{pipetest.Alert(t, "cam", 1, time.Now().Add(-time.Second).UnixMilli())}}
	r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond, Fence: 7}, p, wm)
	runRecovery(t, r)

	current.Store(8) // a successor holds the lease now
	r.Open("failover", time.Now().Add(-time.Minute))
	r.Recover()
	pipetest.WaitFor(t, "a fenced backfill attempt", 10*time.Second, func() bool { return h.calls.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // retries would publish within this if the fence leaked
	if n := len(b.Stored(t)); n != 0 || r.OpenGap() == nil {
		t.Fatalf("deposed term published %d messages (gap open: %v)", n, r.OpenGap() != nil)
	}

	current.Store(7) // control: the same Recovery publishes while its term holds
	r.Recover()
	pipetest.WaitFor(t, "gap closed while the term holds", 10*time.Second, func() bool { return r.OpenGap() == nil })
	msgs := b.Stored(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages stored, want the alert and the gap record", len(msgs))
	}
}

func lastGapRecord(t *testing.T, b *pipetest.Broker) v1.Gap {
	t.Helper()
	msgs := b.Stored(t)
	if len(msgs) == 0 || !strings.HasSuffix(msgs[len(msgs)-1].Subject, ".bridge_gap.closed.none") {
		t.Fatalf("no gap record last among %d messages", len(msgs))
	}
	var g v1.Gap
	if err := json.Unmarshal(msgs[len(msgs)-1].Body, &g); err != nil {
		t.Fatal(err)
	}
	return g
}
