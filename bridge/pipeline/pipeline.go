package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// Config shapes a Pipeline. Zero values take the defaults in parentheses.
type Config struct {
	Queue          int           // live events waiting for a lane (10000)
	Lanes          int           // concurrent deliveries; events of one key share a lane (256, or asyncLanes)
	PublishTimeout time.Duration // bound on one publish attempt (5s)
	RetryBase      time.Duration // first retry delay after a failed publish (100ms)
	RetryMax       time.Duration // retry delay cap (10s)
	DedupSize      int           // acknowledged ids remembered (100000; negative: none)
	DedupTTL       time.Duration // and for how long (10m, the NATS duplicate window)
	DrainTimeout   time.Duration // bound on delivering what is queued once Run's ctx ends (15s)

	// MemberLag bounds, with two or more sinks, how many live events (across all lanes)
	// may wait for one sink while the others go on (default Queue; see fanout.go).
	MemberLag int

	Filter     event.Filter                                          // RHOMBUS_ENTITIES
	Enrich     func(ctx context.Context, ev event.Event) event.Event // optional; bounded by itself
	OnOverflow func(ev event.Event)                                  // a live event the full queue could not take
	Watermark  *Watermark                                            // live acknowledgements feed it (optional)
	// FenceValid, when set, is asked before every publish of an event with a non-zero
	// Fence (the lease revision it was taken under): false means that term is over and
	// the event is not published (it is reported to OnOverflow instead).
	FenceValid func(fence uint64) bool
	// OnAcked, when set, is told of every acknowledged event and its latency from
	// Received (benchmarks and tests; it must be fast).
	OnAcked func(ev event.Event, latency time.Duration)
	// Spool, when set, is the write-ahead log of live events (see Spool); Restamp, when
	// set, may re-stamp a spooled event as it comes back (the current lease term).
	Spool      Spool
	Restamp    func(ev event.Event) event.Event
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Queue, 10000)
	def(&c.Lanes, 256)
	def(&c.DedupSize, 100000)
	def(&c.MemberLag, c.Queue)
	defDur(&c.PublishTimeout, 5*time.Second)
	defDur(&c.RetryBase, 100*time.Millisecond)
	defDur(&c.RetryMax, 10*time.Second)
	defDur(&c.DedupTTL, 10*time.Minute)
	defDur(&c.DrainTimeout, 15*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Pipeline delivers events to a sink. See the package documentation.
type Pipeline struct {
	cfg     Config
	outs    []out // the sinks, in the order given to New
	queue   chan queued
	lanes   []chan queued
	seed    maphash.Seed
	dedup   *dedup
	m       *metrics
	spill   spill
	lag     []chan struct{} // per sink: slots of MemberLag (several sinks only)
	room    room            // Room's waiters
	stopped atomic.Bool
	last    atomic.Int64 // Unix ms of the last acknowledged event
	run     sync.Mutex   // Run runs once at a time
}

type queued struct {
	ev        event.Event
	seq       uint64 // watermark sequence number
	fromSpool bool   // came back from the spool: acknowledge spoolSeq when settled
	spoolSeq  uint64
}

// asyncLanes is the default number of lanes when the only sink publishes asynchronously:
// each pipelined lane keeps up to laneWindow events in flight, so a few lanes carry what
// 256 waiting ones did, and cost less memory.
const asyncLanes = 32

// laneDepth is how many events wait in one lane: enough that the dispatcher rarely
// blocks on a busy lane (head-of-line) while others are idle; lanes × laneDepth bounds
// the memory it costs.
const laneDepth = 16

// ErrStopped is returned by Publish once the pipeline has stopped.
var ErrStopped = errors.New("pipeline stopped")

// ErrFenced is returned for an event whose lease term has ended.
var ErrFenced = errors.New("lease term over: event fenced off")

// New validates cfg and returns a pipeline delivering every event to each of outs (at
// least one): an event counts as delivered once every sink acknowledged it.
func New(cfg Config, outs ...sinks.Publisher) (*Pipeline, error) {
	if len(outs) == 0 || slices.Contains(outs, nil) {
		return nil, errors.New("pipeline: no sink")
	}
	if _, async := outs[0].(sinks.AsyncPublisher); async && len(outs) == 1 && cfg.Lanes == 0 {
		cfg.Lanes = asyncLanes
	}
	cfg.defaults()
	if cfg.Queue < 1 || cfg.Lanes < 1 || cfg.PublishTimeout < 0 || cfg.RetryBase <= 0 || cfg.RetryMax < cfg.RetryBase {
		return nil, fmt.Errorf("pipeline: invalid config %+v", cfg)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	sm := sinks.NewMetrics(cfg.Registerer)
	p := &Pipeline{cfg: cfg, queue: make(chan queued, cfg.Queue), seed: maphash.MakeSeed(),
		dedup: newDedup(cfg.DedupSize, cfg.DedupTTL), m: m, spill: spill{wake: make(chan struct{}, 1)}}
	if cfg.Spool != nil {
		p.spill.replay = cfg.Spool.Backlog() // before any Offer: what an earlier process left
	}
	for i, o := range outs {
		p.outs = append(p.outs, newOut(sm, o, i))
		if len(outs) > 1 {
			p.lag = append(p.lag, make(chan struct{}, cfg.MemberLag))
		}
	}
	p.lanes = make([]chan queued, cfg.Lanes)
	for i := range p.lanes {
		p.lanes[i] = make(chan queued, laneDepth)
	}
	return p, nil
}

// Offer queues a live event without blocking. It reports false when the event was not
// taken: filtered out, or the queue was full (then OnOverflow has been told).
func (p *Pipeline) Offer(ev event.Event) bool {
	return p.OfferAll([]event.Event{ev}) == 1
}

// OfferAll offers evs in order, as Offer does each, and returns how many it took. With a
// spool they are appended with one write: an input that reads a burst at once (the live
// feed, before it waits for its socket again) pays one write(2) for all of it.
func (p *Pipeline) OfferAll(evs []event.Event) int {
	qs := make([]queued, 0, len(evs))
	for _, ev := range evs {
		if ev.Received.IsZero() {
			ev.Received = time.Now()
		}
		if !p.admit(&ev) {
			continue
		}
		q := queued{ev: ev}
		if p.cfg.Watermark != nil {
			q.seq = p.cfg.Watermark.begin()
		}
		qs = append(qs, q)
	}
	taken := len(qs)
	if p.cfg.Spool != nil {
		qs = p.offerSpool(qs)
	}
	for _, q := range qs {
		if !p.enqueue(q) {
			taken--
		}
	}
	return taken
}

// enqueue puts q in the in-memory queue; false when it was full (OnOverflow was told).
func (p *Pipeline) enqueue(q queued) bool {
	select {
	case p.queue <- q:
		p.m.queueDepth.Inc()
		return true
	default:
		p.m.overflow.Inc()
		if p.cfg.OnOverflow != nil {
			p.cfg.OnOverflow(q.ev) // opens a gap, which holds the watermark
		}
		if p.cfg.Watermark != nil {
			p.cfg.Watermark.done(q.seq, 0) // the gap accounts for it from now on
		}
		return false
	}
}

// admit counts ev in and applies the filter.
func (p *Pipeline) admit(ev *event.Event) bool {
	p.m.received.inc(ev.Via)
	if ev.Invalid {
		p.m.invalid.Inc()
	}
	if !p.cfg.Filter.Pass(ev) {
		p.m.filtered.Inc()
		return false
	}
	return true
}

// Publish delivers ev now and returns nil once every sink acknowledged it (or it was
// acknowledged recently); each sink is retried on its own, so one that already has ev is
// not sent it again. It retries failed attempts until ctx ends. Filtered events
// return nil at once.
func (p *Pipeline) Publish(ctx context.Context, ev event.Event) error {
	_, err := p.PublishDup(ctx, ev)
	return err
}

// PublishDup is Publish that also reports whether ev was a duplicate of an event this
// pipeline acknowledged recently (nothing was published then). The webhook receiver and
// gap recovery publish through it.
func (p *Pipeline) PublishDup(ctx context.Context, ev event.Event) (dup bool, err error) {
	if p.stopped.Load() {
		return false, ErrStopped
	}
	if ev.Received.IsZero() {
		ev.Received = time.Now()
	}
	if !p.admit(&ev) {
		return false, nil
	}
	return p.deliver(ctx, ev)
}

// LastEventMs is the Unix ms time of the last acknowledged event (0: none yet).
func (p *Pipeline) LastEventMs() int64 { return p.last.Load() }

// QueueDepth is the number of live events waiting for a lane.
func (p *Pipeline) QueueDepth() int { return len(p.queue) }
