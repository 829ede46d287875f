package rhombus

import (
	"context"
	"fmt"
	"sync"
)

type priorityKey struct{}

// WithPriority marks ctx so that its calls go ahead of every other call of the client in
// the REST budget: while such a call waits or runs, other calls wait for it to end, and
// calls marked WithoutQueueing (enrichment) fail at once. Backfill uses it: a gap's
// alerts are worth more than a device name or an alert's details, and under a 429 storm
// every call counts.
func WithPriority(ctx context.Context) context.Context {
	return context.WithValue(ctx, priorityKey{}, true)
}

func hasPriority(ctx context.Context) bool { return ctx.Value(priorityKey{}) != nil }

// priorityGate counts the priority calls waiting or in flight.
type priorityGate struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func (g *priorityGate) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n++
}

func (g *priorityGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		close(g.idle)
	}
}

// busy reports whether a priority call is waiting or in flight.
func (g *priorityGate) busy() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n > 0
}

// yield lets the priority calls go first: it returns at once when there are none, fails
// at once for a call marked WithoutQueueing, and otherwise waits until they are done.
func (g *priorityGate) yield(ctx context.Context) error {
	g.mu.Lock()
	n, idle := g.n, g.idle
	g.mu.Unlock()
	if n == 0 {
		return nil
	}
	if ctx.Value(noQueueKey{}) != nil {
		return fmt.Errorf("%w: backfill has the REST budget", ErrPastDeadline)
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
