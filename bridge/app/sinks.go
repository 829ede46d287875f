package app

import (
	"context"
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// openSinks connects every configured sink; with two, the pipeline fans events out to
// both. A broker
// that is slow or not there yet at start-up (replicas starting together, a broker still
// booting) is retried with backoff for startupRetry before the start fails.
func (a *App) openSinks(ctx context.Context) error {
	for _, name := range a.cfg.Bridge.Sinks {
		s, err := a.openSinkRetrying(ctx, name)
		if err != nil {
			return fmt.Errorf("sink %s: %w", name, err)
		}
		a.sinkList = append(a.sinkList, s)
	}
	return nil
}

// startupRetry bounds how long start-up keeps trying to open a sink.
const startupRetry = 30 * time.Second

func (a *App) openSinkRetrying(ctx context.Context, name string) (sinks.Sink, error) {
	deadline := time.Now().Add(startupRetry)
	b := backoff.Backoff{Base: 250 * time.Millisecond, Max: 5 * time.Second}
	for {
		s, err := a.openSink(ctx, name)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return s, err
		}
		d := b.Next()
		a.log.Warn("sink not ready; retrying", "sink", name, "error", err, "retry_in", d.String())
		if err := backoff.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// openSink connects one sink (and creates or updates its stream or topic).
func (a *App) openSink(ctx context.Context, name string) (sinks.Sink, error) {
	switch name {
	case "nats":
		return natsjs.New(ctx, natsjs.Config{Conn: a.nc, Stream: a.cfg.NATS.Stream,
			SubjectPrefix: a.cfg.NATS.SubjectPrefix, DuplicateWindow: a.cfg.NATS.DuplicateWindow,
			Replicas: a.cfg.NATS.Replicas, MaxInFlight: a.cfg.NATS.MaxInFlight, MaxAge: a.cfg.NATS.StreamMaxAge,
			MaxBytes: a.cfg.NATS.StreamMaxBytes, ApplyMaxAge: a.cfg.NATS.StreamAgeSet, ApplyMaxBytes: a.cfg.NATS.StreamBytesSet,
			AckTimeout: a.cfg.Bridge.PublishTimeout, Logger: a.log, Registerer: a.reg})
	case "kafka":
		k := a.cfg.Kafka
		kc := KafkaClientConfig(k)
		kc.CreateTopic, kc.Partitions, kc.Replication = k.CreateTopic, k.Partitions, k.Replication
		kc.WriteTimeout, kc.Logger, kc.Registerer = a.cfg.Bridge.PublishTimeout, a.log, a.reg
		kc.SendGuard = a.kafkaSendGuard
		ks, err := kafka.New(ctx, kc)
		if err != nil {
			return nil, err
		}
		a.guarded = append(a.guarded, ks)
		return ks, nil
	default:
		return nil, fmt.Errorf("unknown sink %q", name)
	}
}

// KafkaClientConfig is how every Kafka client of the bridge (the sink, the lease, the
// watermark store, tail --kafka) connects: brokers, topic, TLS and SASL from k.
func KafkaClientConfig(k config.Kafka) kafka.Config {
	return kafka.Config{Brokers: k.Brokers, Topic: k.Topic, TLS: k.TLS, CAFile: k.CAFile,
		SASLMechanism: k.SASLMechanism, Username: k.Username, Password: k.Password}
}

// publishers lists the sinks for pipeline.New, so that with two brokers each is
// delivered to on its own and one's outage does not stop the other.
func publishers(list []sinks.Sink) []sinks.Publisher {
	out := make([]sinks.Publisher, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
