package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// TestKafkaOnlyFailoverBackfills: Kafka sink and Kafka lease, no NATS. Replica a leads and
// stops; alerts are created while nobody leads; replica b, which never led and has its
// own empty data directory, takes over from the watermark a shared through Kafka and
// backfills them (with a local file store it would load 0 and open no gap).
func TestKafkaOnlyFailoverBackfills(t *testing.T) {
	// The 2s TTL needs brokers whose group.min.session.timeout.ms was lowered (Kafka's default is 6000).
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "rhombus.events.v1", "rhombus-bridge.lease"),
		kfake.BrokerConfigs(map[string]string{"group.min.session.timeout.ms": "100"}))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	s := startSim(t, sim.Config{OrgUUID: "ORG-KHA"})
	replica := func(id string) *running {
		cfg := testConfig(t, s, "")
		cfg.Bridge.Sinks, cfg.Bridge.Lease, cfg.Bridge.LeaseTTL = []string{"kafka"}, "kafka", 2*time.Second
		cfg.Bridge.InstanceID, cfg.Kafka.Brokers = id, kc.ListenAddrs()
		return startApp(t, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	a := replica("kafka-a")
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var before, during []sim.Alert
	for range 5 {
		before = append(before, s.CreateAlert(sim.Alert{Shape: sim.ShapeFlat}))
	}
	last := before[len(before)-1].TimestampMs
	waitFor(t, "a's watermark past its alerts", 20*time.Second, func() bool { return a.status(t).WatermarkMs >= last })
	time.Sleep(1500 * time.Millisecond) // the save tick
	if err := a.stop(); err != nil {
		t.Fatalf("a: %v", err)
	}
	for range 5 {
		during = append(during, s.CreateAlert(sim.Alert{Shape: sim.ShapeFlat}))
	}

	b := replica("kafka-b")
	waitFor(t, "b backfilled", 30*time.Second, func() bool { return b.status(t).Backfilled >= int64(len(during)) })
	ids := kafkaIDs(t, kc.ListenAddrs(), "rhombus.events.v1", len(before)+len(during))
	for _, al := range before {
		if ids[event.AlertID(al.UUID)] < 1 {
			t.Fatalf("alert %s from a's term missing", al.UUID)
		}
	}
	for _, al := range during {
		if n := ids[event.AlertID(al.UUID)]; n != 1 {
			t.Fatalf("alert %s created while nobody led: %d copies on Kafka, want 1", al.UUID, n)
		}
	}
}
