package app

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
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
	k, _ := stateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := func(dep, instance string) *kafkaWatermark {
		w, err := newKafkaWatermark(ctx, kafkaStateConfig{Client: kafka.Config{Brokers: k.ListenAddrs(), DialTimeout: time.Second},
			Topic: stateTopic, Deployment: dep, Org: "org-1", Instance: instance, Timeout: 2 * time.Second, Logger: discard()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		return w
	}
	prod, staging := store(config.LegacyDeployment, "p1"), store("staging", "s1")
	if prod.key != "watermark.org-1" || staging.key != "watermark.staging.org-1" {
		t.Fatalf("keys %q and %q", prod.key, staging.key)
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
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	store := func(dep string) *kvWatermark {
		w, err := newKVWatermark(ctx, js, dep, "org-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	prod, ctr := store(config.LegacyDeployment), store("ctr")
	if prod.key != "watermark.org-1" || ctr.key != "watermark.ctr.org-1" {
		t.Fatalf("keys %q and %q", prod.key, ctr.key)
	}
	for _, step := range []struct {
		w    *kvWatermark
		save int64
	}{{prod, 1000}, {ctr, 500}, {prod, 2000}} {
		if err := step.w.Save(ctx, step.save); err != nil {
			t.Fatal(err)
		}
	}
	for w, want := range map[*kvWatermark]int64{prod: 2000, ctr: 500} {
		if got, err := w.Load(ctx); err != nil || got != want {
			t.Errorf("%s: load %d, %v; want %d", w.key, got, err, want)
		}
	}
}
