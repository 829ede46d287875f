package app

import (
	"context"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// Kafka keeps no duplicate window as JetStream does, so before this process writes what
// another may have written already, every Kafka sink reads the ids on its topic for the
// window about to be written and skips them (kafka.Sink.Preload): at the start of a term
// (the backfill window: the gap's start minus BRIDGE_BACKFILL_OVERLAP) and when the spool
// hands back the first event an earlier process spooled (it may have been delivered just
// before that process died). Publishes wait for the read; the subscription does not.

// kafkaTermStart runs before the term's backfill and subscription.
func (a *App) kafkaTermStart(leaderCtx context.Context, rec *pipeline.Recovery) {
	g := rec.OpenGap()
	if g == nil { // no shared watermark: nothing is backfilled
		return
	}
	since := g.Start.Add(-a.cfg.Bridge.BackfillOverlap)
	if floor := time.Now().Add(-a.cfg.Bridge.BackfillMaxAge); since.Before(floor) {
		since = floor
	}
	a.preloadKafka(leaderCtx, since)
}

// kafkaReplayed is told of every spooled event as the spool hands it back: the first one
// an earlier process spooled starts a Preload from the time it was received (the spool
// hands events back in arrival order).
func (a *App) kafkaReplayed(ev event.Event) {
	if ev.Received.Before(a.started) {
		a.replaySeen.Do(func() { a.preloadKafka(a.runCtx, ev.Received) })
	}
}

func (a *App) preloadKafka(ctx context.Context, since time.Time) {
	for _, s := range a.sinkList {
		if k, ok := s.(*kafka.Sink); ok {
			k.Preload(ctx, since) // it logs its outcome
		}
	}
}
