package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/ops"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/orgs"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/shard"
)

// fleet is partner mode's state: the org units and the shard that decides which of them
// this replica leads.
type fleet struct {
	a     *App
	shard *shard.Manager
	hooks *orgHooks

	mu      sync.Mutex
	units   map[string]*orgUnit
	budgets *credentialBudgets
	last    orgs.Set       // the org list last applied
	wg      sync.WaitGroup // units being closed
}

// serveMulti is serve for many organisations (RHOMBUS_ORGS, RHOMBUS_ORGS_FILE): one
// unit per org, led where the shard says, the org list followed as its file changes.
func (a *App) serveMulti(ctx context.Context) error {
	a.runCtx = ctx
	f := &fleet{a: a, units: map[string]*orgUnit{}, hooks: newOrgHooks(),
		budgets: newCredentialBudgets(a.cfg.Rhombus.CredentialRate)}
	src := orgs.NewSource(a.cfg.Rhombus, a.cfg.Webhook.SecretsFile, 0, a.log)
	set, err := src.Load()
	if err != nil {
		return err
	}
	if f.shard, err = a.newShard(ctx); err != nil {
		return fmt.Errorf("shard: %w", err)
	}
	opsAddr, stopOps, err := a.startOrgOps(f)
	if err != nil {
		return err
	}
	defer stopOps()
	f.apply(ctx, set)
	defer f.closeAll()

	var inputs sync.WaitGroup
	whAddr, err := a.startOrgWebhooks(ctx, f, &inputs)
	if err != nil {
		return err
	}
	inputs.Go(func() { _ = src.Run(ctx, func(s orgs.Set) { f.apply(ctx, s) }) })
	inputs.Go(func() { f.retry(ctx) })
	if a.opt.OnReady != nil {
		a.opt.OnReady(Info{NATSURL: a.natsURL, OpsAddr: opsAddr, WebhookAddr: whAddr})
	}
	a.log.Info("serving many organisations", "orgs", len(set), "lease", a.cfg.Bridge.Lease)
	err = f.shard.Run(ctx)
	inputs.Wait()
	return err
}

// startOrgOps serves the operations endpoints of partner mode; stop ends them.
func (a *App) startOrgOps(f *fleet) (addr string, stop func(), err error) {
	srv, err := ops.New(ops.Config{Addr: a.cfg.HTTP.Addr, Pprof: a.cfg.HTTP.Pprof, Status: f.status,
		Ready: f.ready, Gatherer: f, Logger: a.log})
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Run(ctx) })
	return srv.Addr(), func() { cancel(); wg.Wait() }, nil
}

// newShard builds the shard over the lease bucket and the presence bucket (NATS lease),
// over the shard group (Kafka lease), or without coordination (BRIDGE_LEASE=none: this
// replica leads every org).
func (a *App) newShard(ctx context.Context) (*shard.Manager, error) {
	cfg := shard.Config{Instance: a.cfg.Bridge.InstanceID, TTL: a.cfg.Bridge.LeaseTTL, Logger: a.log, Registerer: a.reg}
	if a.cfg.Bridge.Lease == "kafka" {
		ks, err := a.kafkaShard()
		if err != nil {
			return nil, err
		}
		a.kshard, cfg.Assigner = ks, ks
	}
	if a.cfg.Bridge.Lease == "nats" {
		js, err := jetstream.New(a.nc)
		if err != nil {
			return nil, err
		}
		if cfg.Lease, err = a.leaseBucket(ctx, js); err != nil {
			return nil, err
		}
		if cfg.Presence, err = shard.OpenPresence(ctx, js, a.cfg.Bridge.LeaseTTL, a.cfg.NATS.Replicas); err != nil {
			return nil, err
		}
		dep := a.cfg.Bridge.Deployment
		cfg.LeaseKey, cfg.PresencePrefix = func(org string) string { return OrgLeaseKey(dep, org) }, shard.PresenceKey(dep)
	}
	return shard.New(cfg)
}

// OrgLeaseKey is an org's key in LeaseBucket for deployment (as newLease names it).
func OrgLeaseKey(deployment, org string) string { return ScopedName("leader", deployment, org) }

// leaseBucket creates the lease bucket as the lease itself does and opens it for watching.
func (a *App) leaseBucket(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	b, err := lease.NewNATS(js, lease.NATSConfig{Bucket: LeaseBucket, Key: "shard", Replicas: a.cfg.NATS.Replicas})
	if err != nil {
		return nil, err
	}
	if err := b.Prepare(ctx, a.cfg.Bridge.InstanceID, a.cfg.Bridge.LeaseTTL); err != nil {
		return nil, err
	}
	return js.KeyValue(ctx, LeaseBucket)
}

// apply makes the units match set: new orgs get a unit, removed ones are given up (their
// unit closes once its term has ended), an org whose key changed is rebuilt.
func (f *fleet) apply(ctx context.Context, set orgs.Set) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	f.last = set
	retired := map[string]*orgUnit{}
	for org, u := range f.units {
		if o, ok := set.Find(org); !ok || o.APIKey != u.key {
			retired[org] = u
			delete(f.units, org)
		}
	}
	for _, o := range set {
		if f.units[o.UUID] != nil {
			continue
		}
		u, err := f.a.newUnit(ctx, o, f.budgets)
		if err != nil {
			f.a.log.Error("cannot serve org yet; retrying", "org_uuid", o.UUID, "error", err, "retry_in", unitRetry.String())
			continue
		}
		f.units[o.UUID] = u
	}
	f.budgets.keep(f.units)
	units := make(map[string]shard.Unit, len(f.units))
	for org, u := range f.units {
		units[org] = u
	}
	ended := f.shard.SetUnits(units)
	f.hooks.set(set, f.units)
	for org, u := range retired {
		idle := ended[org]
		f.wg.Go(func() {
			if idle != nil {
				<-idle // its term ends politely first
			}
			u.close()
		})
	}
}

// retry builds, every few seconds, the units that failed to build (the broker was away,
// say) until ctx ends.
func (f *fleet) retry(ctx context.Context) {
	t := time.NewTicker(unitRetry)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f.mu.Lock()
		missing, set := len(f.units) < len(f.last), f.last
		f.mu.Unlock()
		if missing {
			f.apply(ctx, set)
		}
	}
}

// unitRetry is how often units that failed to build are tried again.
const unitRetry = 5 * time.Second

// closeAll closes every unit once the shard has ended every campaign, and waits for
// those being retired.
func (f *fleet) closeAll() {
	f.mu.Lock()
	for org, u := range f.units {
		delete(f.units, org)
		f.wg.Go(u.close)
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// unitList is a snapshot of the units.
func (f *fleet) unitList() map[string]*orgUnit {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]*orgUnit, len(f.units))
	for k, v := range f.units {
		out[k] = v
	}
	return out
}
