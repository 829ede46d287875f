package spool

import (
	"errors"
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func batch(from, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = mkEvent(from + i)
	}
	return evs
}

// A batch that spans several segments is written a segment at a time and read back in
// order, across a reopen (from the files, not the hot tail).
func TestAppendAllAcrossSegments(t *testing.T) {
	cfg := testCfg(t)
	cfg.SegmentBytes = 1024 // a few records each
	s := open(t, cfg)
	if n, err := s.AppendAll(batch(0, 40)); n != 40 || err != nil {
		t.Fatalf("AppendAll = %d, %v", n, err)
	}
	if segs := len(files(t, cfg.Dir, ".seg")); segs < 5 {
		t.Fatalf("%d segments for 40 records of ~200 bytes in 1 KiB segments", segs)
	}
	expectIDs(t, s, seqRange(0, 10)...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg)
	expectIDs(t, s, seqRange(0, 40)...) // nothing was committed: all of it comes back
}

// A batch that meets a full spool or a record too large keeps the records before it,
// refuses that one with its error, and leaves the rest untried.
func TestAppendAllStopsAtARefusal(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes, cfg.SegmentBytes = 4096, 1024
	s := open(t, cfg)
	n, err := s.AppendAll(batch(0, 100))
	if !errors.Is(err, ErrFull) || n < 10 || n == 100 || s.Bytes() > cfg.MaxBytes {
		t.Fatalf("AppendAll = %d, %v (%d bytes)", n, err, s.Bytes())
	}
	expectIDs(t, s, seqRange(0, n)...)
	if err := s.Commit(n); err != nil {
		t.Fatal(err)
	}
	evs := batch(1000, 3)
	evs[1].Body = make([]byte, MaxRecordBytes+1)
	cfg2 := testCfg(t)
	cfg2.MaxBytes = 64 << 20
	s2 := open(t, cfg2)
	if k, err := s2.AppendAll(evs); k != 1 || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("AppendAll with a record too large = %d, %v; want 1, ErrTooLarge", k, err)
	}
	expectIDs(t, s2, 1000)
}
