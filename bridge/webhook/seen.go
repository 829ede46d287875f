package webhook

import "sync"

// seen remembers the last n ids this process had acknowledged by the publisher, so a
// repeated delivery is answered at once. Oldest ids are forgotten first; memory is
// bounded by n, and grows as ids come (a bridge that takes few webhooks does not pay for
// the bound). A nil *seen remembers nothing.
type seen struct {
	mu   sync.Mutex
	max  int
	ids  map[string]struct{}
	ring []string // in order of arrival from next, once it holds max
	next int
}

func newSeen(n int) *seen {
	if n <= 0 {
		return nil
	}
	return &seen{max: n, ids: map[string]struct{}{}}
}

func (s *seen) has(id string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	_, ok := s.ids[id]
	s.mu.Unlock()
	return ok
}

func (s *seen) add(id string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	s.ids[id] = struct{}{}
	if len(s.ring) < s.max {
		s.ring = append(s.ring, id)
		return
	}
	delete(s.ids, s.ring[s.next])
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
}
