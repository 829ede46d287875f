package natsjs_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// answers is a Completion that hands each outcome to the test.
type answers chan error

func (a answers) Done(err error) { a <- err }

// TryPublishAsync never waits: with every slot taken (the acks held back) it reports
// ErrBusy at once and sends nothing; once the acks came it starts an attempt like
// PublishAsync.
func TestTryPublishAsyncBusyWhenSlotsTaken(t *testing.T) {
	srv := natstest.Start(t)
	px := startHoldProxy(t, strings.TrimPrefix(srv.URL(), "nats://"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := natsjs.New(ctx, natsjs.Config{URL: px.url(), Stream: "TRY", MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	evs := sinktest.Events(t, 4, 1)
	done := make(answers, 4)
	px.hold()
	for _, ev := range evs[:2] {
		if err := s.PublishAsync(ctx, ev, done); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := s.TryPublishAsync(evs[2], done); !errors.Is(err, sinks.ErrBusy) {
		t.Fatalf("with both slots taken: %v, want ErrBusy", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("a busy TryPublishAsync took %v", el)
	}
	px.release()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TryPublishAsync(evs[3], done); err != nil {
		t.Fatalf("with free slots: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Errorf("an answer for the busy attempt: %v", err)
	default:
	}
	if n := streamMsgs(t, jsClient(t, srv.URL()), "TRY"); n != 3 {
		t.Errorf("stream holds %d messages, want 3 (the busy one was never sent)", n)
	}
}
