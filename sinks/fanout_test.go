package sinks_test

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
	if b.nats, err = natsjs.New(ctx, natsjs.Config{URL: b.natsURL, AckTimeout: time.Second}); err != nil {
		t.Fatal(err)
	}
	if b.kafka, err = kafka.New(ctx, kafka.Config{Brokers: b.kfk.ListenAddrs(), Topic: topic,
		WriteTimeout: 2 * time.Second, MetadataTTL: 200 * time.Millisecond}); err != nil {
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

func TestFanoutIdenticalIDsOnBoth(t *testing.T) {
	b := setup(t)
	f := sinks.Fanout(b.nats, b.kafka)
	defer f.Close(context.Background())
	if f.Name() != "nats+kafka" {
		t.Errorf("name %q", f.Name())
	}
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

// Kafka down: the event is not acknowledged, the error names kafka; NATS stored it. The
// caller retries the whole event once Kafka is back: one copy on each.
func TestFanoutOneBrokerDownRetryWholeEvent(t *testing.T) {
	b := setup(t)
	f := sinks.Fanout(b.nats, b.kafka)
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
	for _, ev := range evs[5:] { // evs[5] retried whole
		if err := f.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	sameOnce(t, "nats", natsIDs(t, b.natsURL), evs)
	sameOnce(t, "kafka", kafkaIDs(t, b.kfk.ListenAddrs(), len(evs)), evs)
}

// BenchmarkFanout publishes through Fanout(nats, kafka) from 256 goroutines.
func BenchmarkFanout(b *testing.B) {
	br := setup(b)
	f := sinks.Fanout(br.nats, br.kafka)
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
