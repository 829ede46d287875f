package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// With two or more Members (BRIDGE_SINKS=nats,kafka), each lane hands its events to one
// queue per member, and each member's queue is delivered on its own, in order. A member
// that is down therefore holds back only itself: the others keep receiving live events
// until MemberLag events (across all lanes) wait for the lagging member, and only then do
// the lanes wait. An event still counts as delivered (watermark, spool, dedup) only once
// every member acknowledged it.

// pending is one live event on its way to every member.
type pending struct {
	q    queued
	ev   event.Event // prepared (enriched) once for all members
	left atomic.Int32
	mu   sync.Mutex
	err  error // the member failure that decides the event's fate, if any
}

// laneMembers is lane for several members.
func (p *Pipeline) laneMembers(ctx context.Context, in <-chan queued) {
	queues := make([]*fifo, len(p.cfg.Members))
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
		pd := &pending{q: q, ev: ev}
		pd.left.Store(int32(len(queues)))
		for i, mq := range queues {
			select {
			case p.lag[i] <- struct{}{}: // a slot of the member's lag bound
				mq.push(pd)
			case <-ctx.Done():
				pd.finish(p, ctx.Err()) // the drain ended: kept for later, as in lane
			}
		}
	}
	for _, mq := range queues {
		mq.close()
	}
	wg.Wait()
}

// member delivers one member's queue of one lane, in order.
func (p *Pipeline) member(ctx context.Context, i int, in *fifo) {
	sink := p.members[i]
	for pd, ok := in.pop(); ok; pd, ok = in.pop() {
		err := p.deliverTo(ctx, sink, pd.ev)
		<-p.lag[i]
		pd.finish(p, err)
	}
}

// finish records one member's outcome; the last member to finish concludes the event.
func (pd *pending) finish(p *Pipeline, err error) {
	if err != nil {
		pd.mu.Lock()
		pd.err = preferFinal(pd.err, err)
		pd.mu.Unlock()
	}
	if pd.left.Add(-1) > 0 {
		return
	}
	pd.mu.Lock()
	err = pd.err
	pd.mu.Unlock()
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
