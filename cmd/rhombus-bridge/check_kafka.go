package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
)

// kafkaCheckTimeout bounds how long `check` tries to reach the Kafka brokers.
const kafkaCheckTimeout = 3 * time.Second

// checkKafkaLease warns, with BRIDGE_LEASE=kafka, when BRIDGE_LEASE_TTL is outside the
// group session timeouts the brokers allow (it could never lead), and when the brokers
// cannot be asked within kafkaCheckTimeout. It never fails the check.
func checkKafkaLease(ctx context.Context, cfg config.Config, w io.Writer) {
	if cfg.Bridge.Lease != "kafka" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, kafkaCheckTimeout)
	defer cancel()
	lim, err := kafkaSessionLimits(ctx, cfg)
	switch {
	case err != nil:
		fmt.Fprintf(w, "WARNING: could not read group.min.session.timeout.ms from KAFKA_BROKERS (%v); "+
			"BRIDGE_LEASE_TTL=%v must not be below it (Kafka's default is 6000 ms)\n", err, cfg.Bridge.LeaseTTL)
	case lim.Check(cfg.Bridge.LeaseTTL) != nil:
		fmt.Fprintf(w, "WARNING: the Kafka lease cannot be acquired: %v\n", lim.Check(cfg.Bridge.LeaseTTL))
	default:
		fmt.Fprintf(w, "Kafka brokers allow lease TTLs from %v to %v: BRIDGE_LEASE_TTL=%v OK\n",
			lim.Min, lim.Max, cfg.Bridge.LeaseTTL)
	}
}

func kafkaSessionLimits(ctx context.Context, cfg config.Config) (lease.SessionLimits, error) {
	kc := app.KafkaClientConfig(cfg.Kafka)
	tc, mech, err := kc.Security()
	if err != nil {
		return lease.SessionLimits{}, err
	}
	b, err := lease.NewKafka(lease.KafkaConfig{Brokers: cfg.Kafka.Brokers, GroupID: "rhombus-bridge-check",
		Topic: cfg.Kafka.LeaseTopic, TLS: tc, SASL: mech})
	if err != nil {
		return lease.SessionLimits{}, err
	}
	defer func() { _ = b.Close(context.WithoutCancel(ctx)) }()
	return b.SessionLimits(ctx)
}
