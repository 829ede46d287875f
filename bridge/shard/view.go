package shard

import (
	"maps"
	"slices"
	"time"
)

// Leading lists the orgs this replica leads, sorted.
func (m *Manager) Leading() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for org, s := range m.slots {
		if s.leading {
			out = append(out, org)
		}
	}
	slices.Sort(out)
	return out
}

// Map is the shard map as this replica sees it: every listed org → the replica holding
// its lease ("" while nobody does).
func (m *Manager) Map() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cfg.Assigner != nil {
		return m.cfg.Assigner.Holders(slices.Collect(maps.Keys(m.units)))
	}
	out := make(map[string]string, len(m.units))
	for org := range m.units {
		out[org] = m.holders[org]
		if s := m.slots[org]; s != nil && s.leading {
			out[org] = m.cfg.Instance
		}
	}
	return out
}

// Replicas lists the live replicas as this replica sees them, sorted.
func (m *Manager) Replicas() []string {
	if m.cfg.Assigner != nil {
		return m.cfg.Assigner.Replicas()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.liveLocked(time.Now())
}
