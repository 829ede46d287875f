package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/spool"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

func openSpool(t *testing.T, dir string) *spool.Spool {
	t.Helper()
	s, err := spool.Open(spool.Config{Dir: dir, MaxBytes: 64 << 20, Logger: pipetest.QuietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSpoolHoldsAnOutageInOrder: with the broker down and a queue of 10, 300 live events
// are all taken (spilled to disk), and once the broker is back every one is stored once,
// in order per device.
func TestSpoolHoldsAnOutageInOrder(t *testing.T) {
	b := pipetest.StartBroker(t)
	sp := openSpool(t, t.TempDir())
	defer sp.Close()
	var over overflowLog
	p, err := pipeline.New(pipeline.Config{Queue: 10, Lanes: 4, PublishTimeout: 100 * time.Millisecond,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Spool: sp, OnOverflow: over.add,
		Watermark: pipeline.NewWatermark(0)}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	defer stop()
	b.Srv.Stop()
	for n := 0; n < 300; n++ {
		if !p.Offer(pipetest.Alert(t, fmt.Sprintf("cam%d", n%3), n, int64(n+1))) {
			t.Fatalf("event %d refused with a spool", n)
		}
	}
	if over.len() != 0 {
		t.Fatalf("%d events overflowed despite the spool", over.len())
	}
	b.Srv.Restart()
	pipetest.WaitFor(t, "300 events after the outage", 30*time.Second, func() bool { return len(b.Stored(t)) == 300 })
	checkOrder(t, b.Stored(t))
	pipetest.WaitFor(t, "spool emptied", 10*time.Second, func() bool { return sp.Len() == 0 })
}

// TestSpoolCarriesEventsAcrossRestart: events still undelivered when the pipeline stops
// (broker down) are kept on disk and delivered by the next pipeline on the same spool.
func TestSpoolCarriesEventsAcrossRestart(t *testing.T) {
	forEachSinkKind(t, testSpoolCarriesEventsAcrossRestart)
}

func testSpoolCarriesEventsAcrossRestart(t *testing.T, b *pipetest.Broker, sink sinks.Publisher) {
	dir := t.TempDir()
	sp := openSpool(t, dir)
	cfg := pipeline.Config{Queue: 50, Lanes: 2, PublishTimeout: 100 * time.Millisecond, RetryBase: 20 * time.Millisecond,
		RetryMax: 100 * time.Millisecond, DrainTimeout: 300 * time.Millisecond, Spool: sp}
	p, _ := pipeline.New(cfg, sink)
	stop := pipetest.Run(t, p)
	b.Srv.Stop()
	for n := 0; n < 120; n++ {
		p.Offer(pipetest.Alert(t, "cam", n, int64(n+1)))
	}
	stop() // the drain cannot deliver: everything stays on disk
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	b.Srv.Restart()
	sp2 := openSpool(t, dir)
	defer sp2.Close()
	if sp2.Len() != 120 {
		t.Fatalf("spool holds %d events after the restart, want 120", sp2.Len())
	}
	cfg.Spool = sp2
	p2, _ := pipeline.New(cfg, sink)
	stop2 := pipetest.Run(t, p2)
	defer stop2()
	pipetest.WaitFor(t, "120 replayed events", 30*time.Second, func() bool { return len(b.Stored(t)) == 120 })
	checkOrder(t, b.Stored(t))
}

// checkOrder fails on a duplicate id or a device's events out of order (the test events'
// timestamps rise per device).
func checkOrder(t *testing.T, msgs []pipetest.Msg) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]string{}
	for _, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("duplicate %s", m.ID)
		}
		seen[m.ID] = true
		ts := tsOf(t, m.Body)
		if prev, ok := last[m.Subject]; ok && ts <= prev {
			t.Fatalf("%s: %s after %s", m.Subject, ts, prev)
		}
		last[m.Subject] = ts
	}
}

// TestOfferAllPastAFullSpool: a batch the spool takes only in part is taken whole: what
// the full spool refused goes to the in-memory queue, and every event is stored once.
func TestOfferAllPastAFullSpool(t *testing.T) {
	b := pipetest.StartBroker(t)
	sp, err := spool.Open(spool.Config{Dir: t.TempDir(), MaxBytes: 4 << 10, SegmentBytes: 1 << 10,
		Logger: pipetest.QuietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	p, err := pipeline.New(pipeline.Config{Queue: 100, Lanes: 2, Spool: sp}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	b.Srv.Stop() // nothing leaves the spool meanwhile
	evs := make([]event.Event, 40)
	for n := range evs {
		evs[n] = pipetest.Alert(t, fmt.Sprintf("cam%d", n%3), n, int64(n+1))
	}
	if taken := p.OfferAll(evs); taken != len(evs) {
		t.Fatalf("OfferAll took %d of %d", taken, len(evs))
	}
	if sp.Len() == 0 || sp.Len() == len(evs) || p.QueueDepth() != len(evs)-sp.Len() {
		t.Fatalf("spooled %d, queued %d of %d: want the spool full and the rest queued", sp.Len(), p.QueueDepth(), len(evs))
	}
	b.Srv.Restart()
	stop := pipetest.Run(t, p)
	defer stop()
	pipetest.WaitFor(t, "every event stored", 30*time.Second, func() bool { return len(b.Stored(t)) == len(evs) })
}
