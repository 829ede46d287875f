package sinks

import (
	"context"
	"errors"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Publisher accepts events. Publish returns nil only once ev is durably accepted
// downstream; an error means it may not have been, and the caller still owns it (retrying
// with the same event is safe: ids are deterministic and sinks de-duplicate by id).
type Publisher interface {
	Publish(ctx context.Context, ev event.Event) error
}

// Sink is one broker output.
type Sink interface {
	Publisher
	// Name is a short, stable name for logs and metrics ("nats", "kafka").
	Name() string
	// Ping reports whether the broker is reachable now (for /readyz).
	Ping(ctx context.Context) error
	// Close flushes what is in flight (bounded by ctx) and releases the connection.
	Close(ctx context.Context) error
}

// ErrRejected is wrapped by a sink's error when the broker will never accept the event as
// it is (too large, a subject or topic it refuses): retrying the same event is pointless.
// The pipeline then publishes a small record of the rejection to the invalid subject
// instead, so nothing disappears silently.
var ErrRejected = errors.New("rejected by the broker")

// ErrClosed is wrapped by the error of a Publish that a closed sink refused without
// trying it (every sink's own ErrClosed wraps it).
var ErrClosed = errors.New("sink closed")

// AsyncPublisher is a Publisher that can keep many attempts in flight from one goroutine.
// When the only sink has it, the pipeline pipelines each delivery lane: the events of a
// key are sent in order without waiting for each acknowledgement, and settled in order.
type AsyncPublisher interface {
	Publisher
	// PublishAsync makes one attempt at ev without waiting for the broker: done.Done is
	// later called exactly once, on another goroutine, with the outcome (nil:
	// acknowledged; errors classified as Publish's). An attempt that cannot start
	// returns its error and done is never called. It blocks only while the sink's
	// in-flight bound is reached, until ctx ends; the sink bounds the wait for the
	// broker's answer itself (it reports a timeout to done).
	PublishAsync(ctx context.Context, ev event.Event, done Completion) error
}

// Completion receives the outcome of one PublishAsync attempt. Done must be fast: it
// runs on the sink's acknowledgement goroutine.
type Completion interface{ Done(err error) }
