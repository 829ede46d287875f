package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

const tailTopic = "tail.events.v1"

// newTailKafka starts a kfake cluster (on 127.0.0.1) with tailTopic, points KAFKA_BROKERS
// and KAFKA_TOPIC at it, and returns the bridge's Kafka sink on it.
func newTailKafka(t *testing.T) *kafka.Sink {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, tailTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sink, err := kafka.New(ctx, kafka.Config{Brokers: kc.ListenAddrs(), Topic: tailTopic,
		WriteTimeout: 2 * time.Second, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sink.Close(context.Background()) })
	t.Setenv("KAFKA_BROKERS", strings.Join(kc.ListenAddrs(), ","))
	t.Setenv("KAFKA_TOPIC", tailTopic)
	return sink
}

func produce(t *testing.T, sink *kafka.Sink, evs ...event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ev := range evs {
		if err := sink.Publish(ctx, ev); err != nil {
			t.Fatalf("produce %s: %v", ev.ID, err)
		}
	}
}

// TestTailKafka: `tail --kafka` reads KAFKA_TOPIC: --since replays the CloudEvents the
// Kafka sink wrote, in the human view and through the filters; without --since only
// new records show.
func TestTailKafka(t *testing.T) {
	sink := newTailKafka(t)
	// All on CAM-FRONT: one key, one partition, so the records keep this order.
	produce(t, sink, alert(t, "alert-motion", "CAM-FRONT", "Front door", "Motion", 8, "MOTION_DETECTED"),
		fixture(t, "config"), fixture(t, "front"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all := start(ctx, "tail", "--kafka", "--since", "1h")
	waitOutput(t, &all.out, 20*time.Second, func(o string) bool { return strings.Count(o, "\n") >= 3 })
	stopTail(t, cancel, all)
	inOrder(t, lineWith(all.out.String(), "alert-front-1"), "Front door", "PERSON_DETECTED,LOITERING", "5.2s",
		"Person near entrance", "alert-front-1")

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	one := start(ctx, "tail", "--kafka", "--since", "1h", "--trigger", "LOITERING", "--entity", "POLICY_ALERT")
	waitOutput(t, &one.out, 20*time.Second, func(o string) bool { return strings.Contains(o, "alert-front-1") })
	stopTail(t, cancel, one)
	if o := one.out.String(); strings.Contains(o, "alert-motion") || strings.Contains(o, "DEVICE_CONFIG") {
		t.Fatalf("tail --kafka --trigger LOITERING printed other events:\n%s", o)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	live := start(ctx, "tail", "--kafka", "--json")
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !strings.Contains(live.out.String(), `"alert-live-`); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("tail --kafka never showed a new record; stderr:\n%s", live.errOut.String())
		}
		produce(t, sink, alert(t, fmt.Sprintf("alert-live-%d", i), "CAM-BACK", "Back yard", "live", 1, "MOTION_DETECTED"))
		time.Sleep(300 * time.Millisecond)
	}
	stopTail(t, cancel, live)
	if o := live.out.String(); strings.Contains(o, "alert-front-1") || strings.Contains(o, "alert-motion") {
		t.Fatalf("tail --kafka without --since replayed history:\n%s", o)
	}
}
