package lease

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Org is org's lease within the shard (a Backend for New): Acquire returns once this
// replica owns the org's slot in a generation; Renew succeeds while it still owns it and
// the coordinator answered a heartbeat sent after the renewal began (so the term's
// deadline, counted from the renewal, never outlives the group session); Release lets the
// slot go once its last org term ended, when it is being handed over. The fencing token
// is the generation of the term's start in the high bits and a per-replica count in the
// low bits, so it grows across replicas and across terms of one replica.
func (s *KafkaShard) Org(org string) Backend {
	return &slotLease{s: s, slot: SlotOf(org, s.cfg.Slots)}
}

type slotLease struct {
	s       *KafkaShard
	slot    int
	holding bool
}

func (l *slotLease) Prepare(context.Context, string, time.Duration) error { return nil }

// renewInterval leaves a renewal time for the next heartbeat to be answered.
func (l *slotLease) renewInterval(ttl time.Duration) time.Duration {
	return max(ttl/6, 2*l.s.k.renewInterval(ttl))
}

func (l *slotLease) Acquire(ctx context.Context) (Term, error) {
	s := l.s
	for {
		s.mu.Lock()
		ok := s.member && s.wantsLocked(l.slot)
		var t Term
		if ok {
			s.held[l.slot]++
			s.seq++
			l.holding = true
			t = Term{Token: uint64(s.gen)<<20 | s.seq&(1<<20-1), Since: s.beat}
		}
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return t, nil
		}
		select {
		case <-ctx.Done():
			return Term{}, ctx.Err()
		case <-ch:
		}
	}
}

func (l *slotLease) Renew(ctx context.Context) error {
	s, start := l.s, time.Now()
	for {
		s.mu.Lock()
		owned, beat, ch := s.ownsLocked(l.slot), s.beat, s.changed
		s.mu.Unlock()
		if !owned {
			return fmt.Errorf("%w: slot %d is no longer assigned to this replica", ErrLost, l.slot)
		}
		if !beat.Before(start) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errNoBeat, ctx.Err())
		case <-ch:
		}
	}
}

func (l *slotLease) Release(context.Context) error {
	if !l.holding {
		return nil
	}
	l.holding = false
	s := l.s
	s.mu.Lock()
	s.held[l.slot]--
	if s.held[l.slot] <= 0 {
		delete(s.held, l.slot)
	}
	last := s.held[l.slot] == 0 && s.view.Release == l.slot
	s.mu.Unlock()
	if last {
		s.poke() // the slot handed over has no term left: rejoin without it
	}
	return nil
}

func (l *slotLease) Close(ctx context.Context) error { return l.Release(ctx) }

func (l *slotLease) Holder() string {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.s.holderLocked(l.slot)
}

// ownsLocked: the latest shard map gives slot to this replica (also while it hands it over).
func (s *KafkaShard) ownsLocked(slot int) bool {
	v := s.view
	return v.Self >= 0 && slot < len(v.Owners) && v.Owners[slot] == v.Self
}

// wantsLocked: slot is this replica's and not being handed over.
func (s *KafkaShard) wantsLocked(slot int) bool { return s.ownsLocked(slot) && slot != s.view.Release }

func (s *KafkaShard) holderLocked(slot int) string {
	v := s.view
	if slot < len(v.Owners) && v.Owners[slot] >= 0 && v.Owners[slot] < len(v.Instances) {
		return v.Instances[v.Owners[slot]]
	}
	return ""
}

// Wants reports whether this replica should lead org: it owns org's slot in the latest
// shard map and is not handing it over.
func (s *KafkaShard) Wants(org string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wantsLocked(SlotOf(org, s.cfg.Slots))
}

// Holders maps every org to the replica the latest shard map gives its slot ("": none).
func (s *KafkaShard) Holders(orgs []string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(orgs))
	for _, o := range orgs {
		out[o] = s.holderLocked(SlotOf(o, s.cfg.Slots))
	}
	return out
}

// Replicas lists the members of the latest shard map, sorted.
func (s *KafkaShard) Replicas() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.view.Instances)
	slices.Sort(out)
	return out
}
