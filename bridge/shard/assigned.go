package shard

import (
	"context"
	"sync"
	"time"
)

// Assigner is a coordinator that assigns every org to one replica itself (the Kafka
// shard group, see lease.KafkaShard): the broker's group assignment is the shard map, and
// each org's lease is held through it.
type Assigner interface {
	// Run keeps this replica in the coordination until ctx ends; changed is called
	// whenever the assignment changed.
	Run(ctx context.Context, changed func()) error
	// SetOrgs tells the coordinator the org list (it weighs the assignment by it).
	SetOrgs(orgs []string)
	// Wants reports whether this replica should lead org now.
	Wants(org string) bool
	// Holders maps every org to the replica assigned it ("": none).
	Holders(orgs []string) map[string]string
	// Replicas lists the replicas taking part, sorted.
	Replicas() []string
}

// runAssigner runs the assigner until the returned func is called, which waits for it.
// The manager calls it after stopAll: the org terms are renewed through the assigner's
// membership until they have ended.
func (m *Manager) runAssigner() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.cfg.Assigner.Run(ctx, m.poke); err != nil && ctx.Err() == nil {
			m.log.Error("shard coordination ended", "error", err)
		}
	})
	return func() { cancel(); wg.Wait() }
}

// reconcileAssigned campaigns for exactly the listed orgs the assigner gives this
// replica; the others' terms end politely (drained under their lease), which lets the
// assigner hand their slot over.
func (m *Manager) reconcileAssigned(time.Time) {
	a := m.cfg.Assigner
	for org, s := range m.slots {
		switch {
		case s.stopping:
		case m.units[org] != s.unit:
			m.stopLocked(org, s, "removed from the org list")
		case !a.Wants(org):
			if s.leading {
				m.m.handoffs.Inc()
			}
			m.stopLocked(org, s, "assigned elsewhere")
		}
	}
	for org := range m.units {
		if m.slots[org] == nil && a.Wants(org) {
			m.startLocked(org, time.Now())
		}
	}
	_, _, leading := m.countsLocked()
	replicas := len(a.Replicas())
	m.m.set(leading, replicas, FairShare(len(m.units), replicas))
}
