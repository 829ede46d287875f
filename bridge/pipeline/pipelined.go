package pipeline

import (
	"context"
	"sync/atomic"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// The pipelined lane. When the only sink is a sinks.AsyncPublisher (NATS), a lane does
// not wait for each acknowledgement: it keeps up to laneWindow attempts in flight, in the
// order its events came, and settles them in that order as the answers arrive. The events
// of a key are sent in order on one connection, so they are stored in order, and a busy
// lane wakes once per batch of answers instead of twice per event.
//
// A failed attempt is retried by retry (the pipeline's one retry loop) when it reaches
// the head, before anything after it is settled; the lane sends nothing new meanwhile.
// The one order that can then differ from arrival: a later event of the same key that
// was acknowledged while an earlier one failed in flight (the connection was lost between
// the two) is stored before the earlier one's retry.

// laneWindow bounds the attempts one lane keeps in flight (the sink bounds them all).
const laneWindow = 128

// flight is one event of a pipelined lane, from its send to its settlement.
type flight struct {
	q    queued
	ev   event.Event // as prepared (enriched)
	held bool        // no attempt was made (fenced): settle makes it, through retry
	err  error       // the attempt's outcome, valid once done
	done atomic.Bool
	wake chan<- struct{} // the lane's
}

// Done records the sink's answer and wakes the lane (sinks.Completion).
func (f *flight) Done(err error) {
	f.err = err
	f.done.Store(true)
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// pipelined is one pipelined lane's state; only the lane's goroutine touches it.
type pipelined struct {
	p    *Pipeline
	sink sinks.AsyncPublisher
	fly  []*flight // in flight, oldest first
	free []*flight // settled, for reuse
	wake chan struct{}
}

// lanePipelined is lane for an asynchronous sink.
func (p *Pipeline) lanePipelined(ctx context.Context, in <-chan queued, sink sinks.AsyncPublisher) {
	l := &pipelined{p: p, sink: sink, wake: make(chan struct{}, 1)}
	for in != nil || len(l.fly) > 0 {
		recv := in
		if len(l.fly) >= laneWindow {
			recv = nil
		}
		select {
		case q, ok := <-recv:
			if !ok {
				in = nil
				break
			}
			l.send(ctx, q)
		case <-l.wake:
		case <-ctx.Done(): // the drain is over: what is left is kept for later, as in lane
			l.abandon(ctx.Err())
			for q := range in {
				p.conclude(q, ctx.Err())
			}
			return
		}
		l.settle(ctx)
	}
}

// send prepares q's event and starts its attempt.
func (l *pipelined) send(ctx context.Context, q queued) {
	ev, dup := l.p.prepare(ctx, q.ev)
	if dup {
		l.p.conclude(q, nil)
		return
	}
	f := l.get()
	f.q, f.ev = q, ev
	l.p.m.inflight.Inc()
	l.fly = append(l.fly, f)
	if l.p.fenceOver(ev) {
		f.held = true
		f.done.Store(true)
		return
	}
	if err := l.sink.PublishAsync(ctx, ev, f); err != nil {
		f.err = err
		f.done.Store(true)
	}
}

// settle concludes the answered events at the head, in order; a failed one is retried
// first.
func (l *pipelined) settle(ctx context.Context) {
	for len(l.fly) > 0 && l.fly[0].done.Load() {
		f := l.fly[0]
		l.fly[0] = nil
		l.fly = l.fly[1:]
		err := f.err
		if err != nil || f.held {
			err = l.p.retry(ctx, l.p.outs[0], f.ev, err)
		}
		l.p.m.inflight.Dec()
		if err == nil {
			l.p.acked(f.ev)
		}
		l.p.conclude(f.q, err)
		l.put(f)
	}
}

// abandon concludes every event still in flight with err (the drain ended); their
// flights are not reused, since the sink may still answer them.
func (l *pipelined) abandon(err error) {
	for _, f := range l.fly {
		l.p.m.inflight.Dec()
		l.p.conclude(f.q, err)
	}
	l.fly = nil
}

func (l *pipelined) get() *flight {
	if n := len(l.free); n > 0 {
		f := l.free[n-1]
		l.free = l.free[:n-1]
		return f
	}
	return &flight{wake: l.wake}
}

func (l *pipelined) put(f *flight) {
	f.q, f.ev, f.held, f.err = queued{}, event.Event{}, false, nil
	f.done.Store(false)
	l.free = append(l.free, f)
}
