package pipeline

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// The pipelined lane. When the only sink is a sinks.AsyncPublisher (NATS), a lane does
// not wait for each acknowledgement: it keeps up to laneWindow attempts in flight, sent in
// the order its events came. The events of a key are sent in order on one connection, so
// they are stored in order. An acknowledgement settles its event on the sink's goroutine
// (watermark, spool, dedup, metrics) without waking the lane, which wakes only for new
// events, for a failure, or when it waits for room.
//
// Sent directly: the goroutine that hands a spooled event out (the live feed's, most of
// the time) sends it itself, without waking the lane, when the lane is idle (nothing
// queued for it, in flight or being sent), nothing on the way can wait (enrichment has
// what it needs, the sink a free slot: TryPublishAsync) and the drain has not begun. At a
// steady rate that is nearly every event, and the hand-off to the lane's goroutine was
// the costliest part of its trip. Anything else goes through the lane's channel, and the
// lane's goroutine sends a queued event only once a direct send in progress has started.
//
// A failed attempt stops the lane's sending: once every attempt in flight has its answer,
// the failed ones are retried in the order they were sent, by retry (the pipeline's one
// retry loop), and the lane goes on. The one order that can then differ from arrival: a
// later event of the same key that was acknowledged while an earlier one failed in flight
// (the connection was lost between the two) is stored before the earlier one's retry.

// laneWindow bounds the attempts one lane keeps in flight (the sink bounds them all): 32
// lanes of 32 carry a burst as fast as lanes of 64 did, with less held in memory.
const laneWindow = 32

// flight is one event of a pipelined lane, from its send to its settlement.
type flight struct {
	l       *pipelined
	q       queued
	ev      event.Event // as prepared (enriched)
	seq     uint64      // send order within the lane
	err     error       // a failed answer, for the retry
	settled atomic.Bool // answered or abandoned: whoever sets it settles the event
}

// Done takes the sink's answer (sinks.Completion): an acknowledgement settles the event
// here; a failure goes to the lane for its retry.
func (f *flight) Done(err error) {
	if !f.settled.CompareAndSwap(false, true) {
		return // abandoned at the end of the drain
	}
	l := f.l
	if err != nil {
		f.err = err
		l.update(func() { delete(l.fly, f); l.failed = append(l.failed, f) }, true)
		return
	}
	l.update(func() { delete(l.fly, f) }, false)
	l.p.m.inflight.Dec()
	l.p.acked(f.ev)
	l.p.conclude(f.q, nil)
	l.update(func() { l.n-- }, false)
}

// pipelined is one pipelined lane.
type pipelined struct {
	p    *Pipeline
	sink sinks.AsyncPublisher
	wake chan struct{}

	mu      sync.Mutex
	n       int                  // events sent and not settled (in flight or failed)
	queued  int                  // events put in the lane's channel and not yet sent
	direct  bool                 // an event is being sent directly (sendDirect)
	fly     map[*flight]struct{} // in flight, for abandoning them
	sent    uint64               // attempts started, for their order
	failed  []*flight            // answered with an error (or fenced), to retry
	waiting bool                 // the lane waits for a settlement: each one wakes it
}

// update changes the lane's state under its lock, and wakes the lane when it waits for
// that (or always, with wake).
func (l *pipelined) update(change func(), wake bool) {
	l.mu.Lock()
	change()
	wake = wake || l.waiting
	l.mu.Unlock()
	if wake {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

func newPipelined(p *Pipeline, sink sinks.AsyncPublisher) *pipelined {
	return &pipelined{p: p, sink: sink, wake: make(chan struct{}, 1), fly: map[*flight]struct{}{}}
}

// run is lane for an asynchronous sink.
func (l *pipelined) run(ctx context.Context, in <-chan queued) {
	for ctx.Err() == nil {
		n, failed := l.state()
		switch {
		case failed > 0: // once every attempt has its answer, retry the failed ones in order
			if l.await(ctx, func() bool { return !l.direct && l.n == len(l.failed) }) {
				l.retryFailed(ctx)
			}
		case in == nil && n == 0:
			return
		case in == nil || n >= laneWindow:
			l.await(ctx, func() bool { return (in != nil && l.n < laneWindow) || l.n == 0 || len(l.failed) > 0 })
		default:
			select {
			case q, ok := <-in:
				if !ok {
					in = nil
					continue
				}
				l.sendQueued(ctx, q)
			case <-l.wake:
			case <-ctx.Done():
			}
		}
	}
	l.abandon(ctx.Err(), in) // the drain is over: what is left is kept for later, as in lane
}

// sendQueued sends q, taken from the lane's channel, once a direct send in progress
// started (it came before q).
func (l *pipelined) sendQueued(ctx context.Context, q queued) {
	if l.await(ctx, func() bool { return !l.direct }) {
		l.send(ctx, q, false)
	} else {
		l.p.conclude(q, ctx.Err())
	}
	l.countQueued(-1)
}

// sendDirect sends q on the caller's goroutine if the lane is idle and nothing on the
// way can wait (see above); false: q was not taken.
func (l *pipelined) sendDirect(q queued) bool {
	if !l.p.readyNow(q.ev) {
		return false
	}
	l.mu.Lock()
	idle := l.queued == 0 && l.n == 0 && !l.direct
	l.direct = idle
	l.mu.Unlock()
	if !idle {
		return false
	}
	defer l.update(func() { l.direct = false }, false)
	// Nothing waits on this path (readyNow, TryPublishAsync), so no ctx can end it early.
	return l.send(context.Background(), q, true)
}

// countQueued adds d to the events put in the lane's channel and not yet sent.
func (l *pipelined) countQueued(d int) { l.update(func() { l.queued += d }, false) }

func (l *pipelined) state() (n, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, len(l.failed)
}

// await waits until cond (evaluated under the lock) holds; false when ctx ended first.
func (l *pipelined) await(ctx context.Context, cond func() bool) bool {
	for {
		l.mu.Lock()
		ok := cond()
		l.waiting = !ok
		l.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-l.wake:
		case <-ctx.Done():
			l.update(func() { l.waiting = false }, false)
			return false
		}
	}
}

// send prepares q's event and starts its attempt, with TryPublishAsync when try is set:
// false when that found the sink busy (q was not taken).
func (l *pipelined) send(ctx context.Context, q queued, try bool) bool {
	ev, dup := l.p.prepare(ctx, q.ev)
	if dup {
		l.p.conclude(q, nil)
		return true
	}
	f := &flight{l: l, q: q, ev: ev}
	l.p.m.inflight.Inc()
	if l.p.fenceOver(ev) { // no attempt: retry reports the fence
		f.settled.Store(true)
		l.update(func() { l.sent++; f.seq = l.sent; l.n++; l.failed = append(l.failed, f) }, try)
		return true
	}
	l.update(func() { l.sent++; f.seq = l.sent; l.n++; l.fly[f] = struct{}{} }, false)
	var err error
	if try {
		err = l.sink.TryPublishAsync(ev, f)
	} else {
		err = l.sink.PublishAsync(ctx, ev, f)
	}
	if try && errors.Is(err, sinks.ErrBusy) {
		l.update(func() { l.n--; delete(l.fly, f) }, false)
		l.p.m.inflight.Dec()
		return false
	}
	if err != nil {
		f.Done(err)
	}
	return true
}

// retryFailed retries the failed attempts in the order they were sent, then settles them.
func (l *pipelined) retryFailed(ctx context.Context) {
	var failed []*flight
	l.update(func() { failed, l.failed = l.failed, nil }, false)
	slices.SortFunc(failed, func(a, b *flight) int { return cmp.Compare(a.seq, b.seq) })
	for _, f := range failed {
		err := l.p.retry(ctx, l.p.outs[0], f.ev, f.err)
		l.p.m.inflight.Dec()
		if err == nil {
			l.p.acked(f.ev)
		}
		l.p.conclude(f.q, err)
		l.update(func() { l.n-- }, false)
	}
}

// abandon concludes with err every event in flight or failed and every event still
// queued for the lane (the drain ended; a late answer finds its event settled), once the
// acknowledgements being settled meanwhile are.
func (l *pipelined) abandon(err error, in <-chan queued) {
	var left []*flight
	l.update(func() {
		for f := range l.fly {
			if f.settled.CompareAndSwap(false, true) {
				left = append(left, f)
			}
		}
		l.fly = map[*flight]struct{}{}
	}, false)
	l.await(context.Background(), func() bool { return l.n == len(left)+len(l.failed) })
	l.update(func() { left, l.failed = append(left, l.failed...), nil }, false)
	for _, f := range left {
		l.p.m.inflight.Dec()
		l.p.conclude(f.q, err)
	}
	if in != nil {
		for q := range in {
			l.p.conclude(q, err)
		}
	}
}
