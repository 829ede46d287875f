package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Spool is the durable write-ahead log of live events (bridge/spool implements it). With
// a spool, every live event is appended to it, and the feeder hands it to its lane:
// events come back in arrival order, a broker outage fills the
// spool (bounded by size and age) rather than memory, and whatever was not delivered at
// exit (or at a crash) is replayed at the next start. Only when the spool refuses an event
// (full, disk error) does the event take the in-memory queue directly, or become a gap.
type Spool interface {
	Append(ev event.Event) error
	NextSeq(ctx context.Context) (uint64, event.Event, error)
	Ack(seq uint64) error
	Backlog() int
}

// spill keeps the watermark sequence numbers of the spooled events, in order.
type spill struct {
	mu   sync.Mutex
	seqs []uint64
}

// offerSpool appends q's event to the spool; false when the spool refused it.
func (p *Pipeline) offerSpool(q queued) bool {
	p.spill.mu.Lock()
	defer p.spill.mu.Unlock()
	if err := p.cfg.Spool.Append(q.ev); err != nil {
		p.m.spoolRefused.Inc()
		// Debug: the spool warns itself, rate-limited (one line per event flooded the log).
		p.cfg.Logger.Debug("spool refused an event; it bypasses the spool", "event_id", q.ev.ID, "error", err)
		return false
	}
	p.spill.seqs = append(p.spill.seqs, q.seq)
	return true
}

// feed hands spooled events to their lanes, oldest first, until ctx ends: the spool is
// the queue of live events, so they skip the in-memory one (and its dispatcher), and
// only what the lanes hold is in memory. Events spooled by an earlier process come first.
func (p *Pipeline) feed(ctx context.Context) {
	for {
		sseq, ev, err := p.cfg.Spool.NextSeq(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				p.cfg.Logger.Error("spool feeder stopped", "error", err)
			}
			return
		}
		if p.cfg.Restamp != nil {
			ev = p.cfg.Restamp(ev)
		}
		q := queued{ev: ev, fromSpool: true, spoolSeq: sseq, seq: p.spooledSeq()}
		select {
		case p.lanes[p.laneOf(q.ev)] <- q:
		case <-ctx.Done():
			return // not acknowledged: replayed at the next start
		}
	}
}

// spooledSeq pops the watermark sequence number of the oldest spooled event; an event
// spooled by an earlier process gets a new one.
func (p *Pipeline) spooledSeq() uint64 {
	p.spill.mu.Lock()
	defer p.spill.mu.Unlock()
	if len(p.spill.seqs) > 0 {
		s := p.spill.seqs[0]
		p.spill.seqs = p.spill.seqs[1:]
		return s
	}
	if p.cfg.Watermark != nil {
		return p.cfg.Watermark.begin()
	}
	return 0
}

// settled tells the spool that a spooled event is done with (delivered, or accounted for
// as a gap).
func (p *Pipeline) settled(q queued) {
	if q.fromSpool {
		if err := p.cfg.Spool.Ack(q.spoolSeq); err != nil {
			p.cfg.Logger.Warn("spool ack", "error", err)
		}
	}
}

// keep handles a live event not delivered by the end of the drain: a spooled one stays in
// the spool for the next start; another one is reported as a gap.
func (p *Pipeline) keep(q queued) {
	if !q.fromSpool {
		p.report(q)
	}
}
