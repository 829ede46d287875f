package kafka

import (
	"container/list"
	"sync"
	"time"
)

// outcome is how one write attempt ended.
type outcome uint8

const (
	outAcked     outcome = iota // the broker acknowledged the record (or a read-back found it)
	outAmbiguous                // the record may or may not be stored
	outNotStored                // the broker rejected it before storing
)

type state uint8

const (
	stWriting state = iota // an attempt is under way
	stAcked                // stored
	stUnknown              // an earlier attempt may have stored it: read back before writing
)

// attempt is one write attempt; err is set before done is closed.
type attempt struct {
	done chan struct{}
	err  error
}

// entry is what the window knows about one id.
type entry struct {
	id     string
	state  state
	t0     time.Time // first write: the record timestamp of every attempt
	at     time.Time // last settled
	verify bool      // an attempt ended ambiguously: read back before writing again
	prev   error     // why the attempt before cur failed (nil: cur is the first)
	cur    *attempt
	elem   *list.Element // position in window.order when settled
}

// window remembers ids written from this process, bounded by count and age, so an id is
// never written twice and concurrent publishes of one id wait for the first.
type window struct {
	mu     sync.Mutex
	m      map[string]*entry
	order  *list.List // settled entries (acked or unknown), oldest first
	maxIDs int
	maxAge time.Duration
}

func newWindow(maxIDs int, maxAge time.Duration) *window {
	return &window{m: make(map[string]*entry), order: list.New(), maxIDs: maxIDs, maxAge: maxAge}
}

// claim looks id up. It returns acked when the id is stored; wait when another attempt
// is under way (wait for it and claim again); otherwise it returns an entry and a new
// attempt that the caller owns and must settle with finish.
func (w *window) claim(id string, now time.Time) (acked bool, wait <-chan struct{}, e *entry, a *attempt) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.evict(now)
	e = w.m[id]
	switch {
	case e == nil:
		e = &entry{id: id, t0: now}
		w.m[id] = e
	case e.state == stAcked:
		return true, nil, nil, nil
	case e.state == stWriting:
		return false, e.cur.done, nil, nil
	default: // stUnknown: take it over
		w.order.Remove(e.elem)
		e.elem, e.prev = nil, e.cur.err
	}
	e.state = stWriting
	e.cur = &attempt{done: make(chan struct{})}
	return false, nil, e, e.cur
}

// finish settles the attempt a on e.
func (w *window) finish(e *entry, a *attempt, out outcome, err error, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a.err = err
	switch {
	case out == outAcked:
		e.state = stAcked
	case out == outAmbiguous || e.verify:
		e.state, e.verify = stUnknown, true
	default: // never possibly stored: forget it
		delete(w.m, e.id)
		close(a.done)
		return
	}
	e.at = now
	e.elem = w.order.PushBack(e)
	close(a.done)
	w.evict(now)
}

// evict drops the oldest settled entries beyond the count or age bound.
func (w *window) evict(now time.Time) {
	for f := w.order.Front(); f != nil; f = w.order.Front() {
		e := f.Value.(*entry)
		if w.order.Len() <= w.maxIDs && now.Sub(e.at) <= w.maxAge {
			return
		}
		w.order.Remove(f)
		delete(w.m, e.id)
	}
}

// remember records ids as stored (written by another process); it leaves alone ids it
// knows already and returns how many it added.
func (w *window) remember(ids []string, now time.Time) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, id := range ids {
		if id == "" || w.m[id] != nil {
			continue
		}
		e := &entry{id: id, state: stAcked, t0: now, at: now}
		e.elem = w.order.PushBack(e)
		w.m[id] = e
		n++
	}
	w.evict(now)
	return n
}

// size is the number of ids remembered.
func (w *window) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m)
}
