package sinktest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Run runs every conformance case, each on a fresh Harness from newHarness.
func Run(t *testing.T, newHarness Factory) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"PerKeyOrder", testPerKeyOrder},
		{"AckedIsReadable", testAckedIsReadable},
		{"BrokerDownErrorsWithinDeadline", testBrokerDown},
		{"BrokerBackResumes", testBrokerBack},
		{"CloseFlushes", testCloseFlushes},
		{"ConcurrentPublishers", testConcurrent},
		{"SameIDStoredOnce", testSameID},
		{"InvalidEvents", testInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newHarness(t)) })
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readBack reads the broker until pred holds or 20s pass, returning the last read.
func readBack(t *testing.T, h Harness, pred func([]Record) bool) []Record {
	t.Helper()
	ctx := ctxFor(t, 20*time.Second)
	for {
		recs, err := h.Read(ctx)
		if err == nil && pred(recs) {
			return recs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("read back: condition not met (last error %v, %d records)", err, len(recs))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// count returns how many times each id was stored.
func count(recs []Record) map[string]int {
	n := make(map[string]int, len(recs))
	for _, r := range recs {
		n[r.ID]++
	}
	return n
}

// onceEach fails unless every event is stored exactly once and nothing else is.
func onceEach(t *testing.T, recs []Record, evs []event.Event) {
	t.Helper()
	n := count(recs)
	for _, ev := range evs {
		if n[ev.ID] != 1 {
			t.Errorf("id %s stored %d times, want 1", ev.ID, n[ev.ID])
		}
	}
	if len(recs) != len(evs) {
		t.Errorf("broker holds %d records, want %d", len(recs), len(evs))
	}
}

func publishAll(ctx context.Context, t *testing.T, h Harness, evs []event.Event) {
	t.Helper()
	for _, ev := range evs {
		if _, err := Retry(ctx, h.Sink.Publish, ev); err != nil {
			t.Fatalf("publish %s: %v", ev.ID, err)
		}
	}
}

func testPerKeyOrder(t *testing.T, h Harness) {
	ctx := ctxFor(t, 30*time.Second)
	evs := Events(t, 200, 5)
	byKey := make(map[string][]event.Event)
	for _, ev := range evs {
		byKey[ev.Key()] = append(byKey[ev.Key()], ev)
	}
	var wg sync.WaitGroup
	for _, list := range byKey {
		wg.Go(func() { publishAll(ctx, t, h, list) })
	}
	wg.Wait()
	recs := readBack(t, h, func(r []Record) bool { return len(r) >= len(evs) })
	onceEach(t, recs, evs)
	got := make(map[string][]string)
	for _, r := range recs {
		got[r.Key] = append(got[r.Key], r.ID)
	}
	for key, list := range byKey {
		if len(got[key]) != len(list) {
			t.Errorf("key %s: %d records, want %d", key, len(got[key]), len(list))
			continue
		}
		for i, ev := range list {
			if got[key][i] != ev.ID {
				t.Fatalf("key %s: record %d is %s, want %s (order lost)", key, i, got[key][i], ev.ID)
			}
		}
	}
}

func testAckedIsReadable(t *testing.T, h Harness) {
	ctx := ctxFor(t, 30*time.Second)
	for i, ev := range Events(t, 10, 3) {
		if _, err := Retry(ctx, h.Sink.Publish, ev); err != nil {
			t.Fatal(err)
		}
		recs, err := h.Read(ctx) // no waiting: nil from Publish means stored
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != i+1 || count(recs)[ev.ID] != 1 {
			t.Fatalf("after %d acked publishes the broker holds %d records (id present %d)", i+1, len(recs), count(recs)[ev.ID])
		}
		r := find(recs, ev.ID)
		if !bytes.Equal(r.Body, ev.Body) || r.Headers["ce_type"] != ev.CEType() {
			t.Fatalf("record %s: body or ce_type differ: %q %q", ev.ID, r.Body, r.Headers["ce_type"])
		}
	}
}

func find(recs []Record, id string) Record {
	for _, r := range recs {
		if r.ID == id {
			return r
		}
	}
	return Record{}
}

func outage(h Harness) time.Duration {
	if h.OutageTimeout > 0 {
		return h.OutageTimeout
	}
	return 2 * time.Second
}

// publishDown publishes ev with the broker down and checks it fails within the deadline.
func publishDown(t *testing.T, h Harness, ev event.Event) {
	t.Helper()
	d := outage(h)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	err := h.Sink.Publish(ctx, ev)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("publish with the broker down returned nil")
	}
	if took > d+2*time.Second {
		t.Fatalf("publish with the broker down took %s, deadline was %s", took, d)
	}
	t.Logf("broker down: error after %s: %v", took.Round(time.Millisecond), err)
}

func testBrokerDown(t *testing.T, h Harness) {
	evs := Events(t, 3, 1)
	publishAll(ctxFor(t, 30*time.Second), t, h, evs[:1])
	h.Stop(t)
	publishDown(t, h, evs[1])
	if err := h.Sink.Ping(ctxFor(t, 2*time.Second)); err == nil {
		t.Error("Ping returned nil with the broker down")
	}
	h.Start(t)
}

func testBrokerBack(t *testing.T, h Harness) {
	evs := Events(t, 20, 4)
	ctx := ctxFor(t, 60*time.Second)
	publishAll(ctx, t, h, evs[:5])
	h.Stop(t)
	publishDown(t, h, evs[5])
	h.Start(t)
	publishAll(ctx, t, h, evs[5:]) // evs[5] again: it may or may not have been stored
	recs := readBack(t, h, func(r []Record) bool { return len(r) >= len(evs) })
	onceEach(t, recs, evs)
	if err := h.Sink.Ping(ctx); err != nil {
		t.Errorf("Ping after the broker came back: %v", err)
	}
}

func testCloseFlushes(t *testing.T, h Harness) {
	evs := Events(t, 200, 8)
	ctx := ctxFor(t, 30*time.Second)
	errs := make([]error, len(evs))
	firstAck := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Go(func() {
			if errs[i] = h.Sink.Publish(ctx, ev); errs[i] == nil {
				once.Do(func() { close(firstAck) })
			}
		})
	}
	// Close while publishes are under way: once the first is acked (on a loaded machine the
	// goroutines may not have reached the sink at all before a Close that came at once).
	select {
	case <-firstAck:
	case <-ctx.Done():
		t.Fatal("no publish was acked before the deadline")
	}
	if err := h.Sink.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()
	if err := h.Sink.Publish(ctx, evs[0]); err == nil {
		t.Error("publish after Close returned nil")
	}
	// Close had all the time it needed (it returned nil): every publish under way must have
	// finished with its ack, and the only failure allowed is a refusal to start.
	var acked []event.Event
	for i, err := range errs {
		switch {
		case err == nil:
			acked = append(acked, evs[i])
		case !errors.Is(err, sinks.ErrClosed):
			t.Errorf("publish under way at Close failed instead of being flushed: %v", err)
		}
	}
	if len(acked) == 0 {
		t.Errorf("none of %d publishes started before Close was flushed", len(evs))
	}
	recs, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := count(recs)
	for _, ev := range acked {
		if n[ev.ID] != 1 {
			t.Errorf("acked id %s stored %d times after Close", ev.ID, n[ev.ID])
		}
	}
	t.Logf("%d of %d publishes under way at Close were acked", len(acked), len(evs))
}

func testConcurrent(t *testing.T, h Harness) {
	evs := Events(t, 400, 16)
	ctx := ctxFor(t, 30*time.Second)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := g; i < len(evs); i += 16 {
				if _, err := Retry(ctx, h.Sink.Publish, evs[i]); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	onceEach(t, readBack(t, h, func(r []Record) bool { return len(r) >= len(evs) }), evs)
}

func testSameID(t *testing.T, h Harness) {
	evs := Events(t, 20, 2)
	ctx := ctxFor(t, 30*time.Second)
	publishAll(ctx, t, h, evs[:10])
	publishAll(ctx, t, h, evs[:10]) // in sequence
	var wg sync.WaitGroup
	for range 4 { // at once
		wg.Go(func() { publishAll(ctx, t, h, evs[10:]) })
	}
	wg.Wait()
	recs, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, recs, evs)
}

func testInvalid(t *testing.T, h Harness) {
	ctx := ctxFor(t, 30*time.Second)
	bad := []event.Event{InvalidEvent("not json at all"), InvalidEvent(`{"entity": 1.2.3}`), InvalidEvent("\x00\xff binary")}
	good := Events(t, 2, 1)
	publishAll(ctx, t, h, append(append([]event.Event{}, bad...), good...))
	publishAll(ctx, t, h, bad[:1]) // the same raw bytes again collapse
	recs, err := h.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onceEach(t, recs, append(bad, good...))
	for _, ev := range bad {
		r := find(recs, ev.ID)
		if !h.IsInvalid(r) || !bytes.Equal(r.Body, ev.Body) {
			t.Errorf("invalid event %s stored at %s with body %q, want the invalid place and %q", ev.ID, r.Where, r.Body, ev.Body)
		}
		if r.Headers["ce_type"] != ev.CEType() {
			t.Errorf("invalid event ce_type %q, want %q", r.Headers["ce_type"], ev.CEType())
		}
	}
	for _, ev := range good {
		if r := find(recs, ev.ID); h.IsInvalid(r) {
			t.Errorf("valid event %s stored at the invalid place %s", ev.ID, r.Where)
		}
	}
}
