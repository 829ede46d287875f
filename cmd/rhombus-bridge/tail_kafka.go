package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// tailKafka reads every partition of KAFKA_TOPIC (no consumer group: tail commits
// nothing) from --since ago, or from the end.
func tailKafka(ctx context.Context, cfg config.Config, o tailOptions, fn func(string, []byte) error) error {
	if len(cfg.Kafka.Brokers) == 0 {
		return errors.New("tail --kafka: KAFKA_BROKERS is not set")
	}
	d, err := kafkaDialer(cfg.Kafka)
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	conn, err := d.DialContext(ctx, "tcp", cfg.Kafka.Brokers[0])
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	parts, err := conn.ReadPartitions(cfg.Kafka.Topic)
	_ = conn.Close()
	if err != nil {
		return fmt.Errorf("tail: partitions of %s: %w", cfg.Kafka.Topic, err)
	}
	var mu sync.Mutex // one line at a time
	var wg sync.WaitGroup
	errc := make(chan error, len(parts))
	for _, p := range parts {
		wg.Go(func() {
			errc <- tailPartition(ctx, cfg, d, o, p.ID, func(topic string, b []byte) error {
				mu.Lock()
				defer mu.Unlock()
				return fn(topic, b)
			})
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// kafkaDialer dials with the sink's TLS and SASL settings (KAFKA_TLS, KAFKA_SASL_MECHANISM...).
func kafkaDialer(k config.Kafka) (*kafkago.Dialer, error) {
	kc := app.KafkaClientConfig(k)
	return kc.Dialer()
}

func tailPartition(ctx context.Context, cfg config.Config, d *kafkago.Dialer, o tailOptions, p int,
	fn func(string, []byte) error) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: cfg.Kafka.Brokers, Topic: cfg.Kafka.Topic, Partition: p,
		Dialer: d, MaxWait: 500 * time.Millisecond})
	defer r.Close()
	var err error
	if o.since > 0 {
		err = r.SetOffsetAt(ctx, time.Now().Add(-o.since))
	} else {
		err = r.SetOffset(kafkago.LastOffset)
	}
	if err != nil {
		return fmt.Errorf("tail: partition %d: %w", p, err)
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tail: partition %d: %w", p, err)
		}
		if err := fn(fmt.Sprintf("%s[%d]@%d", m.Topic, m.Partition, m.Offset), m.Value); err != nil {
			return err
		}
	}
}
