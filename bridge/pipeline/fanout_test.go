package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

const topic = "rhombus.events.v1"

type brokers struct {
	nats, kafka sinks.Sink
	natsURL     string
	kfk         *kfake.Cluster
	kafkaDown   atomic.Bool
}

// fanOut is a pipeline delivering to both sinks, seen as one Sink (what the bridge runs
// with BRIDGE_SINKS=nats,kafka); Publish is the path of webhooks and backfill.
type fanOut struct {
	*pipeline.Pipeline
	b      *brokers
	closed *atomic.Bool
}

// Publish refuses after Close (the pipeline alone would answer a recent id from its
// dedup without asking the closed sinks).
func (f fanOut) Publish(ctx context.Context, ev event.Event) error {
	if f.closed.Load() {
		return sinks.ErrClosed
	}
	return f.Pipeline.Publish(ctx, ev)
}

func (f fanOut) Name() string { return "fanout" }

func (f fanOut) Ping(ctx context.Context) error {
	return errors.Join(f.b.nats.Ping(ctx), f.b.kafka.Ping(ctx))
}

func (f fanOut) Close(ctx context.Context) error {
	f.closed.Store(true)
	return errors.Join(f.b.nats.Close(ctx), f.b.kafka.Close(ctx))
}

func (b *brokers) fanOut(t testing.TB) fanOut {
	t.Helper()
	p, err := pipeline.New(pipeline.Config{RetryBase: 10 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Logger: pipetest.QuietLog()}, b.nats, b.kafka)
	if err != nil {
		t.Fatal(err)
	}
	return fanOut{Pipeline: p, b: b, closed: new(atomic.Bool)}
}

func setup(t testing.TB) *brokers {
	t.Helper()
	srv, err := natsjs.StartEmbedded(natsjs.EmbeddedConfig{Listen: "127.0.0.1:-1", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	b := &brokers{natsURL: srv.ClientURL()}
	b.kfk, err = kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.kfk.Close)
	b.kfk.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		if b.kafkaDown.Load() {
			b.kfk.KeepControl()
			return nil, errors.New("down"), true
		}
		return nil, nil, false
	})
	ctx := context.Background()
	if b.nats, err = natsjs.New(ctx, natsjs.Config{URL: b.natsURL, AckTimeout: time.Second, Logger: pipetest.QuietLog()}); err != nil {
		t.Fatal(err)
	}
	if b.kafka, err = kafka.New(ctx, kafka.Config{Brokers: b.kfk.ListenAddrs(), Topic: topic,
		WriteTimeout: 2 * time.Second, MetadataTTL: 200 * time.Millisecond, Logger: pipetest.QuietLog()}); err != nil {
		t.Fatal(err)
	}
	return b
}

// natsIDs counts the Nats-Msg-Ids in the stream.
func natsIDs(t *testing.T, url string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "RHOMBUS")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	ids := make(map[string]int)
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	return ids
}

// kafkaIDs counts the ce_ids in the topic, read with franz-go up to the end offsets.
func kafkaIDs(t *testing.T, addrs []string, want int) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ids := make(map[string]int)
	n := 0
	for n < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			for _, h := range r.Headers {
				if h.Key == "ce_id" {
					ids[string(h.Value)]++
				}
			}
			n++
		})
	}
	// anything beyond want would show as a count of 2 only if it arrived: poll briefly more
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { ids["extra"]++ })
	return ids
}

func sameOnce(t *testing.T, name string, ids map[string]int, evs []event.Event) {
	t.Helper()
	for _, ev := range evs {
		if ids[ev.ID] != 1 {
			t.Errorf("%s: id %s stored %d times", name, ev.ID, ids[ev.ID])
		}
	}
	if len(ids) != len(evs) {
		t.Errorf("%s holds %d distinct ids, want %d", name, len(ids), len(evs))
	}
}

func TestFanOutIdenticalIDsOnBoth(t *testing.T) {
	b := setup(t)
	f := b.fanOut(t)
	defer f.Close(context.Background())
	evs := sinktest.Events(t, 300, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ev := range evs {
		if err := f.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	sameOnce(t, "nats", natsIDs(t, b.natsURL), evs)
	sameOnce(t, "kafka", kafkaIDs(t, b.kfk.ListenAddrs(), len(evs)), evs)
}

// Kafka down: Publish does not return nil, the error names kafka only; NATS stored the
// event. The caller's retry once Kafka is back leaves one copy on each.
func TestFanOutOneBrokerDown(t *testing.T) {
	b := setup(t)
	f := b.fanOut(t)
	defer f.Close(context.Background())
	evs := sinktest.Events(t, 10, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ev := range evs[:5] {
		if err := f.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	b.kafkaDown.Store(true)
	short, cancel2 := context.WithTimeout(ctx, time.Second)
	err := f.Publish(short, evs[5])
	cancel2()
	if err == nil || !strings.Contains(err.Error(), "sink kafka") || strings.Contains(err.Error(), "sink nats") {
		t.Fatalf("want an error naming only kafka, got %v", err)
	}
	if natsIDs(t, b.natsURL)[evs[5].ID] != 1 {
		t.Fatal("nats did not store the event while kafka was down")
	}
	b.kafkaDown.Store(false)
	for _, ev := range evs[5:] { // evs[5] again
		if err := f.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	sameOnce(t, "nats", natsIDs(t, b.natsURL), evs)
	sameOnce(t, "kafka", kafkaIDs(t, b.kfk.ListenAddrs(), len(evs)), evs)
}

// BenchmarkFanOutPublish publishes through the pipeline's fan-out to NATS and Kafka from
// 256 goroutines (the webhook and backfill path).
func BenchmarkFanOutPublish(b *testing.B) {
	br := setup(b)
	f := br.fanOut(b)
	defer f.Close(context.Background())
	const n, publishers = 10000, 256
	tmpl := sinktest.Events(b, 64, 64)
	var took time.Duration
	for round := 0; b.Loop(); round++ {
		evs := make([]event.Event, n)
		for i := range evs {
			evs[i] = tmpl[i%64]
			evs[i].ID = fmt.Sprintf("fan-%d-%08d", round, i)
		}
		start := time.Now()
		var wg sync.WaitGroup
		for g := range publishers {
			wg.Go(func() {
				for i := g; i < n; i += publishers {
					if err := f.Publish(context.Background(), evs[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		took += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/took.Seconds(), "events/s")
}
