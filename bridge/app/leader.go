package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
)

// lead runs while this replica holds the lease (term rev; 0 without a lease): it resumes
// from the shared watermark, subscribes, backfills every gap, and on the way out lets
// the pipeline deliver what it took from the socket before the lease is released.
func (a *App) lead(leaderCtx context.Context, rev uint64, cause string) {
	a.fence.Store(rev)
	a.update(func(s *state) { s.leader = true })
	defer a.update(func(s *state) { s.leader = false })
	a.log.Info("leading", "lease_revision", rev, "cause", cause)

	rec, err := a.beginRecovery(leaderCtx, rev, cause)
	if err != nil {
		a.fence.Store(0) // leadership ended before the watermark could be read: nothing was taken
		return
	}
	termCtx, endTerm := context.WithCancel(context.WithoutCancel(leaderCtx))
	defer endTerm()
	a.update(func(s *state) { s.recovery = rec })
	recDone := make(chan struct{})
	go func() { defer close(recDone); _ = rec.Run(termCtx) }()
	h := a.newFeedHandler(rec, rev)
	feedCtx, stopWatch := a.feedContext(leaderCtx)
	defer stopWatch()
	if err := a.sub.Run(feedCtx, h); err != nil {
		a.log.Error("subscription ended", "error", err)
	}
	a.handOver(leaderCtx)
	endTerm()
	<-recDone
	a.update(func(s *state) { // the next term has its own; its counts join the totals
		g, b := rec.Counts()
		s.gapsDone += g
		s.backfilledDone += b
		s.recovery = nil
	})
}

// feedContext is the subscription's context for one term. It ends with leaderCtx: on a
// shutdown politely (the lease is still ours while the feed disconnects and the pipeline
// drains); when leadership was lost or lapsed, /status stops saying leader at once and
// the socket is abandoned (aborted, no DISCONNECT): a successor may already be
// subscribed. The returned func releases it.
func (a *App) feedContext(leaderCtx context.Context) (context.Context, func()) {
	feedCtx, endFeed := context.WithCancelCause(context.WithoutCancel(leaderCtx))
	stop := context.AfterFunc(leaderCtx, func() {
		if a.runCtx.Err() != nil {
			endFeed(context.Cause(a.runCtx))
			return
		}
		a.update(func(s *state) { s.leader = false })
		endFeed(fmt.Errorf("%w: leadership ended: %w", rhombus.ErrAbandon, context.Cause(leaderCtx)))
	})
	return feedCtx, func() { stop(); endFeed(nil) }
}

// beginRecovery starts the term's gap recovery from the shared watermark. It does not
// subscribe without one: a leader that cannot read where its predecessor stopped would
// not know which window to backfill. Failures are retried with backoff (the store is
// usually on the broker that is also down) until leadership ends.
func (a *App) beginRecovery(leaderCtx context.Context, rev uint64, cause string) (*recovery.Recovery, error) {
	rec, err := a.newRecovery(rev)
	if err != nil {
		a.log.Error("cannot start gap recovery", "error", err)
		return nil, err
	}
	b := backoff.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	for {
		err := rec.Begin(leaderCtx, cause)
		if err == nil {
			return rec, nil
		}
		if leaderCtx.Err() != nil {
			return nil, leaderCtx.Err()
		}
		d := b.Next()
		a.log.Error("cannot read the shared watermark; not subscribing yet", "error", err, "retry_in", d.String())
		if err := backoff.Sleep(leaderCtx, d); err != nil {
			return nil, err
		}
	}
}

// handOver runs when leadership ends. On shutdown the lease is still ours: deliver what
// was taken from the socket (bounded), then give the lease up. When leadership was lost,
// stop publishing under the old revision at once.
func (a *App) handOver(leaderCtx context.Context) {
	if a.runCtx.Err() == nil { // not shutting down: leadership was lost
		a.settleGuarded()
		a.fence.Store(0)
		a.log.Warn("leadership lost; no longer publishing under the old lease")
		return
	}
	timer := time.NewTimer(a.cfg.Bridge.ShutdownTimeout)
	defer timer.Stop()
	select { // delivered, out of time, or the lease lapsed meanwhile
	case <-a.wm.Drained():
	case <-timer.C:
	case <-a.leaseEnded():
	}
	a.fence.Store(0)
	a.log.Info("handing over", "undelivered", a.wm.Outstanding(), "lease_ctx", context.Cause(leaderCtx))
}

// fenceValid reports whether an event stamped with fence may still be published: only
// while the term that took it from Rhombus holds the lease.
func (a *App) fenceValid(fence uint64) bool {
	return fence == 0 || (fence == a.fence.Load() && a.leaseHeld())
}

func (a *App) newRecovery(rev uint64) (*recovery.Recovery, error) {
	return recovery.New(recovery.Config{
		Instance: a.cfg.Bridge.InstanceID, Org: a.org, Overlap: a.cfg.Bridge.BackfillOverlap, Fence: rev,
		MaxAge: a.cfg.Bridge.BackfillMaxAge, Source: a.kafkaSeenSource(a.rest.AlertEvents(a.org)), Store: a.store, MaySave: a.leaseHeld,
		Live:    func() bool { return a.snapshot().subscribed },
		Logger:  a.log,
		Metrics: a.recMetrics,
	}, a.pipe, a.wm)
}

// feedBatch bounds the messages the feed handler holds before it offers them.
const feedBatch = 64

// feedHandler takes the Rhombus change feed into the pipeline. It offers the messages of
// one read from the socket together (a burst costs one spool write), when the subscriber
// flushes, or every feedBatch of them. Its methods run on the subscriber's goroutine.
type feedHandler struct {
	a        *App
	rec      *recovery.Recovery
	rev      uint64
	lastWarn int64                          // Unix ns of the last invalid-message warning
	batch    []event.Event                  // parsed, not offered yet
	name     func(deviceUUID string) string // the camera cache, without waiting (nil: none)
}

func (a *App) newFeedHandler(rec *recovery.Recovery, rev uint64) *feedHandler {
	h := &feedHandler{a: a, rec: rec, rev: rev}
	if a.enricher != nil {
		h.name = a.enricher.CachedName
	}
	return h
}

func (h *feedHandler) Subscribed(_ context.Context, _ rhombus.SubscribeInfo) {
	h.a.update(func(s *state) { s.subscribed = true })
	if h.rec != nil {
		h.rec.Recover()
	}
}

func (h *feedHandler) Message(body []byte, at time.Time) {
	ev, err := event.ParseChangeNamed(h.a.org, body, event.ViaWebSocket, h.name)
	if err != nil {
		ev = event.Invalid(h.a.org, body, err, event.ViaWebSocket)
		if now := at.UnixNano(); now-h.lastWarn >= int64(time.Second) { // a flood of bad input is counted, not logged
			h.lastWarn = now
			h.a.log.Warn("invalid message from Rhombus; published to the invalid subject (logged at most once a second)",
				"error", err, "bytes", len(body))
		}
	}
	ev.Received, ev.Fence = at, h.rev
	if h.batch = append(h.batch, ev); len(h.batch) == feedBatch {
		h.Flush()
	}
}

func (h *feedHandler) Flush() {
	if len(h.batch) > 0 {
		h.a.pipe.OfferAll(h.batch)
		clear(h.batch)
		h.batch = h.batch[:0]
	}
}

func (h *feedHandler) Disconnected(cause error, lastAlive time.Time) {
	h.a.update(func(s *state) { s.subscribed = false })
	var refused rhombus.RefusedFrame
	if errors.As(cause, &refused) { // nothing is dropped silently: its head goes to the invalid subject
		kept, reason := refused.FrameHead()
		head := kept
		if len(head) == 0 { // refused unread: record the refusal itself (a distinct id per occurrence)
			head = fmt.Appendf(nil, "frame refused at %s: %s", time.Now().UTC().Format(time.RFC3339Nano), reason)
		}
		ev := event.Invalid(h.a.org, head, fmt.Errorf("frame dropped, first %d bytes kept: %s", len(kept), reason),
			event.ViaWebSocket)
		ev.Received, ev.Fence = time.Now(), h.rev
		h.a.pipe.Offer(ev)
	}
	if h.rec == nil || errors.Is(cause, context.Canceled) || rhombus.CauseOf(cause) == rhombus.CauseShutdown {
		return
	}
	if lastAlive.IsZero() {
		lastAlive = time.Now()
	}
	h.rec.Open(string(rhombus.CauseOf(cause)), lastAlive)
}
