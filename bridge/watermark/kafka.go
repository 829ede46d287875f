package watermark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// Kafka keeps the watermark in a compacted, single-partition Kafka topic (under
// KafkaConfig.Key, the last value wins), where every replica
// reads it: the shared store of Kafka-only deployments, as JetStream KV is with NATS.
type Kafka struct {
	topic    string
	key      string
	instance string
	tr       *kafkago.Transport
	cl       *kafkago.Client
	log      *slog.Logger
}

// stateRecord is the value of a watermark record.
type stateRecord struct {
	Ms       int64  `json:"ms"`
	Instance string `json:"instance"`
}

// KafkaConfig shapes a Kafka.
type KafkaConfig struct {
	Client   kafka.Config // brokers, TLS and SASL, as for the sink; Topic is set from Topic
	Topic    string
	Key      string // the record key: the watermark's name, scoped by deployment and org
	Instance string
	Timeout  time.Duration // one request; zero: 10s
	Logger   *slog.Logger
}

// stateTopicConfig is the state topic's configuration when the bridge creates it: compacted,
// with hourly segments so that compaction (which skips the active segment) keeps the log,
// and so the read at leadership start, short.
var stateTopicConfig = []kafkago.ConfigEntry{
	{ConfigName: "cleanup.policy", ConfigValue: "compact"},
	{ConfigName: "segment.ms", ConfigValue: "3600000"},
}

// NewKafka builds the store and creates its topic if it is missing. An unreachable
// cluster is not fatal here (the topic is created later, at the first load).
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	kc := cfg.Client
	kc.Topic = cfg.Topic
	tr, err := kc.Transport()
	if err != nil {
		return nil, fmt.Errorf("watermark: state topic %s: %w", cfg.Topic, err)
	}
	w := &Kafka{topic: cfg.Topic, key: cfg.Key,
		instance: cfg.Instance, tr: tr, cl: &kafkago.Client{Addr: kafkago.TCP(kc.Brokers...), Transport: tr, Timeout: cfg.Timeout},
		log: cfg.Logger.With("topic", cfg.Topic)}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := w.createTopic(cctx); err != nil {
		w.log.Warn("state topic not created; will retry at the first watermark load", "error", err)
	}
	return w, nil
}

// createTopic creates the single-partition compacted topic; created is false when it
// already existed.
func (w *Kafka) createTopic(ctx context.Context) (created bool, err error) {
	res, err := w.cl.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: w.topic, NumPartitions: 1, ReplicationFactor: -1, ConfigEntries: stateTopicConfig}}})
	if err == nil {
		err = res.Errors[w.topic]
	}
	switch {
	case errors.Is(err, kafkago.TopicAlreadyExists):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("create state topic %s: %w", w.topic, err)
	}
	w.log.Info("state topic created", "cleanup_policy", "compact")
	return true, nil
}

// Save appends the watermark to partition 0, acknowledged by every in-sync replica,
// and returns once the broker has it (or with the reason it does not).
func (w *Kafka) Save(ctx context.Context, ms int64) error {
	v, err := json.Marshal(stateRecord{Ms: ms, Instance: w.instance})
	if err != nil {
		return fmt.Errorf("watermark: %w", err)
	}
	res, err := w.cl.Produce(ctx, &kafkago.ProduceRequest{Topic: w.topic, Partition: 0,
		RequiredAcks: kafkago.RequireAll, Records: kafkago.NewRecordReader(kafkago.Record{
			Key: kafkago.NewBytes([]byte(w.key)), Value: kafkago.NewBytes(v)})})
	if err == nil {
		err = res.Error
		for _, e := range res.RecordErrors {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		return fmt.Errorf("watermark: save %d to state topic %s: %w", ms, w.topic, err)
	}
	return nil
}

// Key is the store's record key.
func (w *Kafka) Key() string { return w.key }

// Close releases the store's connections.
func (w *Kafka) Close() { w.tr.CloseIdleConnections() }
