package sim

import (
	"slices"
	"time"
)

// Subscription is one accepted SUBSCRIBE and how long it lasted.
type Subscription struct {
	Conn      uint64    `json:"conn"`      // connection number, from 1
	ID        string    `json:"id"`        // the client's subscription id
	Remote    string    `json:"remote"`    // the client's address
	UserAgent string    `json:"userAgent"` // the handshake's User-Agent
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"` // zero while active
}

const maxSpans = 100000

// addSpan records a new subscription; s.mu must not be held.
func (s *Server) addSpan(sp *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.subscribes++
	s.spans = append(s.spans, sp)
	if n := len(s.spans); n > maxSpans {
		s.spans = append(s.spans[:0:0], s.spans[n-maxSpans:]...)
	}
	s.notifyLocked()
}

// endSpans marks subscriptions ended now; s.mu must not be held.
func (s *Server) endSpans(spans ...*Subscription) {
	if len(spans) == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		if sp.End.IsZero() {
			sp.End = now
		}
	}
	s.notifyLocked()
}

// Subscriptions returns every subscription (the newest 100,000), oldest first.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, len(s.spans))
	for i, sp := range s.spans {
		out[i] = *sp
	}
	return out
}

// SubscribeTimes returns when each accepted SUBSCRIBE arrived, oldest first.
func (s *Server) SubscribeTimes() []time.Time {
	subs := s.Subscriptions()
	out := make([]time.Time, len(subs))
	for i, sp := range subs {
		out[i] = sp.Start
	}
	return out
}

// LongestOverlap is the longest stretch during which two or more subscriptions were active
// at once (an active one counts until now): the split-brain window of a replicated client.
func (s *Server) LongestOverlap() time.Duration {
	return longestOverlap(s.Subscriptions(), time.Now())
}

func longestOverlap(subs []Subscription, now time.Time) time.Duration {
	type edge struct {
		at    time.Time
		delta int
	}
	edges := make([]edge, 0, 2*len(subs))
	for _, sp := range subs {
		end := sp.End
		if end.IsZero() {
			end = now
		}
		edges = append(edges, edge{sp.Start, 1}, edge{end, -1})
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // ends before starts at the same instant
	})
	var longest time.Duration
	var since time.Time
	active := 0
	for _, e := range edges {
		active += e.delta
		switch {
		case active == 2 && e.delta > 0:
			since = e.at
		case active == 1 && e.delta < 0:
			longest = max(longest, e.at.Sub(since))
		}
	}
	return longest
}
