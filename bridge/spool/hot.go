package spool

import "github.com/rhombus-bridge/rhombus-bridge/bridge/event"

// hotMax bounds the records the hot tail keeps (about 1.5 MiB of typical events).
const hotMax = 1024

// hot keeps the last appended records in memory, as appended, so that a consumer that
// keeps up (the usual case) takes them without reading the file back and decoding it. The
// file stays the record: after a restart, a Rewind, or with a backlog longer than the
// hot tail, records are read from it as before. Guarded by Spool.mu.
type hot struct {
	first uint64        // sequence number of evs[0]
	evs   []event.Event // consecutive records
}

// add keeps the record just appended as seq, dropping the oldest beyond hotMax.
func (h *hot) add(seq uint64, ev *event.Event) {
	if len(h.evs) > 0 && h.first+uint64(len(h.evs)) != seq {
		h.reset() // not consecutive: start again
	}
	if len(h.evs) == 0 {
		h.first = seq
	}
	if len(h.evs) == hotMax {
		h.pop()
	}
	h.evs = append(h.evs, *ev)
}

// take returns record seq if it is kept, forgetting it and every older one.
func (h *hot) take(seq uint64) (event.Event, bool) {
	for len(h.evs) > 0 && h.first < seq {
		h.pop()
	}
	if len(h.evs) == 0 || h.first != seq {
		return event.Event{}, false
	}
	ev := h.evs[0]
	h.pop()
	return ev, true
}

func (h *hot) pop() {
	h.evs[0] = event.Event{}
	h.evs = h.evs[1:]
	h.first++
}

func (h *hot) reset() {
	clear(h.evs)
	h.evs = h.evs[:0]
}
