package sinktest

import (
	"context"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Record is one message as the broker stored it.
type Record struct {
	ID      string            // ce_id (and Nats-Msg-Id on NATS)
	Key     string            // Kafka key; on NATS the subject's last token
	Where   string            // NATS subject, or "partition N" on Kafka
	Body    []byte            // the stored value
	Headers map[string]string // every header, first value
}

// Harness is one sink under test and a view into its broker. A factory builds a fresh
// one (fresh stream or topic) for every case and registers its own cleanup.
type Harness struct {
	Sink sinks.Sink
	// Read returns every record the broker stored, records of one key in the order the
	// broker stored them.
	Read func(ctx context.Context) ([]Record, error)
	// Stop makes the broker unreachable (keeping what it stored); Start brings it back.
	Stop  func(t *testing.T)
	Start func(t *testing.T)
	// IsInvalid reports whether r went where invalid events go (subject or type).
	IsInvalid func(r Record) bool
	// OutageTimeout bounds one Publish while the broker is down (default 2s).
	OutageTimeout time.Duration
}

// Factory builds a Harness for one case.
type Factory func(t *testing.T) Harness
