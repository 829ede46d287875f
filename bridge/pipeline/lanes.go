package pipeline

import (
	"context"
	"hash/maphash"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// The lanes: the dispatcher moves live events from the memory queue to the lane of their
// key, the spool's hand-off (spill.go) sends them there or directly, and each lane
// delivers its events in order (pipelined.go, fanout.go, or one at a time).

// dispatch moves live events from the queue to their lane until ctx ends.
func (p *Pipeline) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-p.queue:
			p.took()
			if !p.toLane(q, ctx.Done()) {
				select {
				case p.queue <- q: // back in line for the drain
					p.m.queueDepth.Inc()
				default:
					p.keep(q)
				}
				return
			}
		}
	}
}

// dispatchQueued hands what is still queued to the lanes until the queue is empty or the
// drain deadline passes.
func (p *Pipeline) dispatchQueued(ctx context.Context) {
	for {
		select {
		case q := <-p.queue:
			p.took()
			if !p.toLane(q, ctx.Done()) {
				p.keep(q)
				return
			}
		default:
			return
		}
	}
}

func (p *Pipeline) abandonQueued() {
	for {
		select {
		case q := <-p.queue:
			p.took()
			p.keep(q)
		default:
			return
		}
	}
}

func (p *Pipeline) laneOf(ev event.Event) int {
	return int(maphash.String(p.seed, ev.Key()) % uint64(len(p.lanes)))
}

// lane delivers the events of lane i one after the other, so per-key order holds.
func (p *Pipeline) lane(ctx context.Context, i int) {
	in := p.lanes[i]
	switch {
	case p.piped != nil:
		p.piped[i].run(ctx, in)
	case len(p.outs) > 1:
		p.laneMembers(ctx, in)
	default:
		for q := range in {
			_, err := p.deliver(ctx, q.ev)
			p.conclude(q, err)
		}
	}
}

// toLane puts q in its lane's channel, waiting for room until stop is closed (a nil stop:
// not at all); false when it did not.
func (p *Pipeline) toLane(q queued, stop <-chan struct{}) bool {
	i := p.laneOf(q.ev)
	if p.piped != nil {
		p.piped[i].countQueued(1) // before the send: no direct send may overtake q
	}
	select {
	case p.lanes[i] <- q:
		return true
	default:
	}
	if stop != nil {
		select {
		case p.lanes[i] <- q:
			return true
		case <-stop:
		}
	}
	if p.piped != nil {
		p.piped[i].countQueued(-1)
	}
	return false
}

// sendDirect sends q on the caller's goroutine when its lane is pipelined and idle (see
// pipelined.go); false: q was not taken.
func (p *Pipeline) sendDirect(q queued) bool {
	return p.piped != nil && p.piped[p.laneOf(q.ev)].sendDirect(q)
}

// readyNow reports whether preparing ev cannot wait: enrichment has what it needs.
func (p *Pipeline) readyNow(ev event.Event) bool {
	return p.cfg.Enrich == nil || ev.Invalid || (p.cfg.EnrichWaits != nil && !p.cfg.EnrichWaits(ev))
}
