package webhook

import "sync"

// seen remembers the last n ids this process had acknowledged by the publisher, so a
// repeated delivery is answered at once. Oldest ids are forgotten first; memory is
// bounded by n. A nil *seen remembers nothing.
type seen struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

func newSeen(n int) *seen {
	if n <= 0 {
		return nil
	}
	return &seen{ids: make(map[string]struct{}, n), ring: make([]string, n)}
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
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}
