package app

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/orgs"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
)

// Per-org sizes in partner mode: a replica may serve hundreds of orgs, each with its own
// pipeline, so each gets a small window (a few ev/s per org fit many times over); the
// shared broker connection and fan-out sink carry the volume.
const (
	orgQueue = 256 // live events waiting for a lane (a minute at 4 ev/s; beyond it a gap that backfill closes)
	orgLanes = 4   // concurrent deliveries per org
	orgDedup = 512 // acknowledged ids remembered per org (the broker's duplicate window is the guarantee)
)

// orgUnit is one organisation of partner mode: a child App reusing the single-org parts
// (REST client with its own budget, subscriber, pipeline, gap recovery, watermark store,
// lease term and fence) under that org's uuid, key and lease. Its metrics live in their
// own registry, exported with an org label.
type orgUnit struct {
	*App
	key       string // the org's own API key ("": the partner token)
	stop      context.CancelFunc
	pipeDone  chan struct{}
	campaigns int // terms started (Campaign runs on one goroutine at a time)
}

// unitConfig is the configuration of one org: its uuid, and its own key (scheme
// api-token) or the partner token with x-auth-org.
func unitConfig(c config.Config, o orgs.Org) config.Config {
	r := &c.Rhombus
	r.OrgUUID, r.Orgs, r.OrgsFile = o.UUID, nil, ""
	switch {
	case o.APIKey != "":
		r.APIKey, r.AuthScheme, r.PartnerOrgUUID = o.APIKey, "api-token", ""
	case r.AuthScheme == "partner-api-token":
		r.PartnerOrgUUID = o.UUID
	}
	c.Bridge.SpoolMaxBytes = 0 // no per-org spool: the in-memory window and backfill cover an outage
	c.Bridge.BufferEvents = min(c.Bridge.BufferEvents, orgQueue)
	return c
}

// newUnit builds org's unit, its REST calls within its key's budget, and starts its
// pipeline; it does not campaign yet.
func (a *App) newUnit(ctx context.Context, o orgs.Org, budgets *credentialBudgets) (*orgUnit, error) {
	reg := prometheus.NewRegistry()
	cfg := unitConfig(a.cfg, o)
	u := &App{cfg: cfg, credential: budgets.of(cfg.Rhombus.APIKey), opt: Options{Version: a.opt.Version, Logger: a.opt.Logger, Registry: reg,
		OnAcked: a.opt.OnAcked}, log: a.log.With("org_uuid", o.UUID), reg: reg, nc: a.nc, natsURL: a.natsURL,
		sinkList: a.sinkList, kshard: a.kshard, started: a.started, wm: pipeline.NewWatermark(0), overflowed: make(chan struct{}, 1)}
	u.state.org = o.UUID
	if err := u.openRhombus(ctx); err != nil {
		return nil, fmt.Errorf("org %s: %w", o.UUID, err)
	}
	if err := u.prepareUnit(ctx); err != nil {
		return nil, fmt.Errorf("org %s: %w", o.UUID, err)
	}
	pctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	unit := &orgUnit{App: u, key: o.APIKey, stop: stop, pipeDone: make(chan struct{})}
	go func() { defer close(unit.pipeDone); _ = u.pipe.Run(pctx) }()
	go u.kickOverflow(pctx)
	return unit, nil
}

// prepareUnit is prepare without the spool, with the per-org sizes.
func (a *App) prepareUnit(ctx context.Context) error {
	return a.build(ctx, pipeline.Config{Queue: orgQueue, Lanes: orgLanes, DedupSize: orgDedup, MemberLag: orgQueue})
}

// Campaign is the org's leadership under its own lease (see shard.Unit): it leads (lead,
// as a single-org replica does) while it holds the lease, and ends politely when ctx
// ends: the feed disconnects, the pipeline delivers what it took, the lease is released.
func (u *orgUnit) Campaign(ctx context.Context, leading func(bool)) {
	u.runCtx = ctx
	if u.lease == nil {
		leading(true)
		defer leading(false)
		u.lead(ctx, 0, "startup")
		return
	}
	err := u.lease.Run(ctx, func(leaderCtx context.Context) {
		u.campaigns++
		cause := "failover"
		if u.campaigns == 1 {
			cause = "startup"
		}
		leading(true)
		defer leading(false)
		u.lead(leaderCtx, lease.Revision(leaderCtx), cause)
	})
	if err != nil && ctx.Err() == nil {
		u.log.Error("org lease failed", "error", err)
	}
}

// close stops the unit once its campaign has ended: the pipeline drains (bounded).
func (u *orgUnit) close() {
	u.stop()
	<-u.pipeDone
	if c, ok := u.store.(interface{ Close() }); ok {
		c.Close()
	}
}
