package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

// AlertSource lists the policy alerts created in [after, before] as backfill events whose
// ids equal their live copies' (REST getPolicyAlertsV2).
type AlertSource func(ctx context.Context, after, before time.Time) ([]event.Event, error)

// WatermarkStore keeps the watermark where every replica can read it.
type WatermarkStore interface {
	Load(ctx context.Context) (int64, error) // 0 when none was saved
	Save(ctx context.Context, ms int64) error
}

// RecoveryConfig shapes a Recovery.
type RecoveryConfig struct {
	Instance string
	Org      string
	Overlap  time.Duration // backfill starts this long before the gap (clock skew, late pushes)
	MaxAge   time.Duration // and never further back than this
	// Settle is how long backfill waits after being asked, so that its window ends after
	// the server has registered the new subscription (the client only knows it sent
	// SUBSCRIBE); alerts created before then are in the window, later ones arrive live.
	// Default 1s.
	Settle time.Duration
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
	Metrics *RecoveryMetrics // optional
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
type Recovery struct {
	cfg  RecoveryConfig
	p    *Pipeline
	wm   *Watermark
	mu   sync.Mutex
	open *Gap
	gen  uint64 // bumped by every Open, so a backfill racing a new Open keeps the gap open
	kick chan struct{}

	closed     int64 // gaps closed
	backfilled int64 // alerts published by backfill
}

// NewRecovery ties a Recovery to the pipeline it publishes through and the watermark the
// pipeline feeds.
func NewRecovery(cfg RecoveryConfig, p *Pipeline, wm *Watermark) (*Recovery, error) {
	if cfg.Source == nil || p == nil || wm == nil || cfg.Org == "" {
		return nil, errors.New("recovery: Source, Org, pipeline and watermark are required")
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
	return &Recovery{cfg: cfg, p: p, wm: wm, kick: make(chan struct{}, 1)}, nil
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

// Open records that events after start may have been missed. Opening while a gap is open
// widens it and adds the cause.
func (r *Recovery) Open(cause string, start time.Time) {
	r.open1(cause, start, true)
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
	r.open1(cause, at, !ev.IsAlertCreate())
}

func (r *Recovery) open1(cause string, start time.Time, nonAlerts bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		r.open = &Gap{Start: start, Opened: time.Now()}
		r.cfg.Metrics.opened(cause)
	} else if start.Before(r.open.Start) {
		r.open.Start = start
	}
	r.gen++
	r.open.NonAlertsMayBeMissed = r.open.NonAlertsMayBeMissed || nonAlerts
	if !contains(r.open.Causes, cause) {
		r.open.Causes = append(r.open.Causes, cause)
	}
	r.wm.Hold(start.UnixMilli())
}

// Recover asks Run to close the open gap now (the feed is subscribed again, or the queue
// has room again). It does not block.
func (r *Recovery) Recover() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// OpenGap returns a copy of the open gap, or nil.
func (r *Recovery) OpenGap() *Gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		return nil
	}
	g := *r.open
	g.Causes = append([]string(nil), g.Causes...)
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
