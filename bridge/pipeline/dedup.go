package pipeline

import (
	"hash/maphash"
	"sync"
	"time"
)

// dedup remembers recently acknowledged ids, bounded by count and age. It keeps a 64-bit
// hash of each id, not the id: memory is fixed at start (about 40 bytes per remembered
// id) and nothing is allocated per event. Two ids with the same hash (odds about 1 in
// 10^14 per event with 100000 remembered) would make the second look like a recent
// duplicate; the bounds are the same as before, so is the rest of the behaviour.
type dedup struct {
	mu   sync.Mutex
	ttl  int64 // ns
	seed maphash.Seed
	ring []stamp // acknowledgements in order, oldest at head; len is the count bound
	head int
	n    int
	last map[uint64]int64 // id hash → Unix ns of its latest acknowledgement
}

// stamp is one acknowledgement in the ring.
type stamp struct {
	h  uint64
	at int64
}

func newDedup(max int, ttl time.Duration) *dedup {
	d := &dedup{ttl: int64(ttl), seed: maphash.MakeSeed()}
	if max > 0 {
		d.ring, d.last = make([]stamp, max), make(map[uint64]int64, max)
	}
	return d
}

// seen reports whether id was acknowledged within the window.
func (d *dedup) seen(id string, now time.Time) bool {
	if len(d.ring) == 0 {
		return false
	}
	h := maphash.String(d.seed, id)
	d.mu.Lock()
	at, ok := d.last[h]
	d.mu.Unlock()
	return ok && now.UnixNano()-at <= d.ttl
}

// add records that id was acknowledged at now, forgetting the oldest acknowledgements
// beyond the bounds.
func (d *dedup) add(id string, now time.Time) {
	if len(d.ring) == 0 {
		return
	}
	h, at := maphash.String(d.seed, id), now.UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == len(d.ring) {
		d.evict()
	}
	d.ring[(d.head+d.n)%len(d.ring)] = stamp{h, at}
	d.n++
	d.last[h] = at
	for d.n > 0 && at-d.ring[d.head].at > d.ttl {
		d.evict()
	}
}

// evict forgets the oldest acknowledgement, and its id unless it was acknowledged again
// since.
func (d *dedup) evict() {
	s := d.ring[d.head]
	if d.last[s.h] == s.at {
		delete(d.last, s.h)
	}
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}
