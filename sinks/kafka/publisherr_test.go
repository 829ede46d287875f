package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// The first write is cut (its outcome unknown: Publish fails at once, transient), and the
// read-back that must come before the retry's write hangs past the caller's deadline: the
// retry returns at the deadline, and its error still says why the earlier attempt failed
// instead of only "deadline exceeded".
func TestPublishErrorKeepsCauseWhenContextEndsMidAttempt(t *testing.T) {
	c := newCluster(t)
	s := newSink(t, c, nil)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		return nil, errors.New("cut"), true // once: closes the connection, nothing stored
	})
	wake := make(chan struct{})
	var woke bool
	wakeUp := func() {
		if !woke {
			woke = true
			close(wake)
		}
	}
	defer wakeUp()
	c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-wake })
		return nil, nil, false
	})
	ev := sinktest.Events(t, 1, 1)[0]
	first, cancelFirst := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelFirst()
	if err := s.Publish(first, ev); err == nil || errors.Is(err, sinks.ErrRejected) {
		t.Fatalf("the cut write: want a transient error, got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := s.Publish(ctx, ev)
	el := time.Since(start)
	wakeUp()
	t.Logf("publish after %v: %v", el, err)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	if el > 2*time.Second {
		t.Errorf("publish took %v with a 1s context", el)
	}
	if !strings.Contains(err.Error(), "last attempt") {
		t.Errorf("the error does not say why the earlier attempt failed: %v", err)
	}
}

// A Publish whose context already ended writes nothing, every time: a leader frozen
// between the pipeline's fence check and the write must not write when it thaws (the
// check used to race a free slot against the ended context, and win half the time).
func TestPublishWithEndedContextWritesNothing(t *testing.T) {
	c := newCluster(t)
	s := newSink(t, c, nil)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, ev := range sinktest.Events(t, 40, 4) {
		if err := s.Publish(ended, ev); !errors.Is(err, context.Canceled) {
			t.Fatalf("publish with an ended context: %v, want context.Canceled", err)
		}
	}
	probe := sinktest.Events(t, 41, 4)[40]
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := s.Publish(ctx, probe); err != nil { // a write after them: the topic has settled
		t.Fatal(err)
	}
	got, err := readAll(ctx, c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Errorf("%d records on the topic, want only the probe", len(got))
	}
}
