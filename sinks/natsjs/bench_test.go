package natsjs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

const benchEvents = 20000

// benchEventsOf returns n events of one realistic size with distinct ids.
func benchEventsOf(tb testing.TB, n int, round int) []event.Event {
	tmpl := sinktest.Events(tb, 1, 1)[0]
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = tmpl
		evs[i].ID = fmt.Sprintf("bench-%d-%08d", round, i)
	}
	return evs
}

// BenchmarkSinkVsRaw publishes the same number of same-size messages to the same
// embedded server, first raw (PublishMsgAsync from one goroutine, then wait for every
// ack), then through the sink from N goroutines (each Publish waits for its ack).
func BenchmarkSinkVsRaw(b *testing.B) {
	for _, n := range []int{256, 1024} {
		b.Run(fmt.Sprintf("publishers=%d", n), func(b *testing.B) { benchSinkVsRaw(b, n) })
	}
}

func benchSinkVsRaw(b *testing.B, publishers int) {
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	ctx := context.Background()
	s, err := natsjs.New(ctx, natsjs.Config{URL: srv.ClientURL(), MaxInFlight: 1024})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	var raw, sink time.Duration
	b.ResetTimer()
	for round := 0; b.Loop(); round++ {
		evs := benchEventsOf(b, benchEvents, 2*round)
		raw += rawPublish(b, js, evs)
		evs = benchEventsOf(b, benchEvents, 2*round+1)
		sink += sinkPublish(b, s, evs, publishers)
	}
	n := float64(benchEvents * b.N)
	b.ReportMetric(n/raw.Seconds(), "raw_events/s")
	b.ReportMetric(n/sink.Seconds(), "sink_events/s")
	b.ReportMetric(raw.Seconds()/sink.Seconds(), "sink/raw")
}

func rawPublish(b *testing.B, js jetstream.JetStream, evs []event.Event) time.Duration {
	start := time.Now()
	for i := range evs {
		m := &nats.Msg{Subject: evs[i].Subject("rhombus"), Data: evs[i].Body, Header: nats.Header{
			jetstream.MsgIDHeader: {evs[i].ID}, "Content-Type": {"application/cloudevents+json"},
			"ce_id": {evs[i].ID}, "ce_type": {evs[i].CEType()}}} // the same bytes as the sink sends
		if _, err := js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("raw publish did not complete")
	}
	return time.Since(start)
}

func sinkPublish(b *testing.B, s *natsjs.Sink, evs []event.Event, publishers int) time.Duration {
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range publishers {
		wg.Go(func() {
			for i := g; i < len(evs); i += publishers {
				if err := s.Publish(ctx, evs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}
