package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

func TestMain(m *testing.M) { pipetest.Main(m) }

func TestPerKeyOrderAndExactlyOnce(t *testing.T) { forEachSinkKind(t, testPerKeyOrderAndExactlyOnce) }

func testPerKeyOrderAndExactlyOnce(t *testing.T, b *pipetest.Broker, sink sinks.Publisher) {
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{Lanes: 16, Watermark: wm}, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	const devices, per = 20, 50
	for n := 0; n < per; n++ {
		for d := 0; d < devices; d++ {
			if !p.Offer(pipetest.Alert(t, fmt.Sprintf("cam%02d", d), n, int64(1000+n))) {
				t.Fatal("queue refused an event")
			}
		}
	}
	pipetest.WaitFor(t, "all events stored", 30*time.Second, func() bool { return len(b.Stored(t)) == devices*per })
	stop()
	last := map[string]int{}
	ids := map[string]bool{}
	for _, m := range b.Stored(t) {
		if ids[m.ID] {
			t.Fatalf("id %s stored twice", m.ID)
		}
		ids[m.ID] = true
		var dev string
		var n int
		parts := strings.Split(m.Subject, ".")
		dev = parts[len(parts)-1]
		if _, err := fmt.Sscanf(string(m.Body[strings.Index(string(m.Body), "alert-"+dev+"-"):]), "alert-"+dev+"-%d", &n); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[dev]; ok && n <= prev {
			t.Fatalf("device %s: event %d stored after %d", dev, n, prev)
		}
		last[dev] = n
	}
	if wm.Mark() != 1000+per-1 || wm.Outstanding() != 0 {
		t.Fatalf("watermark %d outstanding %d", wm.Mark(), wm.Outstanding())
	}
}

func TestBrokerOutageLosesNothing(t *testing.T) { forEachSinkKind(t, testBrokerOutageLosesNothing) }

func testBrokerOutageLosesNothing(t *testing.T, b *pipetest.Broker, sink sinks.Publisher) {
	p, err := pipeline.New(pipeline.Config{PublishTimeout: 200 * time.Millisecond, RetryBase: 20 * time.Millisecond,
		RetryMax: 200 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	defer stop()
	for n := 0; n < 100; n++ {
		p.Offer(pipetest.Alert(t, "cam", n, int64(n)))
	}
	pipetest.WaitFor(t, "first batch", 20*time.Second, func() bool { return len(b.Stored(t)) == 100 })
	b.Srv.Stop()
	for n := 100; n < 300; n++ {
		p.Offer(pipetest.Alert(t, fmt.Sprintf("cam%d", n%7), n, int64(n)))
	}
	time.Sleep(500 * time.Millisecond) // publishes fail and retry meanwhile
	b.Srv.Restart()
	pipetest.WaitFor(t, "all 300 after the outage", 30*time.Second, func() bool { return len(b.Stored(t)) == 300 })
	seen := map[string]bool{}
	for _, m := range b.Stored(t) {
		if seen[m.ID] {
			t.Fatalf("duplicate %s", m.ID)
		}
		seen[m.ID] = true
	}
}

func TestRecentDuplicateCostsNoPublish(t *testing.T) {
	b := pipetest.StartBroker(t)
	reg := prometheus.NewRegistry()
	p, err := pipeline.New(pipeline.Config{Registerer: reg}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	ev := pipetest.Alert(t, "cam", 1, 5)
	ctx := context.Background()
	if err := p.Publish(ctx, ev); err != nil {
		t.Fatal(err)
	}
	backfilled := ev
	backfilled.Via = event.ViaBackfill
	if err := p.Publish(ctx, backfilled); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Stored(t)); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
	if got := counter(t, reg, "rhombus_bridge_events_duplicates_total"); got != 1 {
		t.Fatalf("duplicates metric %v", got)
	}
}

// metric is the first series of the metric family name in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0]
		}
	}
	t.Fatalf("no metric %s", name)
	return nil
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return metric(t, reg, name).GetCounter().GetValue()
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	return metric(t, reg, name).GetGauge().GetValue()
}

func TestOverflowIsReportedNotDropped(t *testing.T) {
	forEachSinkKind(t, testOverflowIsReportedNotDropped)
}

func testOverflowIsReportedNotDropped(t *testing.T, b *pipetest.Broker, sink sinks.Publisher) {
	b.Srv.Stop() // nothing can be delivered: the queue fills
	// Until the client sees the outage, a pipelined lane's attempts go out and wait: the
	// bound below counts one attempt per lane.
	pipetest.WaitFor(t, "the client to see the outage", 5*time.Second, func() bool { return !b.NC.IsConnected() })
	var over overflowLog
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{Queue: 10, Lanes: 1, PublishTimeout: 50 * time.Millisecond,
		RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, DrainTimeout: 100 * time.Millisecond,
		OnOverflow: over.add, Watermark: wm}, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	taken := 0
	for n := 0; n < 100; n++ {
		if p.Offer(pipetest.Alert(t, "cam", n, int64(n+1))) {
			taken++
		}
	}
	// held at most: the queue, each lane's buffer, one in delivery per lane, one in the dispatcher
	if held := 10 + 1*(pipeline.LaneDepth+1) + 1; taken+over.len() != 100 || taken > held {
		t.Fatalf("taken %d + overflowed %d != 100", taken, over.len())
	}
	stop() // the broker is still down: what is left is abandoned and reported, too
	if over.len() != 100 {
		t.Fatalf("after the drain %d of 100 events were reported", over.len())
	}
	if wm.Mark() != 0 {
		t.Fatalf("watermark moved to %d with nothing delivered", wm.Mark())
	}
}

func TestWatermarkContiguousPrefix(t *testing.T) {
	w := pipeline.NewWatermark(0)
	seqs := pipeline.BeginN(w, 3)
	pipeline.Done(w, seqs[1], 200)
	if w.Mark() != 0 {
		t.Fatal("mark passed an unacknowledged event")
	}
	pipeline.Done(w, seqs[0], 100)
	if w.Mark() != 200 {
		t.Fatalf("mark %d, want 200", w.Mark())
	}
	w.Hold(0)
	pipeline.Done(w, seqs[2], 300)
	if w.Mark() != 200 {
		t.Fatalf("held mark moved to %d", w.Mark())
	}
	w.Release()
	if w.Mark() != 300 {
		t.Fatalf("released mark %d, want 300", w.Mark())
	}
}

func TestFencedEventsAreNotPublished(t *testing.T) {
	forEachSinkKind(t, testFencedEventsAreNotPublished)
}

func testFencedEventsAreNotPublished(t *testing.T, b *pipetest.Broker, sink sinks.Publisher) {
	var over overflowLog
	current := uint64(7)
	var mu sync.Mutex
	p, err := pipeline.New(pipeline.Config{OnOverflow: over.add, FenceValid: func(f uint64) bool {
		mu.Lock()
		defer mu.Unlock()
		return f == current
	}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	defer stop()
	ev := pipetest.Alert(t, "cam", 1, 1)
	ev.Fence = 7
	p.Offer(ev)
	pipetest.WaitFor(t, "current term's event", 10*time.Second, func() bool { return len(b.Stored(t)) == 1 })
	mu.Lock()
	current = 8 // a successor took over
	mu.Unlock()
	old := pipetest.Alert(t, "cam", 2, 2)
	old.Fence = 7
	p.Offer(old)
	pipetest.WaitFor(t, "the old term's event reported", 10*time.Second, func() bool { return over.len() == 1 })
	if n := len(b.Stored(t)); n != 1 {
		t.Fatalf("a fenced event was published: %d stored", n)
	}
}

// TestRejectedEventIsRecordedNotRetriedForever: an event the broker will never take (over
// its max payload) becomes a bounded record on the invalid subject, and the lane moves on.
func TestRejectedEventIsRecordedNotRetriedForever(t *testing.T) {
	b := pipetest.StartBroker(t)
	sink, err := natsjs.New(context.Background(), natsjs.Config{Conn: b.NC, Stream: "RHOMBUS"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Lanes: 1}, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	defer stop()
	huge := event.Invalid("ORG", []byte(strings.Repeat("x", 9<<20)), event.ErrInvalid, event.ViaWebSocket)
	p.Offer(huge)
	p.Offer(pipetest.Alert(t, "cam", 1, 1))
	pipetest.WaitFor(t, "both stored", 20*time.Second, func() bool { return len(b.Stored(t)) == 2 })
	msgs := b.Stored(t)
	if msgs[0].ID != huge.ID || !strings.HasSuffix(msgs[0].Subject, ".invalid") || len(msgs[0].Body) > 16<<10 {
		t.Fatalf("rejected record: %s %s %d bytes", msgs[0].ID, msgs[0].Subject, len(msgs[0].Body))
	}
}
