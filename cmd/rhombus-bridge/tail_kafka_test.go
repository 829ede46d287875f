package main

import (
	"context"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// TestTailKafkaSASL: `tail --kafka` reads a broker that requires SASL with the configured
// credentials, and reports a wrong password instead of hanging.
func TestTailKafkaSASL(t *testing.T) {
	const topic = "rhombus.events.v1"
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topic), kfake.EnableSASL(),
		kfake.Superuser("SCRAM-SHA-256", "bridge", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	cfg := config.Config{Kafka: config.Kafka{Brokers: k.ListenAddrs(), Topic: topic,
		SASLMechanism: "scram-sha-256", Username: "bridge", Password: "s3cret"}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	produceSASL(ctx, t, cfg.Kafka, `{"id":"one"}`)

	tctx, stop := context.WithCancel(ctx)
	var got []string
	err = tailKafka(tctx, cfg, tailOptions{kafka: true, since: time.Hour}, func(where string, b []byte) error {
		got = append(got, where+" "+string(b))
		stop()
		return nil
	})
	if err != nil || len(got) != 1 || !strings.Contains(got[0], `"one"`) {
		t.Fatalf("tail: %v, got %q", err, got)
	}

	cfg.Kafka.Password = "wrong"
	if err := tailKafka(ctx, cfg, tailOptions{kafka: true}, nil); err == nil || ctx.Err() != nil {
		t.Fatalf("tail with a wrong password: %v (ctx %v)", err, ctx.Err())
	}
}

func produceSASL(ctx context.Context, t *testing.T, k config.Kafka, value string) {
	t.Helper()
	kc := kafka.Config{Brokers: k.Brokers, Topic: k.Topic, SASLMechanism: k.SASLMechanism, Username: k.Username,
		Password: k.Password}
	tr, err := kc.Transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.CloseIdleConnections()
	w := &kafkago.Writer{Addr: kafkago.TCP(k.Brokers...), Topic: k.Topic, Transport: tr, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(value)}); err != nil {
		t.Fatalf("produce: %v", err)
	}
}
