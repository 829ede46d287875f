package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// topicLayout returns the topic's partition count and each partition's replica count.
func topicLayout(ctx context.Context, t *testing.T, brokers []string) (int, []int) {
	t.Helper()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 5 * time.Second}
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("topic %s: %+v", topic, md.Topics)
	}
	var replicas []int
	for _, p := range md.Topics[0].Partitions {
		replicas = append(replicas, len(p.Replicas))
	}
	return len(md.Topics[0].Partitions), replicas
}

func createTopicConfig(brokers []string, partitions, replication int) kafka.Config {
	return kafka.Config{Brokers: brokers, Topic: topic, CreateTopic: true, Partitions: partitions,
		Replication: replication, WriteTimeout: 2 * time.Second, MetadataTTL: 200 * time.Millisecond,
		DialTimeout: time.Second}
}

// KAFKA_CREATE_TOPIC against a cluster without the topic (and without auto-creation):
// the sink creates it with the configured partitions and replication, and publishing
// works, each record on its Java murmur2 partition of the new count.
func TestCreateTopicWhenMissing(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := kafka.New(ctx, createTopicConfig(kc.ListenAddrs(), 4, 2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	n, replicas := topicLayout(ctx, t, kc.ListenAddrs())
	if n != 4 {
		t.Fatalf("created with %d partitions, want 4", n)
	}
	for p, r := range replicas {
		if r != 2 {
			t.Errorf("partition %d has %d replicas, want 2", p, r)
		}
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	evs := sinktest.Events(t, 40, 8)
	for _, ev := range evs {
		if err := s.Publish(ctx, ev); err != nil {
			t.Fatalf("publish to the created topic: %v", err)
		}
	}
	recs, err := readAll(ctx, kc.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(evs) {
		t.Fatalf("%d records in the created topic, want %d", len(recs), len(evs))
	}
	for _, r := range recs {
		if want := javaPartition(r.Key, 4); r.Partition != want {
			t.Errorf("key %s on partition %d, want %d of 4", r.Key, r.Partition, want)
		}
	}
}

// The topic already exists (with other settings): New succeeds, leaves it as it is, and
// publishing works.
func TestCreateTopicAlreadyPresent(t *testing.T) {
	c := newCluster(t) // 3 brokers, topic seeded with 6 partitions
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := kafka.New(ctx, createTopicConfig(c.ListenAddrs(), 4, 3))
	if err != nil {
		t.Fatalf("New with CreateTopic on an existing topic: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if n, _ := topicLayout(ctx, t, c.ListenAddrs()); n != 6 {
		t.Fatalf("the existing topic now has %d partitions, want its 6", n)
	}
	evs := sinktest.Events(t, 30, 6)
	for _, ev := range evs {
		if err := s.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := readAll(ctx, c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	checkStored(t, recs, evs)
}

// A topic that cannot be created as configured (replication above the broker count)
// stops New with an error naming the topic, instead of a sink that can never publish.
func TestCreateTopicImpossibleFailsNew(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := kafka.New(ctx, createTopicConfig(kc.ListenAddrs(), 4, 3))
	if err == nil {
		_ = s.Close(ctx)
		t.Fatal("New created a topic with replication 3 on one broker")
	}
	if !strings.Contains(err.Error(), topic) || !strings.Contains(strings.ToLower(err.Error()), "replication") {
		t.Fatalf("want an error naming the topic and the replication factor, got %v", err)
	}
}

// TestMissingTopicNamesTheFix: without KAFKA_CREATE_TOPIC and without the topic, Ping's
// error names the topic and both settings, and still reads as UnknownTopicOrPartition.
func TestMissingTopicNamesTheFix(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := createTopicConfig(kc.ListenAddrs(), 1, 1)
	cfg.CreateTopic = false
	s, err := kafka.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	err = s.Ping(ctx)
	var mt *kafka.MissingTopicError
	if !errors.As(err, &mt) || !errors.Is(err, kafkago.UnknownTopicOrPartition) ||
		err.Error() != `kafka: topic "rhombus.events.v1" does not exist: create it or set KAFKA_CREATE_TOPIC=true (KAFKA_TOPIC)` {
		t.Fatalf("ping: %v", err)
	}
}
