package spool

import "testing"

// TestHotTailKeepsOrder: a backlog longer than the hot tail is read from the file, then
// from memory once the reader reaches the hot records; a Rewind reads the file again;
// the events are the same either way.
func TestHotTailKeepsOrder(t *testing.T) {
	s := open(t, testCfg(t))
	n := hotMax + 300
	appendN(t, s, 0, n)
	if len(s.hot.evs) != hotMax || s.hot.first != uint64(n-hotMax) {
		t.Fatalf("hot tail holds %d from %d, want %d from %d", len(s.hot.evs), s.hot.first, hotMax, n-hotMax)
	}
	expectIDs(t, s, seqRange(0, n)...)
	if len(s.hot.evs) != 0 {
		t.Fatalf("hot tail holds %d after they were handed out", len(s.hot.evs))
	}
	appendN(t, s, n, 5)
	for i := range 3 {
		_, got := next(t, s)
		want := mkEvent(n + i)
		if got.ID != want.ID || string(got.Body) != string(want.Body) || !got.Received.Equal(want.Received) {
			t.Fatalf("hot event %d: %+v, want %+v", i, got, want)
		}
	}
	s.Rewind() // nothing acknowledged: everything is handed out again, from the file
	expectIDs(t, s, seqRange(0, n+5)...)
}
