package kafka_test

import (
	"context"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

func newHarness(t *testing.T) sinktest.Harness {
	c := newCluster(t)
	s := newSink(t, c, nil)
	inv := sinktest.InvalidEvent("x")
	invalidType := inv.CEType()
	return sinktest.Harness{
		Sink: s,
		Read: func(ctx context.Context) ([]sinktest.Record, error) {
			recs, err := readAll(ctx, c.ListenAddrs())
			return records(recs), err
		},
		Stop:  func(*testing.T) { c.down.Store(true) },
		Start: func(*testing.T) { c.down.Store(false) },
		IsInvalid: func(r sinktest.Record) bool {
			return r.Headers["ce_type"] == invalidType && r.Key == "none"
		},
	}
}

func TestConformance(t *testing.T) { sinktest.Run(t, newHarness) }
