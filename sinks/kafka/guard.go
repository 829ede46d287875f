package kafka

import (
	"context"
	"errors"
	"fmt"
	"net"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/produce"
)

// errNotSent marks a produce request SendGuard refused: nothing was stored.
var errNotSent = errors.New("produce request not sent")

// guarded asks the sink's SendGuard right before every produce request leaves: a write
// that waited in the writer's batch while the process was frozen (SIGSTOP, a paused VM)
// is then refused if the process's lease term ended meanwhile, instead of landing after
// the successor's copy.
type guarded struct {
	kafkago.RoundTripper
	guard func() error
}

func (g guarded) RoundTrip(ctx context.Context, addr net.Addr, req protocol.Message) (protocol.Message, error) {
	if _, ok := req.(*produce.Request); ok {
		if err := g.guard(); err != nil {
			return nil, fmt.Errorf("%w: %w", errNotSent, err)
		}
	}
	return g.RoundTripper.RoundTrip(ctx, addr, req)
}
