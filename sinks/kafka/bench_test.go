package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

const (
	benchEvents     = 10000
	benchPublishers = 256
)

// benchEventsOf returns n same-size events with distinct ids over 64 devices.
func benchEventsOf(tb testing.TB, n, round int) []event.Event {
	tmpl := sinktest.Events(tb, 64, 64)
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = tmpl[i%64]
		evs[i].ID = fmt.Sprintf("bench-%d-%08d", round, i)
	}
	return evs
}

// parallel runs fn over evs from benchPublishers goroutines and returns the time taken.
func parallel(b *testing.B, evs []event.Event, fn func(context.Context, event.Event) error) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range benchPublishers {
		wg.Go(func() {
			for i := g; i < len(evs); i += benchPublishers {
				if err := fn(ctx, evs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkSinkVsRawWriter: the sink and a raw kafka-go Writer with the same settings
// (Murmur2Balancer, RequireAll, 2ms batches, one attempt), each from 256 goroutines
// writing one record per call, on the same kfake cluster (3 brokers, 6 partitions).
func BenchmarkSinkVsRawWriter(b *testing.B) {
	c := newCluster(b)
	s := newSink(b, c, nil)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.ListenAddrs()...), Topic: topic, Balancer: &kafkago.Murmur2Balancer{},
		RequiredAcks: kafkago.RequireAll, MaxAttempts: 1, BatchTimeout: 2 * time.Millisecond, BatchSize: 1000,
		BatchBytes: 1 << 20, WriteTimeout: 2 * time.Second,
		Transport: &kafkago.Transport{MetadataTTL: 200 * time.Millisecond, MetadataTopics: []string{topic}}}
	defer w.Close()
	raw := func(ctx context.Context, ev event.Event) error {
		return w.WriteMessages(ctx, kafkago.Message{Key: []byte(ev.Key()), Value: ev.Body, Time: time.Now(),
			Headers: []kafkago.Header{{Key: kafka.HeaderCEID, Value: []byte(ev.ID)},
				{Key: kafka.HeaderCEType, Value: []byte(ev.CEType())},
				{Key: kafka.HeaderContentType, Value: []byte(kafka.ContentType)}}})
	}
	var rawT, sinkT time.Duration
	for round := 0; b.Loop(); round++ {
		rawT += parallel(b, benchEventsOf(b, benchEvents, 2*round), raw)
		sinkT += parallel(b, benchEventsOf(b, benchEvents, 2*round+1), s.Publish)
	}
	n := float64(benchEvents * b.N)
	b.ReportMetric(n/rawT.Seconds(), "raw_events/s")
	b.ReportMetric(n/sinkT.Seconds(), "sink_events/s")
	b.ReportMetric(rawT.Seconds()/sinkT.Seconds(), "sink/raw")
}

// BenchmarkPreload: what a new term pays before it writes: reading the ids of 10,000
// records (the window a failover backfills, written by the previous leader) from kfake
// (3 brokers, 6 partitions) into a sink that is connected already (a standby's sink
// answers /readyz pings, so its connections are up when it becomes leader).
func BenchmarkPreload(b *testing.B) {
	c := newCluster(b)
	began := time.Now()
	parallel(b, benchEventsOf(b, benchEvents, 0), newSink(b, c, nil).Publish)
	s := newSink(b, c, nil)
	if err := s.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	var records int
	for b.Loop() {
		r := <-s.Preload(context.Background(), began)
		if r.Err != nil || r.Capped || r.Records != benchEvents {
			b.Fatalf("preload %+v, error %v", r.PreloadStats, r.Err)
		}
		took += r.Took
		records += r.Records
	}
	b.ReportMetric(float64(took.Milliseconds())/float64(b.N), "ms/preload")
	b.ReportMetric(float64(records)/float64(b.N), "records/preload")
	b.ReportMetric(float64(records)/took.Seconds(), "records/s")
}
