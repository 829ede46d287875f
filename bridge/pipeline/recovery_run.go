package pipeline

import (
	"context"
	"fmt"
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
// 1 min) while the gap stays open and the watermark stays held.
func (r *Recovery) Run(ctx context.Context) error {
	tick := time.NewTicker(SaveEvery)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
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
		case <-retry.C:
		}
		if err := r.closeGap(ctx); err != nil && ctx.Err() == nil {
			d := b.Next()
			r.cfg.Logger.Warn("backfill failed; gap stays open", "error", err, "retry_in", d.String())
			retry.Reset(d)
		} else {
			b.Reset()
		}
	}
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

// closeGap backfills the open gap, publishes its record and releases the watermark.
func (r *Recovery) closeGap(ctx context.Context) error {
	r.mu.Lock()
	if r.open == nil || (r.cfg.Live != nil && !r.cfg.Live()) {
		r.mu.Unlock()
		return nil // nothing to do, or the feed is down: Recover comes when it is back
	}
	g, gen := *r.open, r.gen
	r.mu.Unlock()

	if err := backoff.Sleep(ctx, r.cfg.Settle); err != nil {
		return err
	}
	end := time.Now()
	after := g.Start.Add(-r.cfg.Overlap)
	truncated := false
	if floor := end.Add(-r.cfg.MaxAge); after.Before(floor) {
		after, truncated = floor, true
	}
	n, err := r.backfill(ctx, after, end)
	if err != nil {
		r.cfg.Metrics.failed()
		return err
	}
	cause := strings.Join(g.Causes, ",")
	if err := r.record(ctx, g, end, cause, n, truncated); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed++
	r.backfilled += int64(n)
	if r.gen == gen { // nothing new opened meanwhile
		r.open = nil
		r.wm.Release()
		r.cfg.Metrics.closedGap()
	}
	r.cfg.Logger.Info("gap closed", "cause", cause, "gap_start", g.Start, "gap_ms", end.Sub(g.Start).Milliseconds(),
		"alerts_recovered", n, "truncated", truncated)
	return nil
}

// backfill publishes the alerts of [after, before] and returns how many were new to this
// process (the others were acknowledged recently and cost nothing).
func (r *Recovery) backfill(ctx context.Context, after, before time.Time) (int, error) {
	evs, err := r.cfg.Source(ctx, after, before)
	if err != nil {
		return 0, fmt.Errorf("backfill %s..%s: %w", after.Format(time.RFC3339), before.Format(time.RFC3339), err)
	}
	n := 0
	for _, ev := range evs {
		ev.Fence = r.cfg.Fence
		dup, err := r.p.publish(ctx, ev)
		if err != nil {
			return n, fmt.Errorf("backfill publish: %w", err)
		}
		if !dup {
			n++
		}
	}
	r.cfg.Metrics.recovered(n)
	return n, nil
}

func (r *Recovery) record(ctx context.Context, g Gap, end time.Time, cause string, n int, truncated bool) error {
	data := v1.GapData{
		Instance: r.cfg.Instance, StartMs: g.Start.UnixMilli(), EndMs: end.UnixMilli(), Cause: cause,
		AlertsRecovered: n, NonAlertEventsMayBeMissed: g.NonAlertsMayBeMissed,
	}
	if truncated {
		data.BackfillError = fmt.Sprintf("backfill limited to BRIDGE_BACKFILL_MAX_AGE (%s)", r.cfg.MaxAge)
	}
	ev, err := event.BuildGap(r.cfg.Org, data)
	if err != nil {
		return err
	}
	ev.Fence = r.cfg.Fence
	if _, err := r.p.publish(ctx, ev); err != nil {
		return fmt.Errorf("publish gap record: %w", err)
	}
	return nil
}
