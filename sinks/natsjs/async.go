package natsjs

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// The attempts in flight: PublishAsync starts one, the jetstream context's ack and error
// handlers (or Close's sweep) finish it, exactly once, through the waiter kept under the
// message it sent.

// waiter is one attempt awaiting JetStream's answer.
type waiter struct {
	id    string
	done  sinks.Completion
	start time.Time
}

// start sends the message for ev; every attempt sends a fresh *nats.Msg, so a late
// answer to an earlier attempt cannot be taken for this one's. Once it returned nil, the
// answer (or Close) finishes the attempt.
func (s *Sink) start(ev *event.Event, done sinks.Completion) error {
	if !s.nc.IsConnected() {
		return fmt.Errorf("natsjs: publish %s: %w (%s)", ev.ID, nats.ErrDisconnected, s.nc.Status())
	}
	msg := s.message(ev)
	s.wmu.Lock()
	select {
	case <-s.abort: // Close gave up waiting and swept the waiters: do not add one after it
		s.wmu.Unlock()
		return ErrClosed
	default:
	}
	s.waiting[msg] = &waiter{id: ev.ID, done: done, start: time.Now()}
	s.wmu.Unlock()
	s.m.InFlight.Inc()
	if _, err := s.js.PublishMsgAsync(msg); err != nil {
		if s.take(msg) == nil {
			return nil // answered already (finish ran)
		}
		s.m.InFlight.Dec()
		return classify(ev.ID, nil, err)
	}
	return nil
}

// take removes and returns the waiter of msg (nil: already finished).
func (s *Sink) take(msg *nats.Msg) *waiter {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	w := s.waiting[msg]
	delete(s.waiting, msg)
	return w
}

// report finishes the attempt that sent m with JetStream's answer.
func (s *Sink) report(m *nats.Msg, ack *jetstream.PubAck, err error) {
	if w := s.take(m); w != nil {
		s.finish(w, classify(w.id, ack, err))
		if ack != nil && ack.Duplicate {
			s.m.Duplicates.Inc()
		}
	}
}

// finish ends one attempt: metrics, its slot, and the caller's completion.
func (s *Sink) finish(w *waiter, err error) {
	s.m.End(w.start, err)
	<-s.sem
	s.wg.Done()
	w.done.Done(err)
}

// failWaiting finishes every attempt still awaiting an answer with ErrClosed (Close gave
// up waiting).
func (s *Sink) failWaiting() {
	s.wmu.Lock()
	ws := make([]*waiter, 0, len(s.waiting))
	for m, w := range s.waiting {
		ws = append(ws, w)
		delete(s.waiting, m)
	}
	s.wmu.Unlock()
	for _, w := range ws {
		s.finish(w, ErrClosed)
	}
}

// classify wraps JetStream's answer for the message of id: nil for a PubAck, ErrRejected
// when the server will never take it as it is, else a transient error.
func classify(id string, ack *jetstream.PubAck, err error) error {
	switch {
	case err == nil && ack != nil:
		return nil
	case err == nil:
		return fmt.Errorf("natsjs: publish %s: no acknowledgement", id)
	case rejected(err):
		return fmt.Errorf("natsjs: publish %s: %w: %w", id, sinks.ErrRejected, err)
	}
	return fmt.Errorf("natsjs: publish %s: %w", id, err)
}
