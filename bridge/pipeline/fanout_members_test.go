package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Two brokers, one stopped: the other keeps receiving every live event (they fit the lag
// bound), nothing counts as delivered until both have it, and once the stopped broker is
// back it receives every event once, in per-key order.
func TestOneMemberDownTheOtherKeepsReceiving(t *testing.T) {
	a, b := pipetest.StartBroker(t), pipetest.StartBroker(t)
	members := []sinks.Publisher{a.Sink(), b.Sink()}
	wm := pipeline.NewWatermark(0)
	p, err := pipeline.New(pipeline.Config{MemberLag: 4096, Watermark: wm,
		PublishTimeout: 300 * time.Millisecond, RetryBase: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Logger: pipetest.QuietLog()}, members...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pipetest.Run(t, p))

	b.Srv.Stop()
	base := time.Now().Add(-time.Hour).UnixMilli()
	var evs []event.Event
	for i := range 600 {
		ev := pipetest.Alert(t, fmt.Sprintf("cam-%02d", i%30), i, base+int64(i))
		evs = append(evs, ev)
		if !p.Offer(ev) {
			t.Fatalf("event %d not taken", i)
		}
	}
	pipetest.WaitFor(t, "all 600 on the healthy broker while the other is down", 20*time.Second,
		func() bool { return len(a.Stored(t)) >= 600 })
	if mark := wm.Mark(); mark >= base {
		t.Fatalf("watermark %d moved while one broker had nothing", mark)
	}

	b.Srv.Restart()
	pipetest.WaitFor(t, "all 600 on the restarted broker", 30*time.Second, func() bool { return len(b.Stored(t)) >= 600 })
	pipetest.WaitFor(t, "the watermark after both acknowledged", 10*time.Second, func() bool { return wm.Mark() == base+599 })
	for name, br := range map[string]*pipetest.Broker{"healthy": a, "restarted": b} {
		checkOnceInKeyOrder(t, name, br.Stored(t), evs)
	}
}

// checkOnceInKeyOrder: every event once, and each device's events in the order sent.
func checkOnceInKeyOrder(t *testing.T, name string, got []pipetest.Msg, sent []event.Event) {
	t.Helper()
	pos := map[string]int{}
	for i, m := range got {
		if _, dup := pos[m.ID]; dup {
			t.Fatalf("%s: id %s stored twice", name, m.ID)
		}
		pos[m.ID] = i
	}
	last := map[string]int{}
	for _, ev := range sent {
		i, ok := pos[ev.ID]
		if !ok {
			t.Fatalf("%s: event %s missing", name, ev.ID)
		}
		if prev, seen := last[ev.Key()]; seen && i < prev {
			t.Fatalf("%s: device %s out of order", name, ev.Key())
		}
		last[ev.Key()] = i
	}
}
