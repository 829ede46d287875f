package recovery

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// SaveEvery is how often Run persists the watermark when it moved.
const SaveEvery = time.Second

// Run closes gaps when asked (Recover) and persists the watermark until ctx ends, then
// saves the watermark one last time. A failed backfill is retried with backoff (1 s to
// 1 min) while the gap stays open and the watermark stays held; it resumes from the page
// it failed on.
func (r *Recovery) Run(ctx context.Context) error {
	tick := time.NewTicker(SaveEvery)
	defer tick.Stop()
	due := time.NewTimer(time.Hour)
	due.Stop()
	defer due.Stop()
	b := backoff.Backoff{Base: time.Second, Max: time.Minute}
	var saved int64
	for {
		select {
		case <-ctx.Done():
			r.save(context.WithoutCancel(ctx), &saved)
			return nil
		case <-tick.C:
			r.save(ctx, &saved)
			continue // gaps close on Recover (subscribed again / room again), never on the save tick
		case <-r.kick:
			due.Reset(r.settling())
			continue
		case <-due.C:
		}
		if d := r.settling(); d > 0 { // a later Recover: its settle time first
			due.Reset(d)
			continue
		}
		if r.cfg.Live != nil && !r.cfg.Live() {
			continue // the feed is down: Recover comes when it is back
		}
		if err := r.pass(ctx); err != nil && ctx.Err() == nil {
			d := b.Next()
			r.failed()
			r.cfg.Logger.Warn("backfill failed; gap stays open", "error", err, "retry_in", d.String())
			due.Reset(d)
		} else {
			b.Reset()
		}
	}
}

// settling is how long backfill still waits after the last Recover: Settle, or Quiet
// while the feed is flapping.
func (r *Recovery) settling() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := r.cfg.Settle
	if r.flap {
		wait = r.cfg.Quiet
	}
	return time.Until(r.kickAt.Add(wait))
}

func (r *Recovery) save(ctx context.Context, saved *int64) {
	mark := r.wm.Mark()
	r.cfg.Metrics.setWatermark(mark)
	if r.cfg.Store == nil || mark <= *saved || (r.cfg.MaySave != nil && !r.cfg.MaySave()) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.cfg.Store.Save(ctx, mark); err != nil {
		r.cfg.Logger.Warn("watermark not saved", "error", err, "watermark_ms", mark)
		return
	}
	*saved = mark
}

// pass runs while the feed is live: it ends the windows of the gaps the feed has been
// back for at now, then pages through every pending stretch with a known end, oldest
// first, and closes each gap once its window is complete. The next page of a window is
// asked for while the current one is published.
func (r *Recovery) pass(ctx context.Context) error {
	r.endWindows(time.Now())
	ctx, cancel := context.WithCancel(ctx)
	var next *ahead
	defer func() { cancel(); next.wait() }()
	for ctx.Err() == nil {
		pg := r.pager()
		if pg == nil {
			break
		}
		var err error
		if next, err = r.page(ctx, pg, next); err != nil {
			return err
		}
		if err := r.closeGaps(ctx); err != nil {
			return err
		}
	}
	return r.closeGaps(ctx) // gaps whose windows were all fetched before they opened
}

// endWindows fixes the end of every gap whose losses all came before the last Recover
// (the server has registered the subscription by now); a gap opened since keeps its
// window open. Nothing older than MaxAge is fetched.
func (r *Recovery) endWindows(now time.Time) {
	end, floor := now.UnixMilli(), now.Add(-r.cfg.MaxAge).UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	stillOpen := false
	for _, g := range r.gaps {
		if g.end == 0 && g.lastLoss.Before(r.kickAt) {
			g.end = end
		}
		stillOpen = stillOpen || g.end == 0
		g.truncated = g.truncated || r.from(g.Start) < floor
	}
	old := span{math.MinInt64, floor - 1}
	r.done = r.done.sub(old)
	r.todo = r.todo.sub(old)
	if !stillOpen {
		r.todo = r.todo.end(end)
	}
	r.holdLocked()
}

// pager returns the pager of the pending window to fetch next, widened over the pending
// stretch it belongs to where the cursor allows; nil when nothing can be fetched now.
func (r *Recovery) pager() *pager {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pg != nil {
		c, ok := r.todo.containing(r.pg.win)
		switch {
		case !ok || r.pg.win.empty():
			r.pg = nil
		case c.hi != openEnd:
			r.pg.extend(c)
		}
	}
	if r.pg == nil {
		if w, ok := r.todo.first(); ok {
			r.pg = newPager(w)
		}
	}
	return r.pg
}

// page fetches (or takes from prev, asked ahead), publishes and commits one page of pg,
// and returns the next page asked ahead (nil at the end of the window).
func (r *Recovery) page(ctx context.Context, pg *pager, prev *ahead) (*ahead, error) {
	q := pg.query()
	recs, err := r.fetch(ctx, q, prev)
	if err != nil {
		return nil, fmt.Errorf("backfill %s..%s: %w", msTime(q.after), msTime(q.before), err)
	}
	pl := pg.read(recs, r.order, r.cursorOK)
	var next *ahead
	if !pl.finished {
		next = r.ask(ctx, pg.queryAfter(pl))
	}
	fresh, err := r.publishAll(ctx, pl.fresh)
	if err != nil {
		return next, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	pg.commit(pl)
	if pl.order != orderUnknown {
		r.order = pl.order
	}
	r.cursorOK = r.cursorOK || pl.honoured
	r.todo = r.todo.sub(pl.done)
	r.done = r.done.add(pl.done)
	r.credit(fresh)
	r.holdLocked()
	r.cfg.Logger.Debug("backfill page", "after_ms", q.after, "before_ms", q.before, "cursor_ms", q.lastTs,
		"alerts", len(recs), "new", len(pl.fresh), "published", len(fresh), "window_done", pl.finished)
	return next, nil
}

// credit counts the alerts published by backfill (their timestamps) against the first
// open gap whose window holds each.
func (r *Recovery) credit(published []int64) {
	r.backfilled += int64(len(published))
	for _, ts := range published {
		for _, g := range r.gaps {
			if ts >= r.from(g.Start) && (g.end == 0 || ts <= g.end) {
				g.alerts++
				break
			}
		}
	}
}

// closeGaps publishes the record of every gap whose window is complete, oldest first.
func (r *Recovery) closeGaps(ctx context.Context) error {
	for {
		g := r.completeGap()
		if g == nil {
			return nil
		}
		if err := r.record(ctx, g); err != nil {
			return err
		}
		r.mu.Lock()
		for i := range r.gaps {
			if r.gaps[i] == g {
				r.gaps = append(r.gaps[:i:i], r.gaps[i+1:]...)
				break
			}
		}
		r.closed++
		if len(r.gaps) == 0 {
			r.cfg.Metrics.closedGap()
		}
		r.holdLocked()
		r.mu.Unlock()
		r.cfg.Logger.Info("gap closed", "cause", strings.Join(g.Causes, ","), "gap_start", g.Start,
			"gap_ms", g.end-g.Start.UnixMilli(), "alerts_recovered", g.alerts, "truncated", g.truncated)
	}
}

// completeGap returns the first open gap whose window is known and fetched, or nil.
func (r *Recovery) completeGap() *gap {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.gaps {
		if g.end != 0 && !r.todo.overlaps(span{r.from(g.Start), g.end}) {
			return g
		}
	}
	return nil
}

func (r *Recovery) failed() {
	r.cfg.Metrics.failed()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.gaps {
		g.Retries++
	}
}

func (r *Recovery) record(ctx context.Context, g *gap) error {
	data := v1.GapData{
		Instance: r.cfg.Instance, StartMs: g.Start.UnixMilli(), EndMs: g.end, Cause: strings.Join(g.Causes, ","),
		AlertsRecovered: g.alerts, NonAlertEventsMayBeMissed: g.NonAlertsMayBeMissed,
	}
	if g.truncated {
		data.BackfillError = fmt.Sprintf("backfill limited to BRIDGE_BACKFILL_MAX_AGE (%s)", r.cfg.MaxAge)
	}
	ev, err := event.BuildGap(r.cfg.Org, data)
	if err != nil {
		return err
	}
	ev.Fence = r.cfg.Fence
	if _, err := r.pub.PublishDup(ctx, ev); err != nil {
		return fmt.Errorf("publish gap record: %w", err)
	}
	return nil
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano) }
