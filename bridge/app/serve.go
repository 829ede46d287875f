package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/recovery"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/watermark"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// serve runs the components until ctx ends, then stops them in order: inputs, pipeline,
// operations endpoints.
func (a *App) serve(ctx context.Context) error {
	if a.cfg.Rhombus.MultiOrg() {
		return a.serveMulti(ctx)
	}
	a.runCtx = ctx
	if err := webhook.RegisterMetrics(a.reg); err != nil { // every series at 0 from the start
		return fmt.Errorf("webhook metrics: %w", err)
	}
	opsSrv, err := ops.New(ops.Config{Addr: a.cfg.HTTP.Addr, Pprof: a.cfg.HTTP.Pprof, Status: a.status, Ready: a.ready,
		Gatherer: a.reg, Logger: a.log})
	if err != nil {
		return err
	}
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	var opsWG sync.WaitGroup
	opsWG.Go(func() { _ = opsSrv.Run(opsCtx) })
	defer func() { stopOps(); opsWG.Wait() }()

	if err := a.prepare(ctx); err != nil {
		return err
	}
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	pipeDone := make(chan struct{})
	go func() { defer close(pipeDone); _ = a.pipe.Run(pipeCtx) }()
	defer func() { stopPipe(); <-pipeDone }()

	var inputs sync.WaitGroup
	whAddr, err := a.startWebhook(ctx, &inputs)
	if err != nil {
		return err
	}
	if a.opt.OnReady != nil {
		a.opt.OnReady(Info{NATSURL: a.natsURL, OpsAddr: opsSrv.Addr(), WebhookAddr: whAddr, OrgUUID: a.org})
	}
	err = a.leadership(ctx)
	inputs.Wait()
	return err
}

// prepare discovers the org (retrying until ctx ends: a wrong key is reported, not
// fatal) and builds the pipeline, the feed subscriber and the recovery parts.
func (a *App) prepare(ctx context.Context) error {
	if err := a.openRhombus(ctx); err != nil {
		return err
	}
	if err := a.openSpool(); err != nil {
		return err
	}
	queue := a.cfg.Bridge.BufferEvents
	if a.spool != nil {
		queue = min(queue, spooledQueue) // the spool holds the backlog; memory needs only a window
	}
	return a.build(ctx, pipeline.Config{Queue: queue, MemberLag: a.cfg.Bridge.BufferEvents,
		Spool: a.spoolOrNil(), Restamp: a.restamp})
}

// build completes pc with what every pipeline of this App shares, and builds the pipeline,
// the recovery metrics, the lease and the watermark store (single-org and per-org alike).
func (a *App) build(ctx context.Context, pc pipeline.Config) error {
	pc.PublishTimeout, pc.DedupTTL, pc.DrainTimeout = a.cfg.Bridge.PublishTimeout, a.cfg.NATS.DuplicateWindow,
		a.cfg.Bridge.ShutdownTimeout
	pc.Filter, pc.Enrich, pc.OnOverflow = event.NewFilter(a.cfg.Rhombus.Entities), a.enrich, a.onOverflow
	pc.Watermark, pc.FenceValid, pc.OnAcked, pc.Logger, pc.Registerer = a.wm, a.fenceValid, a.opt.OnAcked, a.log, a.reg
	p, err := pipeline.New(pc, publishers(a.sinkList)...)
	if err != nil {
		return err
	}
	a.pipe = p
	if a.recMetrics, err = recovery.NewMetrics(a.reg, gapCauses()...); err != nil {
		return err
	}
	if a.cfg.Bridge.Lease != "none" {
		if a.lease, err = a.newLease(ctx); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
	}
	return a.openStore(ctx)
}

// spooledQueue bounds the in-memory queue when the spool holds the backlog: enough to keep
// every lane busy, small enough that memory stays flat during an outage.
const spooledQueue = 1024

// openStore picks where the watermark lives, readable by every replica: JetStream KV when
// NATS is there, else a compacted Kafka topic. A local file only serves a single replica
// (BRIDGE_LEASE=none without NATS): a standby could not read it.
func (a *App) openStore(ctx context.Context) error {
	if a.nc == nil && a.cfg.Bridge.Lease != "none" {
		st, err := a.openKafkaStore(ctx)
		if err != nil {
			return err
		}
		a.store = st
		return nil
	}
	if a.nc != nil {
		js, err := jetstream.New(a.nc)
		if err != nil {
			return err
		}
		st, err := watermark.NewKV(ctx, js, ScopedName("watermark", a.cfg.Bridge.Deployment, a.org), a.cfg.NATS.Replicas)
		if err != nil {
			return err
		}
		a.store = st
		return nil
	}
	st, err := watermark.NewFile(a.cfg.Bridge.DataDir, a.cfg.Bridge.Deployment, a.org)
	a.store = st
	return err
}

// openKafkaStore builds the Kafka watermark store from the configuration.
func (a *App) openKafkaStore(ctx context.Context) (*watermark.Kafka, error) {
	if len(a.cfg.Kafka.Brokers) == 0 {
		return nil, errors.New("watermark: a lease without NATS keeps the watermark in Kafka: KAFKA_BROKERS is required")
	}
	return watermark.NewKafka(ctx, watermark.KafkaConfig{Client: KafkaClientConfig(a.cfg.Kafka), Topic: a.cfg.Kafka.StateTopic,
		Key: ScopedName("watermark", a.cfg.Bridge.Deployment, a.org), Instance: a.cfg.Bridge.InstanceID, Logger: a.log})
}

// onOverflow turns a live event the full queue could not take into an open gap.
func (a *App) onOverflow(ev event.Event) {
	a.mu.Lock()
	rec := a.state.recovery
	a.mu.Unlock()
	if rec == nil {
		return
	}
	rec.OpenFor("overflow", ev)
	select { // kickOverflow backfills it once the queue has room
	case a.overflowed <- struct{}{}:
	default:
	}
}

// subscriber builds the Rhombus feed for org.
func (a *App) subscriber(org string) (*rhombus.Subscriber, error) {
	r := a.cfg.Rhombus
	return rhombus.NewSubscriber(rhombus.FeedConfig{WSURL: r.WSURL, APIKey: r.APIKey, AuthScheme: r.AuthScheme,
		PartnerOrg: r.PartnerOrgUUID, Org: org, Heartbeat: r.Heartbeat, Logger: a.log, Registerer: a.reg})
}
