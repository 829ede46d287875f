package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Run delivers queued live events until ctx ends, then keeps delivering what is already
// queued for at most DrainTimeout, and returns. Events still undelivered after the drain
// are kept in the spool for the next start, or, without one, reported to OnOverflow (they
// become a gap backfill can close).
func (p *Pipeline) Run(ctx context.Context) error {
	if !p.run.TryLock() {
		return errors.New("pipeline: already running")
	}
	defer p.run.Unlock()
	drainCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	for _, lane := range p.lanes {
		wg.Go(func() { p.lane(drainCtx, lane) })
	}
	var feeder sync.WaitGroup
	if p.cfg.Spool != nil {
		p.setHanding(true)
		feeder.Go(func() { p.feed(ctx) })
	}
	p.dispatch(ctx)
	feeder.Wait()
	p.setHanding(false) // before the lanes close
	p.stopped.Store(true)
	timer := time.AfterFunc(p.cfg.DrainTimeout, cancel)
	defer timer.Stop()
	p.dispatchQueued(drainCtx)
	for _, lane := range p.lanes {
		close(lane)
	}
	wg.Wait()
	p.abandonQueued()
	return nil
}

// dispatch moves live events from the queue to their lane until ctx ends.
func (p *Pipeline) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-p.queue:
			p.took()
			select {
			case p.lanes[p.laneOf(q.ev)] <- q:
			case <-ctx.Done():
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
			select {
			case p.lanes[p.laneOf(q.ev)] <- q:
			case <-ctx.Done():
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

// report hands an event the pipeline could not deliver to OnOverflow.
func (p *Pipeline) report(q queued) {
	p.m.abandoned.Inc()
	if p.cfg.OnOverflow != nil {
		p.cfg.OnOverflow(q.ev)
	}
}

func (p *Pipeline) laneOf(ev event.Event) int {
	return int(maphash.String(p.seed, ev.Key()) % uint64(len(p.lanes)))
}

// lane delivers its events one after the other, so per-key order holds.
func (p *Pipeline) lane(ctx context.Context, in <-chan queued) {
	if len(p.outs) > 1 {
		p.laneMembers(ctx, in)
		return
	}
	if a, ok := p.outs[0].pub.(sinks.AsyncPublisher); ok {
		p.lanePipelined(ctx, in, a)
		return
	}
	for q := range in {
		_, err := p.deliver(ctx, q.ev)
		p.conclude(q, err)
	}
}

// conclude settles a live event once its delivery ended with err.
func (p *Pipeline) conclude(q queued, err error) {
	switch {
	case err == nil:
		p.settled(q)
		if p.cfg.Watermark != nil {
			p.cfg.Watermark.done(q.seq, q.ev.TimestampMs)
		}
	case errors.Is(err, ErrFenced) || errors.Is(err, sinks.ErrRejected):
		p.settled(q) // accounted for as a gap: never retried
		p.report(q)  // (OnOverflow holds the watermark first)
		if p.cfg.Watermark != nil {
			p.cfg.Watermark.done(q.seq, 0) // no longer outstanding here
		}
	default:
		p.keep(q) // the drain ended first
	}
}

// deliver publishes ev, retrying with backoff until it is acknowledged or ctx ends. dup
// reports an id acknowledged recently, not published again.
func (p *Pipeline) deliver(ctx context.Context, ev event.Event) (dup bool, err error) {
	ev, dup = p.prepare(ctx, ev)
	if dup {
		return true, nil
	}
	if len(p.outs) == 1 {
		err = p.deliverTo(ctx, p.outs[0], ev)
	} else {
		err = p.fanOut(ctx, ev)
	}
	if err != nil {
		return false, err
	}
	p.acked(ev)
	return false, nil
}

// prepare enriches ev, unless its id was acknowledged recently (dup).
func (p *Pipeline) prepare(ctx context.Context, ev event.Event) (_ event.Event, dup bool) {
	if p.dedup.seen(ev.ID, time.Now()) {
		p.m.duplicates.Inc()
		return ev, true
	}
	if p.cfg.Enrich != nil && !ev.Invalid {
		ev = p.cfg.Enrich(ctx, ev)
	}
	return ev, false
}

// deliverTo publishes ev to one sink, retrying with backoff until it is acknowledged, ctx
// ends or the sink is closed: this is the only retry loop between the bridge and a broker
// (a sink makes one attempt per Publish). An event of an ended lease term is not
// published (ErrFenced); one the broker refuses for good becomes a bounded record on the
// invalid subject.
func (p *Pipeline) deliverTo(ctx context.Context, sink out, ev event.Event) error {
	p.m.inflight.Inc()
	defer p.m.inflight.Dec()
	return p.retry(ctx, sink, ev, nil)
}

// retry is deliverTo's loop. failed, when not nil, is the failure of an attempt already
// made (a pipelined lane's); the loop starts by handling it.
func (p *Pipeline) retry(ctx context.Context, sink out, ev event.Event, failed error) error {
	b := backoff.Backoff{Base: p.cfg.RetryBase, Max: p.cfg.RetryMax}
	for attempt := 1; ; attempt++ {
		err := failed
		failed = nil
		if err == nil {
			if p.fenceOver(ev) {
				p.m.fenced.Inc()
				return fmt.Errorf("deliver %s: %w", ev.ID, ErrFenced)
			}
			if err = p.attempt(ctx, sink, ev); err == nil {
				return nil
			}
		}
		p.m.errors.Inc()
		if errors.Is(err, sinks.ErrRejected) {
			if ev.Invalid && len(ev.Body) <= maxRejectedHead {
				return fmt.Errorf("deliver %s: given up: %w", ev.ID, err)
			}
			p.cfg.Logger.Error("broker rejected an event; recording it on the invalid subject", "event_id", ev.ID,
				"bytes", len(ev.Body), "error", err)
			ev = rejected(ev, err)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, sinks.ErrClosed) {
			return fmt.Errorf("deliver %s: %w", ev.ID, errors.Join(ctx.Err(), err))
		}
		if attempt == 1 || attempt%50 == 0 {
			p.cfg.Logger.Warn("publish failed, retrying", "event_id", ev.ID, "attempt", attempt, "error", err)
		}
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return fmt.Errorf("deliver %s: %w", ev.ID, err)
		}
		sink.retries.Inc()
	}
}

// fenceOver reports whether ev was taken under a lease term that has ended.
func (p *Pipeline) fenceOver(ev event.Event) bool {
	return ev.Fence != 0 && p.cfg.FenceValid != nil && !p.cfg.FenceValid(ev.Fence)
}

// attempt makes one publish attempt, bounded by PublishTimeout (no timer of its own when
// ctx ends sooner: a webhook's answer is bounded by its own).
func (p *Pipeline) attempt(ctx context.Context, sink out, ev event.Event) error {
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > p.cfg.PublishTimeout {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.PublishTimeout)
		defer cancel()
	}
	return sink.pub.Publish(ctx, ev)
}

// out is one sink the pipeline delivers to, with its name and retry counter.
type out struct {
	pub     sinks.Publisher
	name    string
	retries prometheus.Counter // rhombus_bridge_sink_retries_total{sink}
}

// newOut names pub after the sink (its Name, else "sink<i>").
func newOut(sm *sinks.Metrics, pub sinks.Publisher, i int) out {
	name := fmt.Sprintf("sink%d", i)
	if n, ok := pub.(interface{ Name() string }); ok {
		name = n.Name()
	}
	return out{pub: pub, name: name, retries: sm.For(name).Retries}
}

func (p *Pipeline) acked(ev event.Event) {
	now := time.Now()
	p.dedup.add(ev.ID, now)
	p.last.Store(now.UnixMilli())
	p.m.published.inc(ev.Via)
	if !ev.Received.IsZero() {
		p.m.latency.Observe(now.Sub(ev.Received).Seconds())
	}
	if p.cfg.OnAcked != nil {
		p.cfg.OnAcked(ev, now.Sub(ev.Received))
	}
}

// maxRejectedHead bounds the part of a rejected event kept in its invalid record.
const maxRejectedHead = 16 << 10

// rejected turns an event the broker refused into an invalid record of bounded size: the
// head of the body and the reason, under the same id.
func rejected(ev event.Event, cause error) event.Event {
	body := ev.Body
	if len(body) > maxRejectedHead {
		body = body[:maxRejectedHead]
	}
	r := event.Invalid(ev.Org, body, fmt.Errorf("rejected by the broker (%d bytes, truncated to %d): %w",
		len(ev.Body), len(body), cause), ev.Via)
	r.ID, r.Received, r.Fence = ev.ID, ev.Received, ev.Fence
	return r
}
