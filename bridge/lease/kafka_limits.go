package lease

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// Broker settings that bound a consumer group's session timeout, which is the Kafka
// lease's TTL. Kafka's default minimum is 6000 ms, so with the Kafka lease a crashed
// leader is replaced no sooner than 6 s unless the brokers allow less.
const (
	minSessionConfig = "group.min.session.timeout.ms"
	maxSessionConfig = "group.max.session.timeout.ms"
)

// SessionLimits are the group session timeouts the Kafka brokers allow (0: unknown).
type SessionLimits struct {
	Min, Max time.Duration
}

// Check returns nil when ttl is within the limits, else an error that names
// BRIDGE_LEASE_TTL, the broker setting and the fix.
func (s SessionLimits) Check(ttl time.Duration) error {
	switch {
	case s.Min > 0 && ttl < s.Min:
		return fmt.Errorf("BRIDGE_LEASE_TTL=%v is below the Kafka brokers' %s (%d ms): set BRIDGE_LEASE_TTL to at "+
			"least %v, or lower %s on the brokers (Kafka's default is 6000)", ttl, minSessionConfig,
			s.Min.Milliseconds(), s.Min, minSessionConfig)
	case s.Max > 0 && ttl > s.Max:
		return fmt.Errorf("BRIDGE_LEASE_TTL=%v is above the Kafka brokers' %s (%d ms): set BRIDGE_LEASE_TTL to at "+
			"most %v, or raise %s on the brokers", ttl, maxSessionConfig, s.Max.Milliseconds(), s.Max, maxSessionConfig)
	}
	return nil
}

// SessionLimits reads group.min.session.timeout.ms and group.max.session.timeout.ms from
// the coordinator of the lease group (DescribeConfigs on that broker).
func (k *Kafka) SessionLimits(ctx context.Context) (SessionLimits, error) {
	fc, err := k.cl.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: k.cfg.GroupID,
		KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err == nil {
		err = fc.Error
	}
	if err != nil {
		return SessionLimits{}, fmt.Errorf("find coordinator: %w", err)
	}
	res, err := k.cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeBroker, ResourceName: strconv.Itoa(fc.Coordinator.NodeID),
		ConfigNames: []string{minSessionConfig, maxSessionConfig}}}})
	if err != nil {
		return SessionLimits{}, fmt.Errorf("describe broker configs: %w", err)
	}
	var lim SessionLimits
	for _, r := range res.Resources {
		if r.Error != nil {
			return SessionLimits{}, fmt.Errorf("describe broker configs: %w", r.Error)
		}
		for _, e := range r.ConfigEntries {
			ms, perr := strconv.ParseInt(e.ConfigValue, 10, 64)
			switch {
			case perr != nil:
			case e.ConfigName == minSessionConfig:
				lim.Min = time.Duration(ms) * time.Millisecond
			case e.ConfigName == maxSessionConfig:
				lim.Max = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if lim.Min == 0 {
		return lim, fmt.Errorf("the broker did not report %s", minSessionConfig)
	}
	return lim, nil
}

// refusedTTL explains a JoinGroup answered INVALID_SESSION_TIMEOUT: the TTL is outside
// the brokers' limits, which it reads where the brokers expose them.
func (k *Kafka) refusedTTL(ctx context.Context) error {
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lim, err := k.SessionLimits(lctx)
	if err != nil {
		return fmt.Errorf("%w: join group: %w: BRIDGE_LEASE_TTL=%v is outside the group session timeouts the Kafka "+
			"brokers allow (%s, 6000 ms by default; reading it failed: %v): raise BRIDGE_LEASE_TTL or lower %s on the brokers",
			ErrRefused, kafka.InvalidSessionTimeout, k.ttl, minSessionConfig, err, minSessionConfig)
	}
	if cerr := lim.Check(k.ttl); cerr != nil {
		return fmt.Errorf("%w: join group: %w: %w", ErrRefused, kafka.InvalidSessionTimeout, cerr)
	}
	return fmt.Errorf("%w: join group: %w: the brokers refused BRIDGE_LEASE_TTL=%v as a session timeout although "+
		"the coordinator reports %s=%d and %s=%d", ErrRefused, kafka.InvalidSessionTimeout, k.ttl,
		minSessionConfig, lim.Min.Milliseconds(), maxSessionConfig, lim.Max.Milliseconds())
}
