package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Publish writes ev and returns nil once every in-sync replica acknowledged it, or when
// this process already wrote ev.ID within the window. It makes one write attempt; an
// earlier attempt that may have stored the record is read back first. A failure wraps
// sinks.ErrRejected when the broker will never take the record, ErrClosed after Close,
// and is transient otherwise (the caller retries with the same event).
func (s *Sink) Publish(ctx context.Context, ev event.Event) (err error) {
	f, ok := s.enter()
	if !ok {
		return ErrClosed
	}
	defer f.done()
	end := s.m.Begin()
	defer func() { end(err) }()
	if err := s.hold.wait(ctx); err != nil {
		return fmt.Errorf("kafka: publish %s: %w", ev.ID, err)
	}
	e, a, err := s.claim(ctx, ev.ID)
	if err != nil || a == nil {
		return err
	}
	if err := s.start(ctx, f, e, a, ev); err != nil {
		return fmt.Errorf("kafka: publish %s: %w", ev.ID, err)
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		if e.prev != nil { // keep the cause of the earlier failure: the deadline alone says nothing
			return fmt.Errorf("kafka: publish %s: %w (write continues in the background; last attempt: %w)", ev.ID, ctx.Err(), e.prev)
		}
		return fmt.Errorf("kafka: publish %s: %w (write continues in the background)", ev.ID, ctx.Err())
	}
	if a.err == nil {
		return nil
	}
	err = s.topicError(a.err)
	if rejected(err) {
		return fmt.Errorf("kafka: publish %s: %w: %w", ev.ID, sinks.ErrRejected, err)
	}
	return fmt.Errorf("kafka: publish %s: %w", ev.ID, err)
}

// claim takes id over for one attempt (a != nil), or reports it stored (a == nil). While
// another attempt of the same id is under way it waits for that one's outcome.
func (s *Sink) claim(ctx context.Context, id string) (*entry, *attempt, error) {
	for {
		acked, wait, e, a := s.win.claim(id, time.Now())
		switch {
		case acked:
			s.m.Duplicates.Inc()
			return nil, nil, nil
		case wait == nil:
			return e, a, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("kafka: publish %s: waiting for an earlier write of it: %w", id, ctx.Err())
		}
	}
}

// start runs one attempt for e in the background once a slot is free, unless ctx ended
// first: a caller whose deadline passed (a process frozen between the pipeline's fence
// check and here) must not write. The attempt is bounded by its own timeout, not by ctx:
// a write abandoned half way would make the outcome unknowable.
func (s *Sink) start(ctx context.Context, f flight, e *entry, a *attempt, ev event.Event) error {
	if err := ctx.Err(); err != nil { // first: select would pick a free slot half the time
		s.win.finish(e, a, outNotStored, err, time.Now())
		return err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.win.finish(e, a, outNotStored, ctx.Err(), time.Now())
		return ctx.Err()
	}
	go func(f flight) {
		defer f.done()
		defer func() { <-s.sem }()
		out, err := s.attempt(e, &ev)
		s.win.finish(e, a, out, err, time.Now())
	}(f.also())
	return nil
}

// attempt reads back first when an earlier attempt was ambiguous, then writes.
func (s *Sink) attempt(e *entry, ev *event.Event) (outcome, error) {
	if e.verify {
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.WriteTimeout)
		found, err := s.stored(ctx, ev, e.t0)
		cancel()
		switch {
		case errors.Is(err, errVerifyLimit):
			s.log.Warn("kafka read-back gave up; writing again (a duplicate is possible)", "id", ev.ID, "error", err)
		case err != nil:
			return outAmbiguous, fmt.Errorf("read back: %w", err)
		case found:
			s.m.Duplicates.Inc()
			return outAcked, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.cfg.WriteTimeout+s.cfg.BatchTimeout)
	defer cancel()
	err := s.w.WriteMessages(ctx, message(ev, e.t0))
	var we kafkago.WriteErrors
	if errors.As(err, &we) && len(we) == 1 {
		err = we[0]
	}
	switch {
	case err == nil:
		return outAcked, nil
	case notStored(err):
		return outNotStored, err
	default:
		return outAmbiguous, err
	}
}

// notStored reports broker answers that mean the record was rejected before it was
// appended.
func notStored(err error) bool {
	var tooLarge kafkago.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return true
	}
	for _, e := range []kafkago.Error{kafkago.NotLeaderForPartition, kafkago.UnknownTopicOrPartition,
		kafkago.LeaderNotAvailable, kafkago.MessageSizeTooLarge, kafkago.RecordListTooLarge,
		kafkago.NotEnoughReplicas, kafkago.InvalidRequiredAcks, kafkago.TopicAuthorizationFailed,
		kafkago.ClusterAuthorizationFailed, kafkago.InvalidTimestamp, kafkago.InvalidRecord,
		kafkago.SASLAuthenticationFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// rejected reports errors that say the broker will never take this record as it is.
func rejected(err error) bool {
	var tooLarge kafkago.MessageTooLargeError
	return errors.As(err, &tooLarge) || errors.Is(err, kafkago.MessageSizeTooLarge) ||
		errors.Is(err, kafkago.RecordListTooLarge) || errors.Is(err, kafkago.InvalidRecord)
}
