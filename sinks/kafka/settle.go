package kafka

import (
	"context"
	"fmt"
	"sync"
)

// flight is one Publish call, write attempt, Preload or topic check under way. Close waits
// for all of them (Sink.wg); Settle only for the generation that was current when it was
// called, so that calls made while it waits do not hold it up.
type flight struct {
	s   *Sink
	gen *sync.WaitGroup
}

// enter counts a new call in the current generation; it fails after Close.
func (s *Sink) enter() (flight, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return flight{}, false
	}
	s.wg.Add(1)
	s.gen.Add(1)
	return flight{s: s, gen: s.gen}, true
}

// also counts work the call hands to another goroutine (a write attempt that outlives
// Publish) in the same generation; it ends with its own done.
func (f flight) also() flight {
	f.s.wg.Add(1)
	f.gen.Add(1)
	return f
}

func (f flight) done() {
	f.gen.Done()
	f.s.wg.Done()
}

// Settle waits until every Publish call and write attempt under way when it was called
// has ended (those an earlier Settle gave up on included), or ctx ends; calls made
// meanwhile are not waited for. The bridge calls it
// when a lease term ends while SendGuard still refuses, so that a write a frozen leader
// had queued fails on the thaw instead of going out once the guard lets writes through
// again (it would land after the successor's copy).
func (s *Sink) Settle(ctx context.Context) error {
	s.mu.Lock()
	g, next := s.gen, new(sync.WaitGroup)
	next.Add(1) // the next generation ends no sooner than this one: a later Settle waits for both
	s.gen = next
	s.mu.Unlock()
	settled := make(chan struct{})
	go func() { g.Wait(); next.Done(); close(settled) }()
	select {
	case <-settled:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: settle: writes still under way: %w", ctx.Err())
	}
}
