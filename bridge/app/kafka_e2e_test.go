package app_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/schemas/v1/validate"
)

// kafkaRecord is one record read back, with where it landed.
type kafkaRecord struct {
	partition int32
	offset    int64
	key       string
	ce        v1.Event
}

// TestKafkaOnlyThousandMixedEvents: simulator → bridge (BRIDGE_SINKS=kafka, no NATS) →
// kfake with 3 brokers and a 6-partition topic. Every event lands once; each record's
// partition is the Java client's murmur2 partition for its key (franz-go's independent
// implementation); each device's events keep their order; the values are schema-valid
// CloudEvents with the sent payload as raw.
func TestKafkaOnlyThousandMixedEvents(t *testing.T) {
	const topic = "rhombus.events.v1"
	kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	s := startSim(t, sim.Config{OrgUUID: "ORG-E2E"})
	cfg := testConfig(t, s, "")
	cfg.Bridge.Sinks = []string{"kafka"}
	cfg.Kafka.Brokers = kc.ListenAddrs()
	cfg.Rhombus.Enrich = false
	startApp(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	payloads := mixed(1000)
	order := map[string]int{} // id → position sent
	for i, p := range payloads {
		ev, err := event.ParseChange("ORG-E2E", p.raw, event.ViaWebSocket)
		if err != nil {
			t.Fatal(err)
		}
		order[ev.ID] = i
		s.Emit(p.raw)
	}
	recs := readKafka(t, kc.ListenAddrs(), topic, len(payloads))
	checkKafkaRecords(t, recs, payloads, order)
}

func checkKafkaRecords(t *testing.T, recs []kafkaRecord, payloads []sent, order map[string]int) {
	t.Helper()
	part := kgo.StickyKeyPartitioner(nil).ForTopic("rhombus.events.v1")
	seen := map[string]bool{}
	last := map[string]kafkaRecord{} // key → latest record read so far
	for _, r := range recs {
		pos, ok := order[r.ce.ID]
		if !ok {
			continue // a gap record
		}
		if seen[r.ce.ID] {
			t.Fatalf("id %s written twice", r.ce.ID)
		}
		seen[r.ce.ID] = true
		if want := part.Partition(&kgo.Record{Key: []byte(r.key)}, 6); int(r.partition) != want {
			t.Fatalf("key %s in partition %d, Java's murmur2 says %d", r.key, r.partition, want)
		}
		if prev, ok := last[r.key]; ok && (prev.partition != r.partition || order[prev.ce.ID] > pos) {
			t.Fatalf("device %s out of order: %s before %s", r.key, prev.ce.ID, r.ce.ID)
		}
		last[r.key] = r
		if string(r.ce.Data.Raw) != string(payloads[pos].raw) || r.key != r.ce.PartitionKey {
			t.Fatalf("record %s: raw or key wrong (key %q, partitionkey %q)", r.ce.ID, r.key, r.ce.PartitionKey)
		}
	}
	if len(seen) != len(order) {
		t.Fatalf("%d of %d events on Kafka", len(seen), len(order))
	}
}

// readKafka reads topic from the start until want CloudEvents (gap records aside) have
// come, then polls once more so that duplicates would show. Records come partition by
// partition in offset order.
func readKafka(t *testing.T, brokers []string, topic string, want int) []kafkaRecord {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []kafkaRecord
	events, extra := 0, false
	deadline := time.Now().Add(40 * time.Second)
	for (events < want || !extra) && time.Now().Before(deadline) {
		extra = events >= want
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			if err := validate.Event(r.Value); err != nil {
				t.Fatalf("record is not a valid CloudEvent: %v\n%s", err, r.Value)
			}
			var ce v1.Event
			if err := json.Unmarshal(r.Value, &ce); err != nil {
				t.Fatal(err)
			}
			if ce.RhombusEntity != "BRIDGE_GAP" {
				events++
			}
			out = append(out, kafkaRecord{partition: r.Partition, offset: r.Offset, key: string(r.Key), ce: ce})
		})
	}
	return out
}
