package kafka_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// javaPartition is Kafka's default partitioner for a keyed record,
// toPositive(murmur2(key)) % n, computed with franz-go's independent implementation.
func javaPartition(key string, n int) int {
	p := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	return p.Partition(&kgo.Record{Key: []byte(key)}, n)
}

// Golden murmur2 values from Kafka's UtilsTest.testMurmur2 (Java); the balancer must put
// keys where the Java client would: (hash & 0x7fffffff) % n.
func TestMurmur2MatchesJava(t *testing.T) {
	golden := map[string]int32{"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107}
	for key, h := range golden {
		for _, n := range []int{1, 3, 6, 7, 12, 100} {
			parts := make([]int, n)
			for i := range parts {
				parts[i] = i
			}
			want := int((uint32(h) & 0x7fffffff) % uint32(n))
			if got := (&kafkago.Murmur2Balancer{}).Balance(kafkago.Message{Key: []byte(key)}, parts...); got != want {
				t.Errorf("key %q n=%d: partition %d, Java %d", key, n, got, want)
			}
			if got := javaPartition(key, n); got != want {
				t.Errorf("key %q n=%d: franz-go partition %d, Java %d", key, n, got, want)
			}
		}
	}
}

// publishByDevice publishes evs, one goroutine per key, each key in order, retrying
// failed attempts as the pipeline does; it returns how many attempts failed.
func publishByDevice(ctx context.Context, t *testing.T, pub func(context.Context, event.Event) error, evs []event.Event) int64 {
	t.Helper()
	var failed atomic.Int64
	byKey := make(map[string][]event.Event)
	for _, ev := range evs {
		byKey[ev.Key()] = append(byKey[ev.Key()], ev)
	}
	var wg sync.WaitGroup
	for _, list := range byKey {
		wg.Go(func() {
			for _, ev := range list {
				n, err := sinktest.Retry(ctx, pub, ev)
				failed.Add(int64(n))
				if err != nil {
					t.Errorf("publish %s: %v", ev.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

// checkStored: each event once, on its Java partition, per key in publish order.
func checkStored(t *testing.T, recs []stored, evs []event.Event) {
	t.Helper()
	pos := make(map[string]int, len(evs))
	for i, ev := range evs {
		pos[ev.ID] = i
	}
	seen := make(map[string]int)
	lastByKey := make(map[string]int)
	for _, r := range recs {
		seen[r.ID]++
		if want := javaPartition(r.Key, 6); r.Partition != want {
			t.Errorf("key %s on partition %d, Java puts it on %d", r.Key, r.Partition, want)
		}
		i, ok := pos[r.ID]
		if !ok {
			t.Errorf("unexpected record %s", r.ID)
			continue
		}
		if last, ok := lastByKey[r.Key]; ok && i < last {
			t.Errorf("key %s: event %d stored after event %d (order lost)", r.Key, i, last)
		}
		lastByKey[r.Key] = i
	}
	for _, ev := range evs {
		if seen[ev.ID] != 1 {
			t.Errorf("id %s stored %d times", ev.ID, seen[ev.ID])
		}
	}
	if len(recs) != len(evs) {
		t.Errorf("%d records, want %d", len(recs), len(evs))
	}
}

func TestThousandMixedEventsJavaPartitionsAndConsumers(t *testing.T) {
	c := newCluster(t)
	s := newSink(t, c, nil)
	evs := sinktest.Events(t, 1000, 40)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	publishByDevice(ctx, t, s.Publish, evs)
	publishByDevice(ctx, t, s.Publish, evs[:100]) // delivered again, as after a reconnect
	recs, err := readAll(ctx, c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, recs, evs)
	want := make(map[string]event.Event, len(evs))
	for _, ev := range evs {
		want[ev.ID] = ev
	}
	decodeKafkaGo(ctx, t, c.ListenAddrs(), want)
	decodeKgo(ctx, t, c.ListenAddrs(), want)
}

// checkCloudEvent decodes one record value into the schemas/v1 type and compares it.
func checkCloudEvent(t *testing.T, value []byte, key string, want map[string]event.Event) string {
	t.Helper()
	var ce v1.Event
	if err := json.Unmarshal(value, &ce); err != nil {
		t.Fatalf("decode CloudEvent: %v", err)
	}
	ev, ok := want[ce.ID]
	d := ev.Data()
	if !ok || ce.SpecVersion != "1.0" || ce.PartitionKey != key || ce.Data.Entity != ev.Entity ||
		ce.Data.DeviceUUID != d.DeviceUUID || string(ce.Data.Raw) != string(d.Raw) {
		t.Fatalf("record %s (key %s) does not match its event: %+v", ce.ID, key, ce)
	}
	return ce.ID
}

func decodeKafkaGo(ctx context.Context, t *testing.T, brokers []string, want map[string]event.Event) {
	got := make(map[string]bool)
	for p := range 6 {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MaxWait: 50 * time.Millisecond})
		r.SetOffset(kafkago.FirstOffset)
		for {
			lag, err := r.ReadLag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if lag == 0 {
				break
			}
			m, err := r.ReadMessage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got[checkCloudEvent(t, m.Value, string(m.Key), want)] = true
		}
		_ = r.Close()
	}
	if len(got) != len(want) {
		t.Fatalf("kafka-go Reader decoded %d events, want %d", len(got), len(want))
	}
}

func decodeKgo(ctx context.Context, t *testing.T, brokers []string, want map[string]event.Event) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := make(map[string]bool)
	for len(got) < len(want) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("kgo consumer: %d of %d events: %v", len(got), len(want), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			id := checkCloudEvent(t, r.Value, string(r.Key), want)
			if got[id] {
				t.Errorf("kgo consumer saw %s twice", id)
			}
			got[id] = true
			if h := headerOf(r, "content-type"); h != "application/cloudevents+json" {
				t.Errorf("content-type %q", h)
			}
		})
	}
}

func headerOf(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
