package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// kafkaIDs reads every record of topic and returns the CloudEvent ids, counted.
func kafkaIDs(t *testing.T, brokers []string, topic string, want int) map[string]int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ids := map[string]int{}
	total := 0
	deadline := time.Now().Add(30 * time.Second)
	extra := false // one more poll after reaching want, so duplicates would show
	for (total < want || !extra) && time.Now().Before(deadline) {
		extra = total >= want
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var ce v1.Event
			if err := json.Unmarshal(r.Value, &ce); err != nil {
				t.Fatalf("record is not a CloudEvent: %v", err)
			}
			if string(r.Key) != ce.PartitionKey {
				t.Fatalf("record key %q, partitionkey %q", r.Key, ce.PartitionKey)
			}
			ids[ce.ID]++
			total++
		})
	}
	return ids
}

// TestFanOutAndWebhookCopies: with BRIDGE_SINKS=nats,kafka every event lands on both
// brokers with identical ids, and a signed webhook for an alert already received over the
// WebSocket is answered 200 without a second copy on either broker.
func TestFanOutAndWebhookCopies(t *testing.T) {
	ns := natstest.Start(t)
	kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "rhombus.events.v1"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	s := startSim(t, sim.Config{OrgUUID: "ORG-FAN"})
	cfg := testConfig(t, s, ns.URL())
	cfg.Bridge.Sinks = []string{"nats", "kafka"}
	cfg.Kafka.Brokers = kc.ListenAddrs()
	cfg.Webhook.Secrets = []string{"old-secret", "new-secret"}
	r := startApp(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	var alerts []sim.Alert
	for i := 0; i < 50; i++ {
		alerts = append(alerts, s.CreateAlert(sim.Alert{Shape: sim.ShapeFlat}))
	}
	st := openStream(t, ns.URL())
	waitFor(t, "50 alerts on NATS", 20*time.Second, func() bool { return len(st.all(t)) >= 50 })
	url := "http://" + r.info.WebhookAddr + cfg.Webhook.Path
	for _, a := range alerts[:10] {
		res, err := sim.SendWebhook(ctx, url, a.WebhookBody(), sim.Signature{Kind: sim.SigSHA1, Secret: "new-secret"})
		if err != nil || res.Status != 200 {
			t.Fatalf("webhook copy: %v %+v", err, res)
		}
	}
	if res, _ := sim.SendWebhook(ctx, url, alerts[0].WebhookBody(), sim.Signature{Kind: sim.SigSHA1, Secret: "wrong"}); res.Status != 401 {
		t.Fatalf("bad signature answered %d", res.Status)
	}
	time.Sleep(300 * time.Millisecond)
	natsIDs := map[string]int{}
	for _, m := range st.all(t) {
		natsIDs[m.ID]++
	}
	kIDs := kafkaIDs(t, cfg.Kafka.Brokers, cfg.Kafka.Topic, 50)
	for _, a := range alerts {
		id := event.AlertID(a.UUID)
		if natsIDs[id] != 1 || kIDs[id] != 1 {
			t.Fatalf("alert %s: %d on NATS, %d on Kafka (want 1 and 1)", a.UUID, natsIDs[id], kIDs[id])
		}
	}
	if len(natsIDs) != len(kIDs) {
		t.Fatalf("%d ids on NATS, %d on Kafka", len(natsIDs), len(kIDs))
	}
	// every webhook copy arrived after its WebSocket copy: counted as a duplicate, not a publish
	if got := metricValue(t, r, "rhombus_bridge_webhook_duplicates_total"); got != 10 {
		t.Fatalf("webhook duplicates %v, want 10", got)
	}
	if got := metricValue(t, r, "rhombus_bridge_webhook_events_published_total"); got != 0 {
		t.Fatalf("webhook published %v, want 0", got)
	}
}

// metricValue reads one unlabelled sample from the app's /metrics.
func metricValue(t *testing.T, r *running, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + r.info.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not exported", name)
	return 0
}
