package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// term is one tenure of this replica as leader.
type term struct {
	token  uint64
	ttl    time.Duration // TTL minus margin: how long a renewal keeps the lease surely ours
	base   time.Time     // monotonic reference for deadline
	dl     atomic.Int64  // ns after base until which the lease is surely ours
	ended  atomic.Bool
	over   chan struct{} // closed when the term ends
	ctx    context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer
	once   sync.Once

	accounted  time.Time // last time leader seconds were counted
	renewFails int       // failed renewals in a row (the lead goroutine's own)
}

func (t *term) held() bool {
	return !t.ended.Load() && time.Since(t.base) < time.Duration(t.dl.Load())
}

// deadline is when the lease stops being surely ours.
func (t *term) deadline() time.Time { return t.base.Add(time.Duration(t.dl.Load())) }

// extend records a successful renewal that was sent at since.
func (t *term) extend(since time.Time) {
	t.dl.Store(int64(since.Sub(t.base) + t.ttl))
	t.timer.Reset(time.Until(since.Add(t.ttl)))
}

// end finishes the term once: the leader context is cancelled with cause.
func (t *term) end(cause error) {
	t.once.Do(func() {
		t.ended.Store(true)
		t.cancel(cause)
		t.timer.Stop()
		close(t.over)
	})
}

// leaderContext is the leader context handed to onLeading. Its Err also consults the
// clock, so a thawed process sees it cancelled even before the lapse timer has run.
type leaderContext struct {
	context.Context
	t *term
}

func (c leaderContext) Err() error {
	if !c.t.held() {
		c.t.end(ErrLapsed)
	}
	return c.Context.Err()
}

func (l *Lease) startTerm(ctx context.Context, at Term) *term {
	t := &term{token: at.Token, ttl: l.cfg.TTL - l.cfg.Margin, base: at.Since, over: make(chan struct{}),
		accounted: time.Now()}
	t.dl.Store(int64(t.ttl))
	inner, cancel := context.WithCancelCause(context.WithValue(ctx, revisionKey{}, at.Token))
	t.ctx, t.cancel = leaderContext{Context: inner, t: t}, cancel
	t.timer = time.AfterFunc(time.Hour, func() { t.end(ErrLapsed) })
	t.timer.Reset(time.Until(t.deadline())) // t.timer is set before the callback can run
	l.mu.Lock()
	l.term = t
	l.status.Revision, l.status.LeaderSince = at.Token, time.Now()
	l.status.Transitions++
	l.mu.Unlock()
	l.m.leader.Set(1)
	l.m.revision.Set(float64(at.Token))
	l.m.transitions.Inc()
	l.log.Info("lease acquired", "lease_revision", at.Token)
	return t
}

// lead runs one term: onLeading in its own goroutine, renewals here, then the release.
func (l *Lease) lead(ctx context.Context, at Term, onLeading func(context.Context)) {
	t := l.startTerm(ctx, at)
	done := make(chan struct{})
	go func() {
		defer close(done)
		onLeading(t.ctx)
	}()
	every := l.cfg.TTL / 3
	if ri, ok := l.b.(renewIntervaler); ok {
		every = ri.renewInterval(l.cfg.TTL)
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-t.over:
			l.release(t) // lost or lapsed: free the key now if it is still ours
			<-done
			l.finish(t)
			return
		case <-done:
			t.end(ErrStepDown)
			l.release(t)
			l.finish(t)
			return
		case <-tick.C:
			l.renew(t, every)
		}
	}
}

func (l *Lease) renew(t *term, every time.Duration) {
	if l.beforeRenew != nil {
		l.beforeRenew()
	}
	if !t.held() {
		t.end(ErrLapsed)
		return
	}
	since := time.Now()
	dl := t.deadline()
	if d := since.Add(every); d.Before(dl) {
		dl = d
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	err := l.b.Renew(ctx)
	cancel()
	switch {
	case errors.Is(err, ErrLost):
		t.end(fmt.Errorf("renew: %w", err))
		return
	case err != nil:
		// A transient failure (a timeout on a busy machine, a dropped connection): the lease
		// is still surely ours until the term's deadline, so lead on and try again at the
		// next tick. The lapse timer ends the term if no renewal gets through by then.
		if t.renewFails++; t.renewFails == 1 {
			l.log.Warn("lease renewal failed; retrying while the lease is surely held", "lease_revision", t.token,
				"error", err, "held_for", time.Until(t.deadline()).Round(time.Millisecond).String())
		}
		return
	}
	if t.renewFails > 0 {
		l.log.Info("lease renewed again", "lease_revision", t.token, "failed_renewals", t.renewFails)
		t.renewFails = 0
	}
	t.extend(since)
	l.account(t)
}

func (l *Lease) release(t *term) {
	cause := context.Cause(t.ctx)
	ctx, cancel := context.WithTimeout(context.Background(), max(l.cfg.TTL/3, time.Second))
	defer cancel()
	if err := l.b.Release(ctx); err != nil {
		l.log.Info("lease not released (expires by itself)", "lease_revision", t.token, "error", err)
	}
	l.log.Info("lease term ended", "lease_revision", t.token, "cause", cause)
}

func (l *Lease) finish(t *term) {
	l.account(t)
	l.mu.Lock()
	l.term = nil
	l.status.Transitions++
	l.status.LeaderSince = time.Time{}
	l.mu.Unlock()
	l.m.leader.Set(0)
	l.m.transitions.Inc()
}

// account adds the time led since the last call to the leader seconds counter.
func (l *Lease) account(t *term) {
	now := time.Now()
	l.m.leaderSeconds.Add(now.Sub(t.accounted).Seconds())
	t.accounted = now
}
