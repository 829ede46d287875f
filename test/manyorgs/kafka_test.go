package manyorgs_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	kafkaTopic = "rhombus.events.v1"
	// kafkaTTL is BRIDGE_LEASE_TTL with the Kafka lease: the group session timeout, which
	// Kafka (and kfake at its defaults) allows no lower than 6 s.
	kafkaTTL = 6 * time.Second
)

// useKafka makes w's replicas a Kafka-only deployment (BRIDGE_LEASE=kafka, BRIDGE_SINKS=kafka,
// the watermarks on Kafka too) on kfake at its defaults, and returns a collector of the
// events topic.
func (w *world) useKafka(t *testing.T) *collector {
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, kafkaTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	w.env = map[string]string{"BRIDGE_LEASE": "kafka", "BRIDGE_SINKS": "kafka", "BRIDGE_LEASE_TTL": kafkaTTL.String(),
		"KAFKA_BROKERS": k.ListenAddrs()[0], "KAFKA_TOPIC": kafkaTopic}
	return kafkaCollector(t, k.ListenAddrs())
}

// kafkaCollector counts the ce_id of every record of the events topic from its start.
func kafkaCollector(t *testing.T, brokers []string) *collector {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{ids: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == "ce_id" {
						c.mu.Lock()
						c.ids[string(h.Value)]++
						c.n++
						c.mu.Unlock()
					}
				}
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return c
}

// TestKafkaShardKill9 is TestShardKill9 on Kafka: 3 replicas share 30 orgs through the
// shard group, each at most ⌈30/3⌉+1; kill -9 of the busiest one: its orgs are subscribed
// elsewhere within TTL + 1 s, no alert lost, no id twice on the topic.
func TestKafkaShardKill9(t *testing.T) {
	w := newWorld(t, 30)
	topic := w.useKafka(t)
	w.startReplicas(3)
	survivors := w.kill9Busiest(t, kafkaTTL)
	checkOrgsCommand(t, w, survivors)
	w.checkDelivered(t, topic)
}

// TestKafkaReplicaJoins is TestReplicaJoins on Kafka: slots move to the third replica one
// at a time per busy replica (each drained under its lease before the new owner starts),
// without an alert lost or an id twice on the topic.
func TestKafkaReplicaJoins(t *testing.T) {
	w := newWorld(t, 30)
	topic := w.useKafka(t)
	w.joinThird(t)
	w.checkDelivered(t, topic)
}
