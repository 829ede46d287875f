package app

import (
	"context"
	"fmt"

	"github.com/rhombus-bridge/rhombus-bridge/sinks"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/natsjs"
)

// openSinks connects every configured sink; with two, events fan out to both.
func (a *App) openSinks(ctx context.Context) error {
	for _, name := range a.cfg.Bridge.Sinks {
		var (
			s   sinks.Sink
			err error
		)
		switch name {
		case "nats":
			s, err = natsjs.New(ctx, natsjs.Config{Conn: a.nc, Stream: a.cfg.NATS.Stream,
				SubjectPrefix: a.cfg.NATS.SubjectPrefix, DuplicateWindow: a.cfg.NATS.DuplicateWindow,
				Replicas: a.cfg.NATS.Replicas, MaxInFlight: a.cfg.NATS.MaxInFlight,
				AckTimeout: a.cfg.Bridge.PublishTimeout, Logger: a.log, Registerer: a.reg})
		case "kafka":
			k := a.cfg.Kafka
			s, err = kafka.New(ctx, kafka.Config{Brokers: k.Brokers, Topic: k.Topic, TLS: k.TLS, CAFile: k.CAFile,
				SASLMechanism: k.SASLMechanism, Username: k.Username, Password: k.Password,
				CreateTopic: k.CreateTopic, Partitions: k.Partitions, Replication: k.Replication,
				WriteTimeout: a.cfg.Bridge.PublishTimeout, Logger: a.log, Registerer: a.reg})
		default:
			err = fmt.Errorf("unknown sink %q", name)
		}
		if err != nil {
			return fmt.Errorf("sink %s: %w", name, err)
		}
		a.sinkList = append(a.sinkList, s)
	}
	a.sink = a.sinkList[0]
	if len(a.sinkList) > 1 {
		a.sink = sinks.Fanout(a.sinkList...)
	}
	return nil
}

// publishers lists the sinks as the pipeline's Members, so that with two brokers each is
// delivered to on its own and one's outage does not stop the other.
func publishers(list []sinks.Sink) []sinks.Publisher {
	out := make([]sinks.Publisher, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out
}
