package pipeline

import (
	"container/list"
	"strings"
	"sync"
	"time"
)

// dedup remembers recently acknowledged ids, bounded by count and age.
type dedup struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	order *list.List // of entry, oldest at the front
	index map[string]*list.Element
}

type entry struct {
	id string
	at time.Time
}

func newDedup(max int, ttl time.Duration) *dedup {
	return &dedup{max: max, ttl: ttl, order: list.New(), index: make(map[string]*list.Element, max)}
}

// seen reports whether id was acknowledged within the window.
func (d *dedup) seen(id string, now time.Time) bool {
	if d.max <= 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	el, ok := d.index[id]
	if !ok {
		return false
	}
	if now.Sub(el.Value.(entry).at) > d.ttl {
		d.order.Remove(el)
		delete(d.index, id)
		return false
	}
	return true
}

// add records that id was acknowledged at now, evicting the oldest entries beyond the
// bounds.
func (d *dedup) add(id string, now time.Time) {
	if d.max <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if el, ok := d.index[id]; ok {
		d.order.MoveToBack(el)
		el.Value = entry{id, now}
	} else {
		id = strings.Clone(id) // the id may share memory with a whole decoded record
		d.index[id] = d.order.PushBack(entry{id, now})
	}
	for d.order.Len() > d.max {
		d.evict(d.order.Front())
	}
	for el := d.order.Front(); el != nil && now.Sub(el.Value.(entry).at) > d.ttl; el = d.order.Front() {
		d.evict(el)
	}
}

func (d *dedup) evict(el *list.Element) {
	d.order.Remove(el)
	delete(d.index, el.Value.(entry).id)
}
