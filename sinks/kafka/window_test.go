package kafka

import (
	"fmt"
	"testing"
	"time"
)

func TestWindowBoundsAndStates(t *testing.T) {
	w := newWindow(3, time.Minute)
	now := time.Unix(1000, 0)
	for i := range 5 {
		acked, wait, e, a := w.claim(fmt.Sprint(i), now)
		if acked || wait != nil || e == nil {
			t.Fatalf("new id %d: acked=%v wait=%v", i, acked, wait != nil)
		}
		w.finish(e, a, outAcked, nil, now)
	}
	if w.size() != 3 {
		t.Fatalf("window holds %d ids, want the bound 3", w.size())
	}
	if acked, _, _, _ := w.claim("4", now); !acked {
		t.Fatal("a recent id is not remembered")
	}
	if acked, _, e, a := w.claim("0", now); acked { // evicted by count: written again
		t.Fatal("an evicted id is still remembered")
	} else {
		w.finish(e, a, outNotStored, fmt.Errorf("x"), now)
	}
	if _, _, e, _ := w.claim("0", now); e == nil || e.verify {
		t.Fatal("a definitely-not-stored id must be forgotten, without read-back")
	}
	later := now.Add(2 * time.Minute)
	if acked, _, _, _ := w.claim("4", later); acked {
		t.Fatal("an id older than the age bound is still remembered")
	}
}

func TestWindowAmbiguousThenWaiters(t *testing.T) {
	w := newWindow(10, time.Minute)
	now := time.Now()
	_, _, e, a := w.claim("x", now)
	if _, wait, _, _ := w.claim("x", now); wait == nil {
		t.Fatal("a second claim while writing must wait")
	}
	w.finish(e, a, outAmbiguous, fmt.Errorf("timeout"), now)
	<-a.done
	_, _, e2, a2 := w.claim("x", now)
	if e2 == nil || !e2.verify || !e2.t0.Equal(now) {
		t.Fatal("after an ambiguous attempt the next owner must read back, from the first attempt's time")
	}
	w.finish(e2, a2, outNotStored, fmt.Errorf("not leader"), now)
	if _, _, e3, _ := w.claim("x", now); e3 == nil || !e3.verify {
		t.Fatal("once ambiguous, an id stays to be read back even after a definite failure")
	}
}
