package shard

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Unit is one org's leadership as the app runs it.
type Unit interface {
	// Campaign campaigns for the org's lease until ctx ends and leads while it holds it,
	// calling leading(true) when a term starts and leading(false) when it ends. It returns
	// once the lease is released (after a polite drain when ctx ended).
	Campaign(ctx context.Context, leading func(bool))
}

// Config is one replica's view of the shard.
type Config struct {
	Instance string
	TTL      time.Duration // the lease TTL; presence keys expire after it too
	// Lease is the lease bucket and LeaseKey the key of an org's lease in it. Nil: no
	// coordination (BRIDGE_LEASE=none), this replica leads every org.
	Lease    jetstream.KeyValue
	LeaseKey func(org string) string
	// Presence is the bucket of live replicas and PresencePrefix this deployment's key
	// prefix in it (see OpenPresence, PresenceKey).
	Presence       jetstream.KeyValue
	PresencePrefix string
	// Assigner, when set, is a coordinator that assigns the orgs itself (the Kafka shard
	// group): this replica campaigns for exactly the orgs it wants. Lease must be nil.
	Assigner   Assigner
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
}

const (
	tick          = 200 * time.Millisecond
	attemptWindow = 50 * time.Millisecond // an attempt on an org another replica won is withdrawn after it
	cooldown      = 3 * time.Second       // an org given up is not campaigned for again before it
)

// Manager runs the campaigns of the orgs this replica should lead.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	m    *metrics
	wake chan struct{}

	mu        sync.Mutex
	units     map[string]Unit
	keyOrg    map[string]string    // lease key → org
	holders   map[string]string    // org → holder, from the lease bucket
	live      map[string]time.Time // replica → last seen (local clock)
	slots     map[string]*slot
	gaveUp    map[string]time.Time // org → when this replica gave it up
	synced    bool                 // the lease bucket's initial values were seen
	releasing string               // the org being given up to rebalance ("": none)
	wg        sync.WaitGroup
}

// slot is one org's campaign on this replica.
type slot struct {
	unit     Unit
	cancel   context.CancelFunc
	done     chan struct{}
	since    time.Time
	leading  bool
	stopping bool
}

// New validates cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Instance == "" || cfg.TTL <= 0 {
		return nil, errors.New("shard: instance and ttl are required")
	}
	if cfg.Lease != nil && (cfg.LeaseKey == nil || cfg.Presence == nil) {
		return nil, errors.New("shard: a lease bucket needs LeaseKey and a presence bucket")
	}
	if cfg.Lease != nil && cfg.Assigner != nil {
		return nil, errors.New("shard: a lease bucket and an assigner exclude each other")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Manager{cfg: cfg, log: cfg.Logger.With("component", "shard"), m: m, wake: make(chan struct{}, 1),
		units: map[string]Unit{}, keyOrg: map[string]string{}, holders: map[string]string{},
		live: map[string]time.Time{}, slots: map[string]*slot{}, gaveUp: map[string]time.Time{}}, nil
}

// SetUnits replaces the orgs to serve (org uuid → its unit). Orgs no longer listed, or
// listed with another unit, are given up at once; new ones are campaigned for within a
// tick. It returns, for every org whose campaign is being ended, a channel closed once
// that campaign has returned.
func (m *Manager) SetUnits(units map[string]Unit) map[string]<-chan struct{} {
	m.mu.Lock()
	ended := map[string]<-chan struct{}{}
	for org, s := range m.slots {
		if units[org] != s.unit {
			ended[org] = s.done
			m.stopLocked(org, s, "removed from the org list")
		}
	}
	m.units = maps.Clone(units)
	if m.cfg.Assigner != nil {
		m.cfg.Assigner.SetOrgs(slices.Collect(maps.Keys(units)))
	}
	m.keyOrg = make(map[string]string, len(units))
	for org := range units {
		if m.cfg.LeaseKey != nil {
			m.keyOrg[m.cfg.LeaseKey(org)] = org
		}
	}
	m.mu.Unlock()
	m.poke()
	return ended
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run campaigns until ctx ends, then ends every term politely and waits for them.
func (m *Manager) Run(ctx context.Context) error {
	if m.cfg.Lease != nil {
		if err := m.watch(ctx); err != nil {
			return err
		}
	}
	if m.cfg.Assigner != nil {
		stop := m.runAssigner()
		defer stop()
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.stopAll()
			return nil
		case <-m.wake:
		case <-t.C:
		}
		m.reconcile(time.Now())
	}
}

// stopAll ends every campaign and waits for the watchers and the campaigns.
func (m *Manager) stopAll() {
	m.mu.Lock()
	for org, s := range m.slots {
		m.stopLocked(org, s, "shutdown")
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// reconcile withdraws what should not run, gives up one org when this replica leads more
// than the share + 1 (the contract's bound; the slack spares a move for every small change
// of the org list) and campaigns for free orgs below the share.
func (m *Manager) reconcile(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.Assigner != nil {
		m.reconcileAssigned(now)
		return
	}
	for org, s := range m.slots {
		switch {
		case s.stopping:
		case m.units[org] != s.unit:
			m.stopLocked(org, s, "removed from the org list")
		case !s.leading && now.Sub(s.since) > attemptWindow && m.heldByOther(org):
			m.stopLocked(org, s, "held by another replica")
		}
	}
	if m.cfg.Lease != nil && !m.synced {
		return
	}
	share := m.shareLocked(now)
	held, attempting, leading := m.countsLocked()
	m.m.set(leading, len(m.liveLocked(now)), share)
	if leading > share+1 && m.releasing == "" {
		m.giveUpLocked(now)
	}
	if held+attempting >= share {
		return // the common case once settled: no need to rank the free orgs
	}
	for _, org := range m.candidatesLocked(now) {
		if held+attempting >= share {
			break
		}
		m.startLocked(org, now)
		attempting++
	}
}

func (m *Manager) heldByOther(org string) bool {
	h := m.holders[org]
	return h != "" && h != m.cfg.Instance
}

// shareLocked is this replica's fair share now.
func (m *Manager) shareLocked(now time.Time) int {
	if m.cfg.Lease == nil {
		return len(m.units)
	}
	return FairShare(len(m.units), len(m.liveLocked(now)))
}

// countsLocked: held counts every term still holding a lease (also while it ends),
// attempting the campaigns not leading yet, leading the terms not ending.
func (m *Manager) countsLocked() (held, attempting, leading int) {
	for _, s := range m.slots {
		switch {
		case s.leading && !s.stopping:
			held++
			leading++
		case s.leading:
			held++
		case !s.stopping:
			attempting++
		}
	}
	return held, attempting, leading
}

// giveUpLocked ends the term of the led org that ranks lowest for this replica.
func (m *Manager) giveUpLocked(now time.Time) {
	var mine []string
	for org, s := range m.slots {
		if s.leading && !s.stopping {
			mine = append(mine, org)
		}
	}
	if len(mine) == 0 {
		return
	}
	org := rank(m.cfg.Instance, mine)[len(mine)-1]
	m.releasing = org
	m.gaveUp[org] = now
	m.m.handoffs.Inc()
	m.stopLocked(org, m.slots[org], "above the fair share")
}

// candidatesLocked are the listed orgs nobody holds and this replica does not campaign
// for, best first.
func (m *Manager) candidatesLocked(now time.Time) []string {
	var free []string
	for org := range m.units {
		if m.slots[org] != nil || m.heldByOther(org) {
			continue
		}
		if t, ok := m.gaveUp[org]; ok {
			if now.Sub(t) < cooldown {
				continue
			}
			delete(m.gaveUp, org)
		}
		free = append(free, org)
	}
	return rank(m.cfg.Instance, free)
}

// startLocked campaigns for org.
func (m *Manager) startLocked(org string, now time.Time) {
	u := m.units[org]
	ctx, cancel := context.WithCancel(context.Background())
	s := &slot{unit: u, cancel: cancel, done: make(chan struct{}), since: now}
	m.slots[org] = s
	m.wg.Go(func() {
		defer close(s.done)
		u.Campaign(ctx, func(on bool) { m.leading(org, s, on) })
		m.mu.Lock()
		if m.slots[org] == s {
			delete(m.slots, org)
		}
		if m.releasing == org {
			m.releasing = ""
		}
		m.mu.Unlock()
		cancel()
		m.poke()
	})
}

func (m *Manager) leading(org string, s *slot, on bool) {
	m.mu.Lock()
	s.leading = on
	if on {
		m.holders[org] = m.cfg.Instance
	}
	m.mu.Unlock()
	if on {
		m.log.Info("leading org", "org_uuid", org)
	}
	m.poke()
}

func (m *Manager) stopLocked(org string, s *slot, why string) {
	if s.stopping {
		return
	}
	s.stopping = true
	if s.leading {
		m.log.Info("giving up org", "org_uuid", org, "reason", why)
	}
	s.cancel()
}
