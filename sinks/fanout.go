package sinks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Fanout returns a Sink that delivers every event to all of sinks at once. Its Publish
// returns nil only when every sink acknowledged; otherwise the errors of the sinks that
// failed, joined, each naming its sink. With one sink it returns that sink itself.
func Fanout(sinks ...Sink) Sink {
	if len(sinks) == 1 {
		return sinks[0]
	}
	return &fanout{sinks: append([]Sink(nil), sinks...)}
}

type fanout struct{ sinks []Sink }

// Name joins the sinks' names with "+" ("nats+kafka").
func (f *fanout) Name() string {
	names := make([]string, len(f.sinks))
	for i, s := range f.sinks {
		names[i] = s.Name()
	}
	return strings.Join(names, "+")
}

// Sinks returns the sinks f delivers to.
func (f *fanout) Sinks() []Sink { return f.sinks }

func (f *fanout) Publish(ctx context.Context, ev event.Event) error {
	return f.each(func(s Sink) error { return s.Publish(ctx, ev) })
}

func (f *fanout) Ping(ctx context.Context) error {
	return f.each(func(s Sink) error { return s.Ping(ctx) })
}

func (f *fanout) Close(ctx context.Context) error {
	return f.each(func(s Sink) error { return s.Close(ctx) })
}

// each runs fn on every sink concurrently and joins the errors, naming the sink.
func (f *fanout) each(fn func(Sink) error) error {
	errs := make([]error, len(f.sinks))
	done := make(chan struct{}, len(f.sinks))
	for i, s := range f.sinks[1:] {
		go func() {
			if err := fn(s); err != nil {
				errs[i+1] = fmt.Errorf("sink %s: %w", s.Name(), err)
			}
			done <- struct{}{}
		}()
	}
	if err := fn(f.sinks[0]); err != nil { // the first on this goroutine
		errs[0] = fmt.Errorf("sink %s: %w", f.sinks[0].Name(), err)
	}
	for range f.sinks[1:] {
		<-done
	}
	return errors.Join(errs...)
}
