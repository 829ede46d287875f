package recovery_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// history is an alert source over a list of alerts with getPolicyAlertsV2's semantics:
// inclusive bounds, pages of at most pageCap (default 100), oldest first (newest: newest
// first), the lastTimestampMs/lastUuid cursor honoured in page order. fail makes the next
// calls fail; onCall, when set, runs before each call is answered (call number from 1).
type history struct {
	mu       sync.Mutex
	alerts   []event.Event
	pageCap  int
	newest   bool
	returned map[string]int // uuid → how many answers held it
	onCall   func(n int)
	fail     atomic.Int32
	calls    atomic.Int32
}

func (h *history) source(_ context.Context, after, before, lastTs int64, lastUUID string) ([]event.Event, error) {
	n := int(h.calls.Add(1))
	if h.onCall != nil {
		h.onCall(n)
	}
	if h.fail.Load() > 0 {
		h.fail.Add(-1)
		return nil, errors.New("503 from REST")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	all := slices.Clone(h.alerts)
	slices.SortFunc(all, func(a, b event.Event) int {
		return cmp.Or(cmp.Compare(a.TimestampMs, b.TimestampMs), strings.Compare(a.EntityUUID, b.EntityUUID))
	})
	if h.newest {
		slices.Reverse(all)
	}
	limit := cmp.Or(h.pageCap, 100)
	var out []event.Event
	for _, ev := range all {
		if len(out) == limit {
			break
		}
		if ev.TimestampMs >= after && ev.TimestampMs <= before && h.pastCursor(ev, lastTs, lastUUID) {
			ev.Via = event.ViaBackfill
			out = append(out, ev)
		}
	}
	if h.returned == nil {
		h.returned = map[string]int{}
	}
	for _, ev := range out {
		h.returned[ev.EntityUUID]++
	}
	return out, nil
}

// pastCursor: after (lastTs, lastUUID) in page order.
func (h *history) pastCursor(ev event.Event, lastTs int64, lastUUID string) bool {
	if lastTs == 0 {
		return true
	}
	c := cmp.Or(cmp.Compare(ev.TimestampMs, lastTs), strings.Compare(ev.EntityUUID, lastUUID))
	if h.newest {
		return c < 0
	}
	return c > 0
}

func (h *history) add(evs ...event.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.alerts = append(h.alerts, evs...)
}

// refetched lists the alerts more than one answer held.
func (h *history) refetched() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id, n := range h.returned {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s×%d", id, n))
		}
	}
	return out
}

type memStore struct{ v atomic.Int64 }

func (m *memStore) Load(context.Context) (int64, error)   { return m.v.Load(), nil }
func (m *memStore) Save(_ context.Context, v int64) error { m.v.Store(v); return nil }

func TestMain(m *testing.M) { pipetest.Main(m) }

func TestGapBackfillAndRecord(t *testing.T) {
	b := pipetest.StartBroker(t)
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{Watermark: wm}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	stopP := pipetest.Run(t, p)
	defer stopP()
	now := time.Now()
	h := &history{}
	for i := 0; i < 10; i++ {
		h.alerts = append(h.alerts, pipetest.Alert(t, "cam", i, now.Add(time.Duration(i-20)*time.Second).UnixMilli()))
	}
	// the first 5 were delivered live before the drop
	for _, ev := range h.alerts[:5] {
		p.Offer(ev)
	}
	pipetest.WaitFor(t, "live alerts", 10*time.Second, func() bool { return wm.Mark() == h.alerts[4].TimestampMs })
	store := &memStore{}
	h.fail.Store(1) // the first backfill attempt fails: the gap must stay open and be retried
	r, err := recovery.New(recovery.Config{Instance: "i1", Org: "ORG", Overlap: 2 * time.Second,
		Source: h.source, Store: store}, p, wm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	r.Open("disconnect", time.UnixMilli(h.alerts[4].TimestampMs))
	if r.OpenGap() == nil {
		t.Fatal("gap not open")
	}
	r.Recover()
	pipetest.WaitFor(t, "gap closed after a retried backfill", 20*time.Second, func() bool { return r.OpenGap() == nil })
	gaps, backfilled := r.Counts()
	if gaps != 1 || backfilled != 5 || h.calls.Load() < 2 {
		t.Fatalf("gaps %d backfilled %d calls %d", gaps, backfilled, h.calls.Load())
	}
	msgs := b.Stored(t)
	if len(msgs) != 11 { // 10 alerts once each + 1 gap record
		t.Fatalf("%d messages stored, want 11", len(msgs))
	}
	last := msgs[len(msgs)-1]
	if !strings.HasSuffix(last.Subject, ".bridge_gap.closed.none") {
		t.Fatalf("last message %s is not the gap record", last.Subject)
	}
	var g v1.Gap
	if err := json.Unmarshal(last.Body, &g); err != nil || g.Data.AlertsRecovered != 5 || g.Data.Cause != "disconnect" ||
		!g.Data.NonAlertEventsMayBeMissed {
		t.Fatalf("gap record %s (%v)", last.Body, err)
	}
	cancel()
	<-done
	if store.v.Load() < h.alerts[4].TimestampMs {
		t.Fatalf("watermark saved %d, want ≥ %d", store.v.Load(), h.alerts[4].TimestampMs)
	}
}

func TestBeginResumesFromStoredWatermark(t *testing.T) {
	_, p, wm := runningPipeline(t)
	store := &memStore{}
	h := &history{}
	r := newRecovery(t, recovery.Config{Source: h.source, Store: store}, p, wm)
	if err := r.Begin(context.Background(), "startup"); err != nil || r.OpenGap() != nil {
		t.Fatalf("no stored watermark: no gap expected (%v)", err)
	}
	store.v.Store(time.Now().Add(-time.Minute).UnixMilli())
	if err := r.Begin(context.Background(), "failover"); err != nil {
		t.Fatal(err)
	}
	g := r.OpenGap()
	if g == nil || g.Causes[0] != "failover" || g.Start.UnixMilli() != store.v.Load() || wm.Mark() != store.v.Load() {
		t.Fatalf("gap %+v mark %d", g, wm.Mark())
	}
}

// TestGapStaysOpenUntilRecover: while the feed is down nothing closes the gap, however
// long; only Recover (the feed is live again) does.
func TestGapStaysOpenUntilRecover(t *testing.T) {
	_, p, wm := runningPipeline(t)
	h := &history{}
	r := newRecovery(t, recovery.Config{Source: h.source, Store: &memStore{}}, p, wm)
	runRecovery(t, r)
	r.Open("abrupt_close", time.Now())
	time.Sleep(recovery.SaveEvery*2 + 200*time.Millisecond) // two save ticks pass while "disconnected"
	if r.OpenGap() == nil || h.calls.Load() != 0 {
		t.Fatalf("gap closed (or backfill ran: %d calls) while the feed was still down", h.calls.Load())
	}
	r.Recover()
	pipetest.WaitFor(t, "gap closed after Recover", 10*time.Second, func() bool { return r.OpenGap() == nil })
}

// TestNoBackfillWhileTheFeedIsDown: a Recover (or a retry) while the feed is down again
// does nothing; once it is live, the gap closes.
func TestNoBackfillWhileTheFeedIsDown(t *testing.T) {
	_, p, wm := runningPipeline(t)
	h := &history{}
	var live atomic.Bool
	r := newRecovery(t, recovery.Config{Source: h.source, Settle: time.Millisecond, Live: live.Load}, p, wm)
	runRecovery(t, r)
	r.Open("abrupt_close", time.Now())
	r.Recover()
	time.Sleep(300 * time.Millisecond)
	if r.OpenGap() == nil || h.calls.Load() != 0 {
		t.Fatalf("backfill ran (%d calls) while the feed was down", h.calls.Load())
	}
	live.Store(true)
	r.Recover()
	pipetest.WaitFor(t, "gap closed once live", 10*time.Second, func() bool { return r.OpenGap() == nil })
}

// runningPipeline is a running pipeline with a watermark on a real JetStream.
func runningPipeline(t *testing.T) (*pipetest.Broker, *pipeline.Pipeline, *pipeline.Watermark) {
	t.Helper()
	b := pipetest.StartBroker(t)
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{Watermark: wm}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pipetest.Run(t, p))
	return b, p, wm
}

// newRecovery is a Recovery of instance i1 for org ORG with the rest of cfg.
func newRecovery(t *testing.T, cfg recovery.Config, p *pipeline.Pipeline, wm *pipeline.Watermark) *recovery.Recovery {
	t.Helper()
	cfg.Instance, cfg.Org = "i1", "ORG"
	if cfg.Logger == nil {
		cfg.Logger = pipetest.QuietLog()
	}
	r, err := recovery.New(cfg, p, wm)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRecovery runs r until the test ends.
func runRecovery(t *testing.T, r *recovery.Recovery) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
