package app

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
)

// LeaseBucket is the JetStream KV bucket of the NATS lease; the key is per org.
const LeaseBucket = "rhombus_bridge_lease"

// newLease builds the configured lease: NATS KV, or a Kafka consumer group.
func (a *App) newLease(context.Context) (*lease.Lease, error) {
	var (
		b   lease.Backend
		err error
	)
	switch a.cfg.Bridge.Lease {
	case "nats":
		js, jerr := jetstream.New(a.nc)
		if jerr != nil {
			return nil, jerr
		}
		b, err = lease.NewNATS(js, lease.NATSConfig{Bucket: LeaseBucket, Key: "leader." + event.Token(a.org),
			Replicas: a.cfg.NATS.Replicas})
	case "kafka":
		b, err = a.kafkaLease()
	default:
		return nil, fmt.Errorf("unknown lease %q", a.cfg.Bridge.Lease)
	}
	if err != nil {
		return nil, err
	}
	return lease.New(lease.Config{InstanceID: a.cfg.Bridge.InstanceID, TTL: a.cfg.Bridge.LeaseTTL, Logger: a.opt.Logger, // (the lease adds the instance itself)
		Registerer: a.reg}, b)
}

func (a *App) kafkaLease() (lease.Backend, error) {
	k := a.cfg.Kafka
	kc := KafkaClientConfig(k)
	tc, mech, err := kc.Security()
	if err != nil {
		return nil, err
	}
	return lease.NewKafka(lease.KafkaConfig{Brokers: k.Brokers, GroupID: "rhombus-bridge-lease." + event.Token(a.org),
		Topic: k.LeaseTopic, TLS: tc, SASL: mech})
}
