package pipeline

import (
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// dedup remembers recently acknowledged ids, bounded by count and age. It keeps a 64-bit
// hash of each id, not the id: about 40 bytes per remembered id, grown as ids come (an
// idle bridge does not pay for the bound) and nothing allocated per event once grown. Two ids with the same hash (odds about 1 in
// 10^14 per event with 100000 remembered) would make the second look like a recent
// duplicate; the bounds are the same as before, so is the rest of the behaviour.
type dedup struct {
	mu   sync.Mutex
	base time.Time // times are kept as ns since base (monotonic: a clock step changes nothing)
	ttl  int64     // ns
	seed maphash.Seed
	max  int     // the count bound
	ring []stamp // acknowledgements in order, oldest at head; grows up to max
	head int
	n    int
	last map[uint64]int64 // id hash → when it was last acknowledged
}

// stamp is one acknowledgement in the ring.
type stamp struct {
	h  uint64
	at int64
}

func newDedup(max int, ttl time.Duration) *dedup {
	return &dedup{max: max, base: time.Now(), ttl: int64(ttl), seed: maphash.MakeSeed(), last: map[uint64]int64{}}
}

// seen reports whether id was acknowledged within the window.
func (d *dedup) seen(id string, now time.Time) bool {
	if d.max <= 0 {
		return false
	}
	h := maphash.String(d.seed, id)
	d.mu.Lock()
	at, ok := d.last[h]
	d.mu.Unlock()
	return ok && int64(now.Sub(d.base))-at <= d.ttl
}

// add records that id was acknowledged at now, forgetting the oldest acknowledgements
// beyond the bounds.
func (d *dedup) add(id string, now time.Time) {
	if d.max <= 0 {
		return
	}
	h, at := maphash.String(d.seed, id), int64(now.Sub(d.base))
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.n == d.max {
		d.evict()
	}
	d.push(stamp{h, at})
	d.last[h] = at
	for d.n > 0 && at-d.ring[d.head].at > d.ttl {
		d.evict()
	}
}

// push adds s after the newest stamp, growing the ring while it is under max.
func (d *dedup) push(s stamp) {
	if d.n == len(d.ring) && len(d.ring) < d.max {
		if d.head != 0 { // wrapped after an expiry: put it back in order first
			d.ring, d.head = slices.Concat(d.ring[d.head:], d.ring[:d.head]), 0
		}
		d.ring = append(d.ring, s)
	} else {
		d.ring[(d.head+d.n)%len(d.ring)] = s
	}
	d.n++
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
