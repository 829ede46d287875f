package pipeline_test

import (
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
)

func closedNow(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Drained is closed only once every outstanding live event is acknowledged, and at once
// when none is.
func TestWatermarkDrained(t *testing.T) {
	w := pipeline.NewWatermark(0)
	if !closedNow(w.Drained()) {
		t.Fatal("Drained not closed with nothing outstanding")
	}
	seqs := pipeline.BeginN(w, 2)
	ch := w.Drained()
	pipeline.Done(w, seqs[1], 200)
	if closedNow(ch) {
		t.Fatal("Drained closed with one event outstanding")
	}
	pipeline.Done(w, seqs[0], 100)
	if !closedNow(ch) {
		t.Fatal("Drained not closed once both were acknowledged")
	}
}

// Room stays open while the queue is more than half full (nothing is delivered while the
// pipeline is not running) and is closed once the dispatcher has taken enough.
func TestRoomAfterOverflow(t *testing.T) {
	b := pipetest.StartBroker(t)
	p, err := pipeline.New(pipeline.Config{Queue: 10, Lanes: 1, Logger: pipetest.QuietLog()}, b.Sink())
	if err != nil {
		t.Fatal(err)
	}
	if !closedNow(p.Room()) {
		t.Fatal("Room not closed with an empty queue")
	}
	for n := range 10 {
		if !p.Offer(pipetest.Alert(t, "cam", n, int64(n+1))) {
			t.Fatalf("event %d not taken", n)
		}
	}
	room := p.Room()
	if closedNow(room) {
		t.Fatal("Room closed with a full queue")
	}
	t.Cleanup(pipetest.Run(t, p))
	select {
	case <-room:
	case <-time.After(20 * time.Second):
		t.Fatalf("Room not closed after the pipeline started (queue depth %d)", p.QueueDepth())
	}
}
