package lease

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// KafkaConfig is where the Kafka lease lives.
type KafkaConfig struct {
	Brokers []string // bootstrap addresses
	GroupID string   // coordination group, e.g. "rhombus-bridge-lease"
	Topic   string   // coordination topic: the owner of its partition 0 leads
	TLS     *tls.Config
	// SASL, when set, authenticates every connection: kafka-go's transport for the group
	// requests, and authenticate for the heartbeat connection to the coordinator.
	SASL sasl.Mechanism
	Dial func(ctx context.Context, network, address string) (net.Conn, error) // nil: net.Dialer
	// Heartbeat is how often every member heart-beats, which bounds how late a member
	// notices a rebalance (a released or expired lease). Zero: min(TTL/3, 250ms).
	Heartbeat time.Duration
	// Partitions is the partition count the topic is created with when missing (0: 1).
	Partitions int
}

// Kafka is the consumer-group lease backend.
type Kafka struct {
	cfg      KafkaConfig
	tr       *kafka.Transport
	cl       *kafka.Client
	instance string
	ttl      time.Duration

	member  string
	gen     int32
	termGen int32 // generation in which the current term began; 0 while standing by
	hb      net.Conn
	corr    int32

	mu     sync.Mutex
	holder string
}

const (
	groupProtocolType = "consumer"
	groupProtocolName = "rhombus-lease"
	kafkaClientID     = "rhombus-bridge-lease"
)

// NewKafka validates cfg and returns the consumer-group backend.
func NewKafka(cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 || cfg.GroupID == "" || cfg.Topic == "" {
		return nil, errors.New("lease: kafka: brokers, group id and topic are required")
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	tr := &kafka.Transport{Dial: cfg.Dial, TLS: cfg.TLS, SASL: cfg.SASL, ClientID: kafkaClientID}
	return &Kafka{cfg: cfg, tr: tr, cl: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr}}, nil
}

func (k *Kafka) renewInterval(ttl time.Duration) time.Duration {
	if k.cfg.Heartbeat > 0 {
		return k.cfg.Heartbeat
	}
	return min(ttl/3, 250*time.Millisecond)
}

// Prepare records the ttl (session and rebalance timeout) and creates the coordination
// topic if it is missing (best effort: the group protocol does not need it to exist).
func (k *Kafka) Prepare(ctx context.Context, instance string, ttl time.Duration) error {
	k.instance, k.ttl = instance, ttl
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = k.cl.CreateTopics(cctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: k.cfg.Topic, NumPartitions: max(k.cfg.Partitions, 1), ReplicationFactor: -1}}})
	return ctx.Err()
}

// Acquire joins the group and heart-beats as a standby until a generation assigns this
// member partition 0.
func (k *Kafka) Acquire(ctx context.Context) (Term, error) {
	k.termGen = 0
	for {
		since := time.Now()
		held, err := k.join(ctx, 0)
		if err != nil {
			return Term{}, err
		}
		if held {
			k.termGen = k.gen
			return Term{Token: uint64(k.gen), Since: since}, nil
		}
		if err := k.standby(ctx); err != nil {
			return Term{}, err
		}
	}
}

// standby heart-beats until the group rebalances (nil) or something fails.
func (k *Kafka) standby(ctx context.Context) error {
	t := time.NewTicker(k.renewInterval(k.ttl))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		hctx, cancel := context.WithTimeout(ctx, k.ttl/3)
		err := k.heartbeat(hctx)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, kafka.UnknownMemberId):
			k.member = ""
			return nil
		case errors.Is(err, kafka.RebalanceInProgress), errors.Is(err, kafka.IllegalGeneration):
			return nil
		default:
			return err
		}
	}
}

// Renew heart-beats. When the group rebalances (a member joined or left) it rejoins
// claiming the lease; the sticky assignment gives partition 0 back, and the term goes on.
func (k *Kafka) Renew(ctx context.Context) error {
	err := k.heartbeat(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kafka.RebalanceInProgress):
		held, err := k.join(ctx, k.termGen)
		if err != nil {
			return err
		}
		if !held {
			return fmt.Errorf("%w: generation %d assigned the lease elsewhere", ErrLost, k.gen)
		}
		return nil
	case errors.Is(err, kafka.UnknownMemberId), errors.Is(err, kafka.IllegalGeneration),
		errors.Is(err, kafka.FencedInstanceID):
		return fmt.Errorf("%w: %w", ErrLost, err)
	}
	return err
}

// Release leaves the group, so the others rebalance at once.
func (k *Kafka) Release(ctx context.Context) error {
	k.termGen = 0
	return k.leave(ctx)
}

// Close leaves the group and closes connections.
func (k *Kafka) Close(ctx context.Context) error {
	err := k.leave(ctx)
	k.tr.CloseIdleConnections()
	return err
}

func (k *Kafka) leave(ctx context.Context) error {
	k.dropConn()
	if k.member == "" {
		return nil
	}
	member := k.member
	k.member = ""
	res, err := k.cl.LeaveGroup(ctx, &kafka.LeaveGroupRequest{GroupID: k.cfg.GroupID,
		Members: []kafka.LeaveGroupRequestMember{{ID: member}}})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	return nil
}

// Holder is the instance the last assignment named.
func (k *Kafka) Holder() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.holder
}

func (k *Kafka) setHolder(h string) {
	k.mu.Lock()
	k.holder = h
	k.mu.Unlock()
}
