package sinktest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Retry publishes ev the way the pipeline does: a failed attempt that is neither rejected
// nor refused by a closed sink is tried again with the same event after a short backoff,
// until it is acknowledged or ctx ends. It returns how many attempts failed.
func Retry(ctx context.Context, pub func(context.Context, event.Event) error, ev event.Event) (failed int, err error) {
	b := backoff.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	for {
		err := pub(ctx, ev)
		if err == nil {
			return failed, nil
		}
		failed++
		if errors.Is(err, sinks.ErrRejected) || errors.Is(err, sinks.ErrClosed) {
			return failed, err
		}
		if serr := backoff.Sleep(ctx, b.Next()); serr != nil {
			return failed, fmt.Errorf("%w (last attempt: %w)", serr, err)
		}
	}
}
