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
