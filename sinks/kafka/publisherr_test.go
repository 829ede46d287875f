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
