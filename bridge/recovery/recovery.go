package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// AlertSource asks getPolicyAlertsV2 for one page: the policy alerts with afterMs ≤
// timestampMs ≤ beforeMs (Unix ms, inclusive), past the cursor (lastTs, lastUUID) when
// lastTs is not 0, as backfill events whose ids equal their live copies', in the order the
// server returned them. Recovery does the paging (see pager).
type AlertSource func(ctx context.Context, afterMs, beforeMs, lastTs int64, lastUUID string) ([]event.Event, error)

// Publisher delivers an event and returns nil once every sink acknowledged it, saying
// whether it was a duplicate of an event acknowledged recently (then nothing was
// published). *pipeline.Pipeline is one, through the same PublishDup the webhook receiver
// uses.
type Publisher interface {
	PublishDup(ctx context.Context, ev event.Event) (dup bool, err error)
}

// Watermark is the mark the live feed's acknowledgements advance, which Recovery pins
// while a gap is open and persists (*pipeline.Watermark is one).
type Watermark interface {
	Mark() int64    // the current watermark, Unix ms (0: none yet)
	Hold(ms int64)  // pin the reported mark at most at ms until Release
	Release()       // the gap was recovered: the mark moves again
	Reset(ms int64) // a new term starts at ms
}

// WatermarkStore keeps the watermark where every replica can read it.
type WatermarkStore interface {
	Load(ctx context.Context) (int64, error) // 0 when none was saved
	Save(ctx context.Context, ms int64) error
}

// Config shapes a Recovery.
type Config struct {
	Instance string
	Org      string
	Overlap  time.Duration // backfill starts this long before the gap (clock skew, late pushes)
	MaxAge   time.Duration // and never further back than this
	// Settle is how long backfill waits after being asked, so that its window ends after
	// the server has registered the new subscription (the client only knows it sent
	// SUBSCRIBE); alerts created before then are in the window, later ones arrive live.
	// Default 1s.
	Settle time.Duration
	// Quiet is how long the feed must have been back before backfill runs after a flap (the
	// feed dropped again less than Quiet after it came back): in a reconnect storm the
	// gaps' windows merge and are fetched once the feed holds, instead of a page or two per
	// reconnect, each of which a 429 with Retry-After: 60 can cost a minute. Default 2 × Settle.
	Quiet  time.Duration
	Source AlertSource
	Store  WatermarkStore // nil: the watermark lives in memory only
	// Live, when set, says whether the live feed is subscribed now: a gap is only closed
	// while it is (a backfill retry that fires during a new disconnect waits for Recover).
	Live func() bool
	// MaySave, when set, is asked before every save: false (the lease was lost) means
	// this replica no longer writes the shared watermark.
	MaySave func() bool
	// Fence, when not 0, is the lease revision of the term this Recovery belongs to: it is
	// stamped on every backfilled event and gap record, so that the pipeline refuses to
	// publish them once the term has ended (a deposed or thawed leader stops at once).
	Fence   uint64
	Logger  *slog.Logger
	Metrics *Metrics // optional
}

// Gap is a window in which live events may have been missed.
type Gap struct {
	Start   time.Time `json:"start"`
	Causes  []string  `json:"causes"`
	Opened  time.Time `json:"opened"`
	Retries int       `json:"retries"`
	// NonAlertsMayBeMissed is false only while every cause of the gap is a known lost
	// policy-alert creation, which backfill recovers; any disconnect, start-up or lost
	// event of another kind may have cost events REST cannot return.
	NonAlertsMayBeMissed bool `json:"nonAlertEventsMayBeMissed"`
}

// Recovery closes gaps: whenever the live feed may have missed events (start-up,
// failover, disconnect, queue overflow) it holds the watermark, backfills policy alerts
// from the REST API once the feed is live again, publishes a BRIDGE_GAP record, and only
// then lets the watermark advance.
//
// Each stretch of time is fetched once. A gap adds its window [start − Overlap, end] to a
// set of pending stretches (overlapping windows merge; what this term already fetched is
// left out); the end is fixed once the feed is back. Backfill pages through the pending
// stretches oldest first, publishes page by page and drops each stretch a page proved
// complete, so a failure, or a new gap opening meanwhile, never makes it start again.
type Recovery struct {
	cfg  Config
	pub  Publisher
	wm   Watermark
	kick chan struct{}

	mu     sync.Mutex
	gaps   []*gap    // open gaps, oldest first
	todo   spans     // stretches not fetched yet
	done   spans     // stretches fetched in this term
	kickAt time.Time // the last Recover: the feed (or room in the queue) is back
	flap   bool      // the last disconnect came less than Quiet after the feed was back

	pg       *pager    // the window being paged, kept across passes (Run's goroutine)
	order    pageOrder // the server's page order, once seen
	cursorOK bool      // the server was seen to honour the lastTimestampMs/lastUuid cursor

	closed     int64 // gaps closed
	backfilled int64 // alerts published by backfill
}

// gap is an open Gap and its bookkeeping.
type gap struct {
	Gap
	lastLoss  time.Time // the latest Open that joined it: its end is fixed only after a Recover since
	end       int64     // Unix ms its window ends (0: not known yet)
	alerts    int       // alerts backfilled inside its window
	truncated bool      // its window reached past MaxAge
}

// New ties a Recovery to the pipeline it publishes through (pub) and the watermark the
// pipeline feeds (wm).
func New(cfg Config, pub Publisher, wm Watermark) (*Recovery, error) {
	if cfg.Source == nil || pub == nil || wm == nil || cfg.Org == "" {
		return nil, errors.New("recovery: Source, Org, publisher and watermark are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Settle <= 0 {
		cfg.Settle = time.Second
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 2 * cfg.Settle
	}
	return &Recovery{cfg: cfg, pub: pub, wm: wm, kick: make(chan struct{}, 1)}, nil
}

// Begin starts a term (a process start or a new leadership): it loads the shared
// watermark and opens a gap from it, to be closed once the feed is subscribed. With no
// saved watermark there is nothing to recover: the bridge starts from now.
func (r *Recovery) Begin(ctx context.Context, cause string) error {
	var mark int64
	if r.cfg.Store != nil {
		m, err := r.cfg.Store.Load(ctx)
		if err != nil {
			return fmt.Errorf("recovery: load watermark: %w", err)
		}
		mark = m
	}
	r.wm.Reset(mark)
	if mark > 0 {
		r.Open(cause, time.UnixMilli(mark))
	}
	return nil
}

// Open records that events after start may have been missed (the feed is down). While
// the feed has not been back since the last Open, the gap widens and adds the cause;
// after that a new gap adds its own window.
func (r *Recovery) Open(cause string, start time.Time) {
	r.open1(cause, start, true, true)
}

// OpenFor records that ev was lost (a full queue, a fenced or refused event): the gap
// starts at ev's time. Only a lost policy-alert creation can be recovered by backfill, so
// only such losses leave NonAlertsMayBeMissed false.
func (r *Recovery) OpenFor(cause string, ev event.Event) {
	at := ev.Received
	if ev.TimestampMs > 0 {
		at = time.UnixMilli(ev.TimestampMs)
	}
	if at.IsZero() {
		at = time.Now()
	}
	r.open1(cause, at, !ev.IsAlertCreate(), false)
}

func (r *Recovery) open1(cause string, start time.Time, nonAlerts, disconnect bool) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if disconnect && !r.kickAt.IsZero() {
		r.flap = now.Sub(r.kickAt) < r.cfg.Quiet
	}
	var g *gap
	if n := len(r.gaps); n > 0 && r.gaps[n-1].end == 0 {
		g = r.gaps[n-1]
		if start.Before(g.Start) {
			g.Start = start
		}
	} else {
		g = &gap{Gap: Gap{Start: start, Opened: now}}
		r.gaps = append(r.gaps, g)
		r.cfg.Metrics.opened(cause)
	}
	g.lastLoss = now
	g.NonAlertsMayBeMissed = g.NonAlertsMayBeMissed || nonAlerts
	if !contains(g.Causes, cause) {
		g.Causes = append(g.Causes, cause)
	}
	for _, w := range (spans{{r.from(start), openEnd}}).minus(r.done) {
		r.todo = r.todo.add(w)
	}
	r.holdLocked()
}

// from is where the window of a gap starting at start begins.
func (r *Recovery) from(start time.Time) int64 { return start.Add(-r.cfg.Overlap).UnixMilli() }

// holdLocked pins the watermark at the earliest pending stretch plus the overlap (a
// successor's backfill starts that much before the watermark, so it starts on the first
// alert not yet fetched), or releases it when nothing is pending. As pages complete the
// front of a window, the watermark moves with them.
func (r *Recovery) holdLocked() {
	r.wm.Release()
	if len(r.todo) > 0 {
		r.wm.Hold(r.todo[0].lo + r.cfg.Overlap.Milliseconds())
	}
}

// Recover asks Run to close the open gaps (the feed is subscribed again, or the queue
// has room again). It does not block. Backfill starts Settle after the last Recover (or
// Quiet after it, when the feed is flapping).
func (r *Recovery) Recover() {
	r.mu.Lock()
	r.kickAt = time.Now()
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// OpenGap returns the open gaps as one (the earliest start, every cause), or nil.
func (r *Recovery) OpenGap() *Gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.gaps) == 0 {
		return nil
	}
	g := r.gaps[0].Gap
	g.Causes = append([]string(nil), g.Causes...)
	for _, o := range r.gaps[1:] {
		if o.Start.Before(g.Start) {
			g.Start = o.Start
		}
		for _, c := range o.Causes {
			if !contains(g.Causes, c) {
				g.Causes = append(g.Causes, c)
			}
		}
		g.NonAlertsMayBeMissed = g.NonAlertsMayBeMissed || o.NonAlertsMayBeMissed
		g.Retries = max(g.Retries, o.Retries)
	}
	return &g
}

// Counts returns the gaps closed and alerts backfilled so far.
func (r *Recovery) Counts() (gaps, backfilled int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed, r.backfilled
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
