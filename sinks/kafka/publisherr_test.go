package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// The first write is cut (its outcome unknown), and the read-back that must come before
// a rewrite hangs past the caller's deadline: Publish returns at the deadline, and its
// error still says why the earlier attempt failed instead of only "deadline exceeded".
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	err := s.Publish(ctx, sinktest.Events(t, 1, 1)[0])
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
