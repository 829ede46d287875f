package kafka_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// every returns a fault filter true on every n-th request it sees.
func every(n int64) func(kmsg.Request) bool {
	var seen atomic.Int64
	return func(kmsg.Request) bool { return seen.Add(1)%n == 0 }
}

// The broker stores the batch, then answers with an error: the sink must neither lose
// the record nor write it twice.
func TestProduceAnsweredWithErrorAfterStored(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.RequestTimedOut, kerr.NotEnoughReplicasAfterAppend} {
		t.Run(code.Message, func(t *testing.T) {
			c := newCluster(t)
			reg := prometheus.NewRegistry()
			s := newSink(t, c, func(cfg *kafka.Config) { cfg.Registerer = reg })
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: topic, Err: code, Count: 15, When: every(4)})
			evs := sinktest.Events(t, 600, 30)
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			publishByDevice(ctx, t, s.Publish, evs)
			if h.Hits() == 0 {
				t.Fatal("the fault never fired")
			}
			recs, err := readAll(ctx, c.ListenAddrs())
			if err != nil {
				t.Fatal(err)
			}
			checkStored(t, recs, evs)
			dups := counter(t, reg, "rhombus_bridge_sink_duplicates_total")
			t.Logf("%d faulted produce requests; %v records found by read-back instead of rewritten", h.Hits(), dups)
			if dups == 0 {
				t.Error("no record was recognised by read-back, though produce requests were stored and failed")
			}
		})
	}
}

// counter returns the value of the counter called name in reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// One broker drops every connection mid-stream, then comes back; meanwhile its
// partitions fail over to the others (as after a leader election).
func TestBrokerDownMidStream(t *testing.T) {
	c := newCluster(t)
	s := newSink(t, c, nil)
	evs := sinktest.Events(t, 1000, 40)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var published atomic.Int64
	restored := make(chan struct{})
	pub := func(ctx context.Context, ev event.Event) error {
		err := s.Publish(ctx, ev)
		if published.Add(1) == 300 {
			victim := c.LeaderFor(topic, 0)
			c.downNode.Store(victim)
			go func() {
				time.Sleep(300 * time.Millisecond)
				for p := range int32(6) {
					if c.LeaderFor(topic, p) == victim {
						_ = c.MoveTopicPartition(topic, p, (victim+1)%3)
					}
				}
				time.Sleep(500 * time.Millisecond)
				c.downNode.Store(-1)
				close(restored)
			}()
		}
		return err
	}
	failed := publishByDevice(ctx, t, pub, evs)
	<-restored
	recs, err := readAll(ctx, c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, recs, evs)
	t.Logf("%v write attempts failed and were retried", failed)
	if failed == 0 {
		t.Error("the broker outage caused no retry: the test did not test it")
	}
}
