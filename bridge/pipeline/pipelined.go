package pipeline

import (
	"cmp"
	"context"
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
	sent uint64 // the lane's goroutine only

	mu      sync.Mutex
	n       int                  // events sent and not settled (in flight or failed)
	fly     map[*flight]struct{} // in flight, for abandoning them
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

// lanePipelined is lane for an asynchronous sink.
func (p *Pipeline) lanePipelined(ctx context.Context, in <-chan queued, sink sinks.AsyncPublisher) {
	l := &pipelined{p: p, sink: sink, wake: make(chan struct{}, 1), fly: map[*flight]struct{}{}}
	for ctx.Err() == nil {
		n, failed := l.state()
		switch {
		case failed > 0: // once every attempt has its answer, retry the failed ones in order
			if l.await(ctx, func() bool { return l.n == len(l.failed) }) {
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
				l.send(ctx, q)
			case <-l.wake:
			case <-ctx.Done():
			}
		}
	}
	l.abandon(ctx.Err(), in) // the drain is over: what is left is kept for later, as in lane
}

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

// send prepares q's event and starts its attempt.
func (l *pipelined) send(ctx context.Context, q queued) {
	ev, dup := l.p.prepare(ctx, q.ev)
	if dup {
		l.p.conclude(q, nil)
		return
	}
	l.sent++
	f := &flight{l: l, q: q, ev: ev, seq: l.sent}
	l.p.m.inflight.Inc()
	if l.p.fenceOver(ev) { // no attempt: retry reports the fence
		f.settled.Store(true)
		l.update(func() { l.n++; l.failed = append(l.failed, f) }, false)
		return
	}
	l.update(func() { l.n++; l.fly[f] = struct{}{} }, false)
	if err := l.sink.PublishAsync(ctx, ev, f); err != nil {
		f.Done(err)
	}
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
