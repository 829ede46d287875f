package app

import (
	"context"
	"fmt"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
)

// leadership runs the leader's work under the configured lease until ctx ends. Without
// a lease (BRIDGE_LEASE=none) this replica simply leads.
func (a *App) leadership(ctx context.Context) error {
	go a.kickOverflow(ctx)
	if a.cfg.Bridge.Lease == "none" {
		a.lead(ctx, 0, "startup")
		return nil
	}
	l := a.lease
	a.update(func(s *state) { s.standby = true })
	defer a.update(func(s *state) { s.standby = false })
	terms := 0
	err := l.Run(ctx, func(leaderCtx context.Context) {
		terms++
		cause := "failover"
		if terms == 1 {
			cause = "startup"
		}
		a.lead(leaderCtx, lease.Revision(leaderCtx), cause)
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("lease: %w", err)
	}
	return nil
}

// leaseHeld reports, from the lease's own monotonic clock, whether this replica still
// holds the lease right now (always true without a lease).
func (a *App) leaseHeld() bool {
	if a.lease == nil {
		return true
	}
	return a.lease.Held()
}

// leaseEnded is closed when the current lease term ends (never without a lease).
func (a *App) leaseEnded() <-chan struct{} {
	if a.lease == nil {
		return nil
	}
	return a.lease.Ended()
}

// kickOverflow asks for a backfill once the queue has room again after an overflow.
func (a *App) kickOverflow(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.overflowed:
		}
		select {
		case <-ctx.Done():
			return
		case <-a.pipe.Room():
		}
		a.mu.Lock()
		rec := a.state.recovery
		a.mu.Unlock()
		if rec != nil {
			rec.Recover()
		}
	}
}
