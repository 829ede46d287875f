package shard

import "time"

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
