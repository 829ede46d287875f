package feed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Options select what Follow reads.
type Options struct {
	Stream  string
	Subject string        // filter, e.g. rhombus.v1.> (empty: the whole stream)
	Since   time.Duration // replay history from this long ago; 0: new messages only
}

// Follow reads the stream with an ephemeral ordered consumer and calls fn for each message
// until ctx ends or fn returns an error.
func Follow(ctx context.Context, js jetstream.JetStream, o Options, fn func(subject string, body []byte) error) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if o.Subject != "" {
		cfg.FilterSubjects = []string{o.Subject}
	}
	if o.Since > 0 {
		start := time.Now().Add(-o.Since)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &start
	}
	cons, err := js.OrderedConsumer(ctx, o.Stream, cfg)
	if err != nil {
		return fmt.Errorf("feed: consumer on %s: %w", o.Stream, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("feed: %w", err)
		}
		if err := fn(msg.Subject(), msg.Data()); err != nil {
			it.Stop()
			return err
		}
	}
}
