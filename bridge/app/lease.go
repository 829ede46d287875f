package app

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
)

// LeaseBucket is the JetStream KV bucket of the NATS lease; the key is per deployment and org
// (see ScopedName).
const LeaseBucket = "rhombus_bridge_lease"

// LeaseGroupKind is the first token of the Kafka lease's consumer group name.
const LeaseGroupKind = "rhombus-bridge-lease"

// ShardGroupKind is the first token of the Kafka shard's consumer group name (partner mode).
const ShardGroupKind = "rhombus-bridge-shard"

// ShardGroup is the Kafka shard's consumer group of deployment: "rhombus-bridge-shard" for
// config.LegacyDeployment, "rhombus-bridge-shard.{deployment}" for any other.
func ShardGroup(deployment string) string {
	if deployment == "" || deployment == config.LegacyDeployment {
		return ShardGroupKind
	}
	return ShardGroupKind + "." + deployment
}

// ScopedName names one piece of state that the replicas of a deployment share, for one org:
// "{kind}.{org}" for config.LegacyDeployment (the names used before deployments existed, so
// an upgrade keeps its lease and watermark), "{kind}.{deployment}.{org}" for any other. Two
// deployments side by side on one broker never share a name: a deployment name holds no dot,
// so a scoped name has three tokens and a legacy one two. Keeping kind first lets a prefix
// ACL (for example on Kafka groups "rhombus-bridge-lease.") cover every deployment.
func ScopedName(kind, deployment, org string) string {
	if deployment == "" || deployment == config.LegacyDeployment {
		return kind + "." + event.Token(org)
	}
	return kind + "." + deployment + "." + event.Token(org)
}

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
		b, err = lease.NewNATS(js, lease.NATSConfig{Bucket: LeaseBucket,
			Key: ScopedName("leader", a.cfg.Bridge.Deployment, a.org), Replicas: a.cfg.NATS.Replicas})
	case "kafka":
		if a.kshard != nil {
			b = a.kshard.Org(a.org) // partner mode: held through the shard group
			break
		}
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
	kc, err := a.kafkaGroup(ScopedName(LeaseGroupKind, a.cfg.Bridge.Deployment, a.org), a.cfg.Kafka.LeaseTopic)
	if err != nil {
		return nil, err
	}
	return lease.NewKafka(kc)
}

// kafkaShard builds the shard group of partner mode with the Kafka lease.
func (a *App) kafkaShard() (*lease.KafkaShard, error) {
	kc, err := a.kafkaGroup(ShardGroup(a.cfg.Bridge.Deployment), a.cfg.Kafka.ShardTopic)
	if err != nil {
		return nil, err
	}
	return lease.NewKafkaShard(lease.KafkaShardConfig{Kafka: kc, Instance: a.cfg.Bridge.InstanceID,
		TTL: a.cfg.Bridge.LeaseTTL, Slots: a.cfg.Kafka.ShardSlots, Logger: a.log})
}

// kafkaGroup is where a coordination group of the bridge lives, with the sink's security.
func (a *App) kafkaGroup(group, topic string) (lease.KafkaConfig, error) {
	kc := KafkaClientConfig(a.cfg.Kafka)
	tc, mech, err := kc.Security()
	if err != nil {
		return lease.KafkaConfig{}, err
	}
	return lease.KafkaConfig{Brokers: a.cfg.Kafka.Brokers, GroupID: group, Topic: topic, TLS: tc, SASL: mech}, nil
}
