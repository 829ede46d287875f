package kafka_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// TestSendGuardRefuses: while SendGuard refuses, a Publish stores nothing and returns the
// guard's reason at once (no retry); once it allows, the same event is written once.
func TestSendGuardRefuses(t *testing.T) {
	c := newCluster(t)
	var refuse atomic.Bool
	refuse.Store(true)
	ended := errors.New("lease term 7 has ended")
	s := newSink(t, c, func(cfg *kafka.Config) {
		cfg.SendGuard = func() error {
			if refuse.Load() {
				return ended
			}
			return nil
		}
	})
	ev := sinktest.Events(t, 1, 1)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Publish(ctx, ev); !errors.Is(err, ended) {
		t.Fatalf("publish while refused: %v, want the guard's error", err)
	}
	if _, total := idCounts(t, c); total != 0 {
		t.Fatalf("%d records stored while the guard refused", total)
	}
	refuse.Store(false)
	began := time.Now()
	for err := s.Publish(ctx, ev); err != nil; err = s.Publish(ctx, ev) { // as the pipeline retries
		if !errors.Is(err, ended) || time.Since(began) > 10*time.Second {
			t.Fatalf("publish once the guard allows: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("written %v after the guard allowed it", time.Since(began).Round(time.Millisecond))
	if counts, total := idCounts(t, c); total != 1 || counts[ev.ID] != 1 {
		t.Fatalf("%d records, want the event once", total)
	}
}
