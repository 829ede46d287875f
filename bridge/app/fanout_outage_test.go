package app_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// BRIDGE_SINKS=nats,kafka with Kafka down mid-stream: NATS keeps receiving every alert
// while Kafka is away (the lag fits the memory bound), and once Kafka is back it receives
// each alert exactly once. Nothing is lost for either broker.
func TestKafkaOutageDoesNotStopNATS(t *testing.T) {
	ns := natstest.Start(t)
	var down atomic.Bool
	kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "rhombus.events.v1"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	kc.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		if down.Load() {
			kc.KeepControl()
			return nil, errors.New("broker down"), true // closes the connection
		}
		return nil, nil, false
	})
	s := startSim(t, sim.Config{OrgUUID: "ORG-OUT"})
	cfg := testConfig(t, s, ns.URL())
	cfg.Bridge.Sinks = []string{"nats", "kafka"}
	cfg.Kafka.Brokers = kc.ListenAddrs()
	cfg.Bridge.ShutdownTimeout = 20 * time.Second
	startApp(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var alerts []sim.Alert
	create := func(n int) {
		for range n {
			alerts = append(alerts, s.CreateAlert(sim.Alert{Shape: sim.ShapeFlat}))
		}
	}
	create(20)
	st := openStream(t, ns.URL())
	waitFor(t, "20 alerts on NATS", 20*time.Second, func() bool { return len(st.all(t)) >= 20 })
	down.Store(true)
	create(300)
	waitFor(t, "320 alerts on NATS while Kafka is down", 30*time.Second, func() bool { return len(natsAlerts(t, st)) >= 320 })
	down.Store(false)
	kIDs := kafkaIDs(t, cfg.Kafka.Brokers, cfg.Kafka.Topic, 320)
	nIDs := natsAlerts(t, st)
	for _, a := range alerts {
		id := event.AlertID(a.UUID)
		if nIDs[id] != 1 || kIDs[id] != 1 {
			t.Fatalf("alert %s: %d on NATS, %d on Kafka (want 1 and 1)", a.UUID, nIDs[id], kIDs[id])
		}
	}
}

// natsAlerts counts the policy alerts in the stream by id (gap records left out).
func natsAlerts(t *testing.T, st *stream) map[string]int {
	ids := map[string]int{}
	for _, m := range st.all(t) {
		if !isGap(m.Subject) {
			ids[m.ID]++
		}
	}
	return ids
}

func isGap(subject string) bool { return strings.Contains(subject, ".bridge_gap.") }
