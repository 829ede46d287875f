package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// A sink that cannot be opened at start-up (here: another stream already captures the
// subjects, until an operator removes it) is retried with backoff; the bridge starts once
// it can, instead of exiting at the first failure.
func TestStartupRetriesTheSink(t *testing.T) {
	ns := natstest.Start(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SQUATTER", Subjects: []string{"rhombus.v1.>"}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		_ = js.DeleteStream(context.Background(), "SQUATTER")
	}()
	s := startSim(t, sim.Config{OrgUUID: "ORG-START"})
	start := time.Now()
	startApp(t, testConfig(t, s, ns.URL())) // fails the test if Run returns first
	if took := time.Since(start); took < time.Second {
		t.Fatalf("ready after %s, before the conflicting stream was gone", took)
	}
	if _, err := js.Stream(ctx, "RHOMBUS"); err != nil {
		t.Fatalf("the bridge's stream: %v", err)
	}
}
