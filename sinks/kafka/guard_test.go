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

// TestSettleWaitsForWriteUnderWay models a leader frozen with a write queued: the write
// reaches the connection only after the caller gave up (the guard blocks until release,
// as the frozen process would). Settle returns only once that write has ended (refused by
// the guard), not while it is still under way, so the bridge can clear its fence without
// the write going out afterwards.
func TestSettleWaitsForWriteUnderWay(t *testing.T) {
	c := newCluster(t)
	ended := errors.New("lease term 7 has ended")
	var refuse atomic.Bool
	refuse.Store(true)
	entered, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	s := newSink(t, c, func(cfg *kafka.Config) {
		cfg.SendGuard = func() error {
			if !refuse.Load() {
				return nil
			}
			if first.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
			return ended
		}
	})
	ev := sinktest.Events(t, 1, 1)[0]
	pctx, pcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer pcancel()
	if err := s.Publish(pctx, ev); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish with the write held: %v, want its deadline", err)
	}
	<-entered
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Settle(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("settle with the write still under way: %v, want its deadline", err)
	}
	settled := make(chan error, 1)
	go func() { settled <- s.Settle(context.Background()) }()
	select { // a later Settle still waits for the write the first one gave up on
	case err := <-settled:
		t.Fatalf("second settle returned (%v) with the write still under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-settled; err != nil {
		t.Fatalf("settle once the write was refused: %v", err)
	}
	if _, total := idCounts(t, c); total != 0 {
		t.Fatalf("%d records stored by a write the guard refused", total)
	}
	refuse.Store(false)
	ctx, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	for err := s.Publish(ctx, ev); err != nil; err = s.Publish(ctx, ev) { // as the pipeline retries
		if ctx.Err() != nil {
			t.Fatalf("publish once the guard allows: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if counts, total := idCounts(t, c); total != 1 || counts[ev.ID] != 1 {
		t.Fatalf("%d records, want the event once", total)
	}
}
