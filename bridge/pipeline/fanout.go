package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// The fan-out. With two or more sinks (BRIDGE_SINKS=nats,kafka) an event is a pending:
// prepared (enriched) once, delivered to each sink by deliverTo with that sink's own
// retries, and counted as delivered (watermark, spool, dedup, published) only once every
// sink acknowledged it. A sink that already has the event is not sent it again.
//
// Live events: each lane hands an event to one in-order queue per sink, and each sink's
// queue is delivered on its own. A sink that is down therefore holds back only itself:
// the others keep receiving live events until MemberLag events (across all lanes) wait
// for the lagging sink, and only then do the lanes wait.
//
// Publish (webhooks, backfill): the caller's event goes to every sink at once and Publish
// returns when every sink acknowledged, or when one gave up (the error names it).

// pending is one event on its way to every sink.
type pending struct {
	q    queued
	ev   event.Event // prepared (enriched) once for all sinks
	left atomic.Int32
	mu   sync.Mutex
	err  error         // the sink failure that decides the event's fate, if any
	done chan struct{} // Publish only: closed when the last sink finished
}

func newPending(q queued, ev event.Event, sinks int) *pending {
	pd := &pending{q: q, ev: ev}
	pd.left.Store(int32(sinks))
	return pd
}

// fanOut delivers a prepared ev to every sink at once and returns when all finished: nil
// once each acknowledged, else the deciding failure.
func (p *Pipeline) fanOut(ctx context.Context, ev event.Event) error {
	pd := newPending(queued{}, ev, len(p.outs))
	pd.done = make(chan struct{})
	for _, o := range p.outs[1:] {
		go func() { pd.finish(p, o, p.deliverTo(ctx, o, ev)) }()
	}
	pd.finish(p, p.outs[0], p.deliverTo(ctx, p.outs[0], ev)) // the first on this goroutine
	<-pd.done
	return pd.err
}

// laneMembers is lane for several sinks.
func (p *Pipeline) laneMembers(ctx context.Context, in <-chan queued) {
	queues := make([]*fifo, len(p.outs))
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = newFIFO()
		wg.Go(func() { p.member(ctx, i, queues[i]) })
	}
	for q := range in {
		ev, dup := p.prepare(ctx, q.ev)
		if dup {
			p.conclude(q, nil)
			continue
		}
		pd := newPending(q, ev, len(queues))
		for i, mq := range queues {
			select {
			case p.lag[i] <- struct{}{}: // a slot of the sink's lag bound
				mq.push(pd)
			case <-ctx.Done():
				pd.finish(p, p.outs[i], ctx.Err()) // the drain ended: kept for later, as in lane
			}
		}
	}
	for _, mq := range queues {
		mq.close()
	}
	wg.Wait()
}

// member delivers one sink's queue of one lane, in order.
func (p *Pipeline) member(ctx context.Context, i int, in *fifo) {
	sink := p.outs[i]
	for pd, ok := in.pop(); ok; pd, ok = in.pop() {
		err := p.deliverTo(ctx, sink, pd.ev)
		<-p.lag[i]
		pd.finish(p, sink, err)
	}
}

// finish records one sink's outcome; the last sink to finish settles the event: a
// Publish caller is woken, a live event is concluded.
func (pd *pending) finish(p *Pipeline, o out, err error) {
	if err != nil {
		pd.mu.Lock()
		pd.err = preferFinal(pd.err, fmt.Errorf("sink %s: %w", o.name, err))
		pd.mu.Unlock()
	}
	if pd.left.Add(-1) > 0 {
		return
	}
	pd.mu.Lock()
	err = pd.err
	pd.mu.Unlock()
	if pd.done != nil {
		close(pd.done)
		return
	}
	if err == nil {
		p.acked(pd.ev)
	}
	p.conclude(pd.q, err)
}

// preferFinal keeps the error that decides the event's fate: a fence (the event becomes a
// gap for the successor) wins over any other failure.
func preferFinal(have, got error) error {
	if have == nil || (errors.Is(got, ErrFenced) && !errors.Is(have, ErrFenced)) {
		return got
	}
	return have
}

// fifo is an unbounded queue (its length is bounded by the lag slots) that one goroutine
// pops in order.
type fifo struct {
	mu     sync.Mutex
	items  []*pending
	closed bool
	wake   chan struct{}
}

func newFIFO() *fifo { return &fifo{wake: make(chan struct{}, 1)} }

func (f *fifo) push(pd *pending) {
	f.mu.Lock()
	f.items = append(f.items, pd)
	f.mu.Unlock()
	f.signal()
}

func (f *fifo) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.signal()
}

func (f *fifo) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// pop returns the oldest item, waiting for one; false once closed and empty.
func (f *fifo) pop() (*pending, bool) {
	for {
		f.mu.Lock()
		if len(f.items) > 0 {
			pd := f.items[0]
			f.items[0] = nil
			f.items = f.items[1:]
			f.mu.Unlock()
			return pd, true
		}
		closed := f.closed
		f.mu.Unlock()
		if closed {
			return nil, false
		}
		<-f.wake
	}
}
