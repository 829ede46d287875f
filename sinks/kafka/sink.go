package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = fmt.Errorf("kafka: %w", sinks.ErrClosed)

// Header names and the content type of the records.
const (
	HeaderCEID          = "ce_id"
	HeaderCEType        = "ce_type"
	HeaderContentType   = "content-type"
	HeaderLeaseRev      = "rhombus_lease_rev"
	HeaderInvalidReason = "rhombus_invalid_reason"
	ContentType         = "application/cloudevents+json"
)

// Sink writes events to one Kafka topic. It is safe for concurrent use.
type Sink struct {
	cfg        Config
	w          *kafkago.Writer
	client     *kafkago.Client
	transport  *kafkago.Transport
	wtransport *kafkago.Transport // the writer's (t itself unless SendGuard is set)
	win        *window
	hold       hold // Publish waits while ids already on the topic are read (Preload)
	topic      topicState
	sem        chan struct{}
	m          *sinks.SinkMetrics
	log        *slog.Logger

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup  // every flight: Close waits for them
	gen    *sync.WaitGroup // the flights since the last Settle
}

var _ sinks.Sink = (*Sink)(nil)

// New validates cfg, creates the topic when asked and returns the sink. It does not
// fail when the brokers are unreachable unless CreateTopic is set.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t, err := cfg.transport()
	if err != nil {
		return nil, err
	}
	addr := kafkago.TCP(cfg.Brokers...)
	wt := t // the writer's transport: its own connections when they are guarded
	if cfg.SendGuard != nil {
		if wt, err = cfg.transport(); err != nil {
			return nil, err
		}
		wt.Dial = guardedDial(cfg.DialTimeout, cfg.SendGuard)
	}
	s := &Sink{
		cfg: cfg, transport: t, wtransport: wt,
		client: &kafkago.Client{Addr: addr, Transport: t, Timeout: cfg.WriteTimeout},
		w: &kafkago.Writer{
			Addr: addr, Topic: cfg.Topic, Transport: wt,
			Balancer:     &kafkago.Murmur2Balancer{},
			RequiredAcks: kafkago.RequireAll,
			MaxAttempts:  1, // retries are ours: an ambiguous failure is read back first
			BatchTimeout: cfg.BatchTimeout, BatchSize: cfg.BatchSize, BatchBytes: cfg.BatchBytes,
			WriteTimeout: cfg.WriteTimeout, ReadTimeout: cfg.WriteTimeout,
		},
		win: newWindow(cfg.DedupMaxIDs, cfg.DedupMaxAge), gen: new(sync.WaitGroup),
		sem: make(chan struct{}, cfg.MaxInFlight),
		m:   sinks.NewMetrics(cfg.Registerer).For(cfg.Name),
		log: cfg.Logger.With("sink", cfg.Name),
	}
	if cfg.CreateTopic {
		if err := s.createTopic(ctx); err != nil {
			t.CloseIdleConnections()
			return nil, err
		}
	} else if f, ok := s.enter(); ok {
		go s.checkTopic(context.WithoutCancel(ctx), f)
	}
	return s, nil
}

func (s *Sink) createTopic(ctx context.Context) error {
	res, err := s.client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: s.cfg.Topic, NumPartitions: s.cfg.Partitions, ReplicationFactor: s.cfg.Replication}}})
	if err != nil {
		return fmt.Errorf("kafka: create topic %s: %w", s.cfg.Topic, err)
	}
	if err := res.Errors[s.cfg.Topic]; err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
		return fmt.Errorf("kafka: create topic %s: %w", s.cfg.Topic, err)
	}
	return nil
}

// Name is the sink's name ("kafka" unless configured).
func (s *Sink) Name() string { return s.cfg.Name }

// Ping asks for the topic's metadata and the end offset of every partition, so it fails
// when a partition leader is unreachable.
func (s *Sink) Ping(ctx context.Context) error {
	n, err := s.partitions(ctx)
	if err != nil {
		return err
	}
	reqs := make([]kafkago.OffsetRequest, n)
	for i := range reqs {
		reqs[i] = kafkago.LastOffsetOf(i)
	}
	res, err := s.client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{s.cfg.Topic: reqs}})
	if err != nil {
		return fmt.Errorf("kafka: ping: %w", err)
	}
	for _, po := range res.Topics[s.cfg.Topic] {
		if po.Error != nil {
			return fmt.Errorf("kafka: ping: partition %d: %w", po.Partition, po.Error)
		}
	}
	return nil
}

// partitions returns the topic's partition count.
func (s *Sink) partitions(ctx context.Context) (int, error) {
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{s.cfg.Topic}})
	if err != nil {
		return 0, fmt.Errorf("kafka: metadata: %w", err)
	}
	for _, t := range md.Topics {
		if t.Name == s.cfg.Topic {
			if t.Error != nil {
				return 0, fmt.Errorf("kafka: %w", s.topicError(fmt.Errorf("topic %s: %w", s.cfg.Topic, t.Error)))
			}
			s.found()
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("kafka: %w", s.topicError(fmt.Errorf("topic %s: %w", s.cfg.Topic, kafkago.UnknownTopicOrPartition)))
}

// Close stops accepting events, waits (bounded by ctx) for writes under way and closes
// the writer.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		s.wg.Wait()
		err := s.w.Close()
		s.transport.CloseIdleConnections()
		s.wtransport.CloseIdleConnections()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kafka: close: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: close: writes still in flight: %w", ctx.Err())
	}
}

// message builds the record for ev; t0 is its first write time, the record timestamp of
// every attempt (a read-back searches from it).
func message(ev *event.Event, t0 time.Time) kafkago.Message {
	h := make([]kafkago.Header, 0, 5)
	h = append(h, kafkago.Header{Key: HeaderCEID, Value: []byte(ev.ID)},
		kafkago.Header{Key: HeaderCEType, Value: []byte(ev.CEType())})
	if ev.Invalid {
		h = append(h, kafkago.Header{Key: HeaderContentType, Value: []byte("application/octet-stream")})
		if ev.Reason != "" {
			h = append(h, kafkago.Header{Key: HeaderInvalidReason, Value: []byte(ev.Reason)})
		}
	} else {
		h = append(h, kafkago.Header{Key: HeaderContentType, Value: []byte(ContentType)})
	}
	if ev.Fence != 0 {
		h = append(h, kafkago.Header{Key: HeaderLeaseRev, Value: []byte(strconv.FormatUint(ev.Fence, 10))})
	}
	return kafkago.Message{Key: []byte(ev.Key()), Value: ev.Body, Headers: h, Time: t0}
}
