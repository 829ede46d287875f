package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// Spool is the durable write-ahead log of live events (bridge/spool implements it). With
// a spool, every live event is appended to it and then handed to its lane, in the order of
// the spool: events come back in arrival order, a broker outage fills the spool (bounded
// by size and age) rather than memory, and whatever was not delivered at exit (or at a
// crash) is replayed at the next start. Only when the spool refuses an event (full, disk
// error) does the event take the in-memory queue directly, or become a gap.
//
// Handing out: Offer hands the events it spooled to their lanes itself while the lanes
// have room and nobody else is handing out (the usual case, and no goroutine has to wake
// for it); otherwise it wakes the feeder, which waits for room, and replays at start what
// an earlier process left.
type Spool interface {
	// AppendAll appends evs in order and returns how many it appended; when fewer than
	// all, err says why evs[n] was refused, and the rest were not tried.
	AppendAll(evs []event.Event) (int, error)
	// TryNextSeq hands out the oldest record not yet handed out, with its sequence number
	// for Ack; ok is false when there is none.
	TryNextSeq() (seq uint64, ev event.Event, ok bool, err error)
	Ack(seq uint64) error
	Backlog() int
}

// spill is the spool's bookkeeping in the pipeline.
type spill struct {
	mu     sync.Mutex
	seqs   []uint64 // the watermark sequence numbers of the spooled events, in order
	replay int      // records an earlier process left, handed out first (they have none)

	hand    sync.Mutex // held by whoever hands records to the lanes
	running bool       // the lanes take events (under hand)
	carry   *queued    // taken from the spool, not yet in its lane (under hand)
	wake    chan struct{}
}

// offerSpool appends the events of qs to the spool and hands them to their lanes; it
// returns the ones the spool refused (they take the in-memory queue).
func (p *Pipeline) offerSpool(qs []queued) (refused []queued) {
	evs := make([]event.Event, len(qs))
	for i := range qs {
		evs[i] = qs[i].ev
	}
	spooled := false
	p.spill.mu.Lock()
	for len(qs) > 0 {
		n, err := p.cfg.Spool.AppendAll(evs)
		for _, q := range qs[:n] {
			p.spill.seqs = append(p.spill.seqs, q.seq)
		}
		spooled = spooled || n > 0
		if err == nil {
			break
		}
		p.m.spoolRefused.Inc()
		// Debug: the spool warns itself, rate-limited (one line per event flooded the log).
		p.cfg.Logger.Debug("spool refused an event; it bypasses the spool", "event_id", qs[n].ev.ID, "error", err)
		refused = append(refused, qs[n])
		qs, evs = qs[n+1:], evs[n+1:]
	}
	p.spill.mu.Unlock()
	if spooled {
		p.handOff()
	}
	return refused
}

// handOff hands spooled events to their lanes on Offer's goroutine, while the lanes have
// room and the feeder is not at it; else it leaves them to the feeder.
func (p *Pipeline) handOff() {
	if p.spill.hand.TryLock() {
		done := p.spill.running && p.handOut(nil)
		p.spill.hand.Unlock()
		if done {
			return
		}
	}
	select {
	case p.spill.wake <- struct{}{}:
	default:
	}
}

// feed hands spooled events to their lanes, oldest first, until ctx ends, waiting for a
// lane's room; it runs at start (what an earlier process spooled comes first) and when
// Offer could not hand out.
func (p *Pipeline) feed(ctx context.Context) {
	for {
		p.spill.hand.Lock()
		p.handOut(ctx.Done())
		p.spill.hand.Unlock()
		select {
		case <-p.spill.wake:
		case <-ctx.Done():
			return // what was taken and not handed out is not acknowledged: replayed at the next start
		}
	}
}

// handOut hands the carried event and the spooled ones to their lanes until the spool
// has none left (true). A full lane stops it (false) when stop is nil, else it waits for
// room until stop is closed. p.spill.hand is held.
func (p *Pipeline) handOut(stop <-chan struct{}) bool {
	for {
		if p.spill.carry == nil && !p.takeSpooled() {
			return true
		}
		q := *p.spill.carry
		lane := p.lanes[p.laneOf(q.ev)]
		select {
		case lane <- q:
			p.spill.carry = nil
			continue
		default:
		}
		if stop == nil {
			return false
		}
		select {
		case lane <- q:
			p.spill.carry = nil
		case <-stop:
			return false
		}
	}
}

// takeSpooled takes the next record from the spool into carry; false when there is none.
func (p *Pipeline) takeSpooled() bool {
	sseq, ev, ok, err := p.cfg.Spool.TryNextSeq()
	if err != nil && !errors.Is(err, context.Canceled) {
		p.cfg.Logger.Error("spool: cannot hand out events", "error", err)
	}
	if !ok {
		return false
	}
	if p.cfg.Restamp != nil {
		ev = p.cfg.Restamp(ev)
	}
	p.spill.carry = &queued{ev: ev, fromSpool: true, spoolSeq: sseq, seq: p.spooledSeq()}
	return true
}

// setHanding starts or stops the hand-off to the lanes (stopped before they close).
func (p *Pipeline) setHanding(on bool) {
	p.spill.hand.Lock()
	p.spill.running = on
	p.spill.hand.Unlock()
}

// spooledSeq pops the watermark sequence number of the oldest spooled event; an event
// spooled by an earlier process gets a new one.
func (p *Pipeline) spooledSeq() uint64 {
	p.spill.mu.Lock()
	defer p.spill.mu.Unlock()
	if p.spill.replay > 0 { // spooled by an earlier process: handed out before this one's
		p.spill.replay--
	} else if len(p.spill.seqs) > 0 {
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
