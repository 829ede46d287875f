package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"
)

// MissingTopicError reports that the topic does not exist and the sink was not asked to
// create it; it names the settings that fix it. It unwraps to UnknownTopicOrPartition.
type MissingTopicError struct{ Topic string }

func (e *MissingTopicError) Error() string {
	return fmt.Sprintf("topic %q does not exist: create it or set KAFKA_CREATE_TOPIC=true (KAFKA_TOPIC)", e.Topic)
}

func (e *MissingTopicError) Unwrap() error { return kafkago.UnknownTopicOrPartition }

// topicState logs a missing topic once per episode (until the topic is seen again).
type topicState struct{ missingLogged atomic.Bool }

// missing returns the MissingTopicError and logs it as an ERROR, once until the topic
// is seen again.
func (s *Sink) missing() error {
	err := &MissingTopicError{Topic: s.cfg.Topic}
	if s.topic.missingLogged.CompareAndSwap(false, true) {
		s.log.Error("kafka: nothing can be published", "error", err.Error(), "topic", s.cfg.Topic)
	}
	return err
}

// found records that the topic exists (a later disappearance is logged again).
func (s *Sink) found() { s.topic.missingLogged.Store(false) }

// topicError turns a broker's "unknown topic" into the MissingTopicError.
func (s *Sink) topicError(err error) error {
	if err != nil && errors.Is(err, kafkago.UnknownTopicOrPartition) && !s.cfg.CreateTopic {
		return s.missing()
	}
	return err
}

// checkTopic asks, bounded by DialTimeout, whether the topic exists, so that a missing
// one is reported at start rather than at the first publish; other failures are left
// to Ping and Publish. New runs it in the background (Close waits for it).
func (s *Sink) checkTopic(ctx context.Context, f flight) {
	defer f.done()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	defer cancel()
	_, _ = s.partitions(ctx)
}
