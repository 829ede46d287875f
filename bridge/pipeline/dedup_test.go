package pipeline

import (
	"fmt"
	"testing"
	"time"
)

// TestDedupBounds: an id is remembered for the TTL and among the last max
// acknowledgements; acknowledging it again renews it; nothing is allocated per event.
func TestDedupBounds(t *testing.T) {
	d := newDedup(3, time.Minute)
	t0 := time.Unix(1000, 0)
	for i, id := range []string{"a", "b", "c"} {
		d.add(id, t0.Add(time.Duration(i)*time.Second))
	}
	if !d.seen("a", t0.Add(3*time.Second)) || d.seen("z", t0) {
		t.Fatal("a must be remembered, z not")
	}
	d.add("a", t0.Add(3*time.Second)) // renewed: the ring now holds b, c, a
	d.add("d", t0.Add(4*time.Second)) // evicts b
	if d.seen("b", t0.Add(4*time.Second)) || !d.seen("a", t0.Add(4*time.Second)) || !d.seen("c", t0.Add(4*time.Second)) {
		t.Fatal("count bound: b forgotten, a and c remembered")
	}
	if d.seen("c", t0.Add(2*time.Second+time.Minute+time.Nanosecond)) {
		t.Fatal("c must be forgotten after the TTL")
	}
	d.add("e", t0.Add(10*time.Minute)) // every older acknowledgement expires
	if d.n != 1 || len(d.last) != 1 {
		t.Fatalf("after expiry: %d in the ring, %d ids", d.n, len(d.last))
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = fmt.Sprintf("id-%d", i)
	}
	big, i := newDedup(100, time.Minute), 0
	if a := testing.AllocsPerRun(1000, func() {
		big.add(ids[i%len(ids)], t0)
		_ = big.seen(ids[(i+7)%len(ids)], t0)
		i++
	}); a != 0 {
		t.Fatalf("%.1f allocations per add and seen", a)
	}
}

// TestDedupGrowsInOrder: the ring grows as ids come, also after expiries wrapped it,
// and evicts the oldest first once full.
func TestDedupGrowsInOrder(t *testing.T) {
	d := newDedup(4, time.Minute)
	t0 := time.Unix(1000, 0)
	d.add("a", t0)
	d.add("b", t0.Add(time.Minute/2))
	d.add("c", t0.Add(time.Minute+time.Second)) // a expires: head moves while the ring grows
	d.add("d", t0.Add(time.Minute+2*time.Second))
	d.add("e", t0.Add(time.Minute+3*time.Second))
	d.add("f", t0.Add(time.Minute+4*time.Second)) // full at 4: b goes
	now := t0.Add(time.Minute + 5*time.Second)
	for id, want := range map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true, "f": true} {
		if d.seen(id, now) != want {
			t.Errorf("seen(%s) = %v, want %v", id, !want, want)
		}
	}
}
