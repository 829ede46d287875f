package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// Kafka keeps no duplicate window as JetStream does, so before this process writes what
// another may have written already, every Kafka sink reads the ids on its topic for the
// window about to be written and skips them (kafka.Sink.Preload): before every backfill
// publishes (from the start of its window, once REST has answered, so that what a
// restarted replica replayed meanwhile is seen too), and when the spool hands back the
// first event an earlier process spooled (it may have been delivered just before that
// process died). Publishes wait for the read; the subscription does not.

// kafkaSeenSource wraps the backfill's source: the alerts of a page are published only
// after the ids on the Kafka topics since the window's start have been read. The pages of
// one window share its start, so the topic is read once per window.
func (a *App) kafkaSeenSource(src recovery.AlertSource) recovery.AlertSource {
	var read atomic.Int64 // the window start last read from (Unix ms); 0: none yet
	return func(ctx context.Context, afterMs, beforeMs, lastTs int64, lastUUID string) ([]event.Event, error) {
		evs, err := src(ctx, afterMs, beforeMs, lastTs, lastUUID)
		if err != nil || len(evs) == 0 || read.Swap(afterMs) == afterMs {
			return evs, err
		}
		for _, done := range a.preloadKafka(ctx, time.UnixMilli(afterMs)) {
			select {
			case <-done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return evs, nil
	}
}

// kafkaReplayed is told of every spooled event as the spool hands it back: the first one
// an earlier process spooled starts a Preload from the time it was received (the spool
// hands events back in arrival order).
func (a *App) kafkaReplayed(ev event.Event) {
	if ev.Received.Before(a.started) {
		a.replaySeen.Do(func() { a.preloadKafka(a.runCtx, ev.Received) })
	}
}

// preloadKafka starts a Preload on every Kafka sink (each logs its outcome).
func (a *App) preloadKafka(ctx context.Context, since time.Time) []<-chan kafka.PreloadResult {
	var out []<-chan kafka.PreloadResult
	for _, s := range a.sinkList {
		if k, ok := s.(*kafka.Sink); ok {
			out = append(out, k.Preload(ctx, since))
		}
	}
	return out
}

// kafkaSendGuard is asked before every write on the Kafka writer's connections: while
// this process still carries the revision of a term whose lease its clock says has ended
// (a leader thawed after SIGSTOP, or cut off from the lease store, before it handed over),
// nothing is sent, so a write that waited during the freeze does not land after the
// successor's copy. Events of the ended term are fenced and become the successor's gap;
// others (webhooks) are retried once the hand-over cleared the revision (settleGuarded
// makes sure no write queued before that goes out after it).
func (a *App) kafkaSendGuard() error {
	if f := a.fence.Load(); !a.fenceValid(f) {
		return fmt.Errorf("the lease term %d of this replica has ended", f)
	}
	return nil
}

// settleGuarded runs when a term ends other than by shutdown, before the fence is
// cleared: it waits, bounded by the publish timeout, until the Kafka writes under way
// have ended. The send guard refuses them meanwhile, so a write a frozen leader had
// queued fails here on the thaw; without the wait it could reach a connection just after
// the hand-over let writes through again and land after the successor's copy.
func (a *App) settleGuarded() {
	if len(a.guarded) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Bridge.PublishTimeout)
	defer cancel()
	began := time.Now()
	for _, k := range a.guarded {
		if err := k.Settle(ctx); err != nil {
			a.log.Warn("Kafka writes of the ended term still under way; handing over anyway (a duplicate is possible)",
				"sink", k.Name(), "error", err)
		}
	}
	a.log.Info("Kafka writes of the ended term settled", "took_ms", time.Since(began).Milliseconds())
}
