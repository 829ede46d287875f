package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/watermark"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// TestScopedName: the legacy deployment keeps the names of the releases before
// BRIDGE_DEPLOYMENT (an upgrade keeps its lease and watermark); any other is scoped.
func TestScopedName(t *testing.T) {
	for _, tc := range []struct{ kind, dep, org, want string }{
		{"leader", config.LegacyDeployment, "ORG-1", "leader.ORG-1"},
		{"watermark", config.LegacyDeployment, "ORG-1", "watermark.ORG-1"},
		{LeaseGroupKind, config.LegacyDeployment, "ORG-1", "rhombus-bridge-lease.ORG-1"},
		{"leader", "", "ORG-1", "leader.ORG-1"},
		{"leader", "ctr", "ORG-1", "leader.ctr.ORG-1"},
		{"watermark", "staging", "ORG-1", "watermark.staging.ORG-1"},
		{LeaseGroupKind, "ctr_events", "ORG-1", "rhombus-bridge-lease.ctr_events.ORG-1"},
		{"watermark", "ctr", "a.b c", "watermark.ctr.a_b_c"},
	} {
		if got := ScopedName(tc.kind, tc.dep, tc.org); got != tc.want {
			t.Errorf("ScopedName(%q, %q, %q) = %q, want %q", tc.kind, tc.dep, tc.org, got, tc.want)
		}
	}
}

// TestKafkaWatermarkPerDeployment: two deployments of one org on one state topic keep
// separate watermarks; the legacy one writes the key it always wrote.
func TestKafkaWatermarkPerDeployment(t *testing.T) {
	k := kfakeCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := func(dep, instance string) *watermark.Kafka {
		w, err := watermark.NewKafka(ctx, watermark.KafkaConfig{Client: kafka.Config{Brokers: k.ListenAddrs(), DialTimeout: time.Second},
			Topic: stateTopic, Key: ScopedName("watermark", dep, "org-1"), Instance: instance, Timeout: 2 * time.Second, Logger: discard()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	prod, staging := store(config.LegacyDeployment, "p1"), store("staging", "s1")
	if prod.Key() != "watermark.org-1" || staging.Key() != "watermark.staging.org-1" {
		t.Fatalf("keys %q and %q", prod.Key(), staging.Key())
	}
	mustSave(ctx, t, prod, 1000)
	mustLoad(ctx, t, store("staging", "s2"), 0)
	mustSave(ctx, t, staging, 500)
	mustLoad(ctx, t, store(config.LegacyDeployment, "p2"), 1000)
	mustLoad(ctx, t, store("staging", "s3"), 500)
}

// TestKVWatermarkPerDeployment: the same on one JetStream KV bucket.
func TestKVWatermarkPerDeployment(t *testing.T) {
	srv := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	js := natstest.Connect(t, srv.URL())
	store := func(dep string) *watermark.KV {
		w, err := watermark.NewKV(ctx, js, ScopedName("watermark", dep, "org-1"), 1)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	prod, ctr := store(config.LegacyDeployment), store("ctr")
	if prod.Key() != "watermark.org-1" || ctr.Key() != "watermark.ctr.org-1" {
		t.Fatalf("keys %q and %q", prod.Key(), ctr.Key())
	}
	for _, step := range []struct {
		w    *watermark.KV
		save int64
	}{{prod, 1000}, {ctr, 500}, {prod, 2000}} {
		if err := step.w.Save(ctx, step.save); err != nil {
			t.Fatal(err)
		}
	}
	for w, want := range map[*watermark.KV]int64{prod: 2000, ctr: 500} {
		if got, err := w.Load(ctx); err != nil || got != want {
			t.Errorf("%s: load %d, %v; want %d", w.Key(), got, err, want)
		}
	}
}

// TestStoreSelection: Kafka-only with a lease shares the watermark through Kafka; only
// BRIDGE_LEASE=none without NATS keeps it in a local file.
func TestStoreSelection(t *testing.T) {
	k := kfakeCluster(t)
	for lease, want := range map[string]string{"kafka": "*watermark.Kafka", "none": "*watermark.File"} {
		a := &App{org: "org-1", log: discard(), cfg: config.Config{
			Bridge: config.Bridge{Sinks: []string{"kafka"}, Lease: lease, DataDir: t.TempDir(), InstanceID: "a"},
			Kafka:  config.Kafka{Brokers: k.ListenAddrs(), StateTopic: stateTopic}}}
		if err := a.openStore(context.Background()); err != nil {
			t.Fatalf("lease %s: %v", lease, err)
		}
		if got := fmt.Sprintf("%T", a.store); got != want {
			t.Fatalf("lease %s: store %s, want %s", lease, got, want)
		}
		if w, ok := a.store.(*watermark.Kafka); ok {
			w.Close()
		}
	}
}

const stateTopic = "rhombus-bridge.state"

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// kfakeCluster is a one-broker kfake cluster.
func kfakeCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	k, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

func mustSave(ctx context.Context, t *testing.T, w recovery.WatermarkStore, ms int64) {
	t.Helper()
	if err := w.Save(ctx, ms); err != nil {
		t.Fatalf("save %d: %v", ms, err)
	}
}

func mustLoad(ctx context.Context, t *testing.T, w recovery.WatermarkStore, want int64) {
	t.Helper()
	if got, err := w.Load(ctx); err != nil || got != want {
		t.Fatalf("load %d, %v; want %d", got, err, want)
	}
}
