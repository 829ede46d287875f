package spool

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func TestMaxBytesFullAndSpaceComesBack(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes, cfg.SegmentBytes = 4096, 1024
	s := open(t, cfg)
	n := 0
	for ; ; n++ {
		err := s.Append(mkEvent(n))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil || n > 1000 {
			t.Fatalf("Append %d: %v", n, err)
		}
	}
	if n < 10 || s.Bytes() > cfg.MaxBytes || value(s.m.full) != 1 {
		t.Fatalf("full after %d events, %d bytes, full_total %v", n, s.Bytes(), value(s.m.full))
	}
	if err := s.Append(mkEvent(n)); !errors.Is(err, ErrFull) {
		t.Fatalf("still full: %v", err)
	}
	// Reading alone frees nothing; committing the first segment frees its bytes.
	before := s.Bytes()
	expectIDs(t, s, seqRange(0, n/2)...)
	if s.Bytes() != before {
		t.Fatal("bytes freed before commit")
	}
	if err := s.Commit(n / 2); err != nil {
		t.Fatal(err)
	}
	if s.Bytes() >= before {
		t.Fatalf("Bytes %d after committing half, was %d", s.Bytes(), before)
	}
	if err := s.Append(mkEvent(n)); err != nil {
		t.Fatalf("Append after commit: %v", err)
	}
	expectIDs(t, s, append(seqRange(n/2, n), n)...)
	if err := s.Commit(n - n/2 + 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "empty spool", func() bool { return s.Bytes() == 0 })
}

func TestTooLarge(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes = 64 << 20
	s := open(t, cfg)
	if err := s.Append(event.Event{ID: "x", Body: make([]byte, MaxRecordBytes+1)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append = %v, want ErrTooLarge", err)
	}
	// A record bigger than a segment is fine: it gets a segment of its own.
	if err := s.Append(event.Event{ID: "big", Body: make([]byte, 10000)}); err != nil {
		t.Fatal(err)
	}
	if _, ev := next(t, s); ev.ID != "big" || len(ev.Body) != 10000 {
		t.Fatalf("got %s", ev.ID)
	}
}

// expiredLog collects what OnExpired is told.
type expiredLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *expiredLog) add(ev event.Event) { l.mu.Lock(); l.ids = append(l.ids, ev.ID); l.mu.Unlock() }

func (l *expiredLog) sorted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(slices.Values(l.ids))
}

func TestMaxAgeSkipsOldEventsOnReplay(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxAge = time.Hour
	var log expiredLog
	cfg.OnExpired = log.add
	s := open(t, cfg)
	var fresh, old []string
	for i := range 30 {
		ev := mkEvent(i)
		switch i % 3 {
		case 0:
			ev.Received = time.Now().Add(-2 * time.Hour)
			old = append(old, ev.ID)
		case 1:
			ev.Received = time.Time{} // unknown: never expires
			fallthrough
		default:
			fresh = append(fresh, ev.ID)
		}
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before := value(s.m.expired) // the background flusher may expire some before Close
	s = open(t, cfg)
	for _, want := range fresh {
		if _, ev := next(t, s); ev.ID != want {
			t.Fatalf("Next = %s, want %s", ev.ID, want)
		}
	}
	if got := log.sorted(); !slices.Equal(got, old) {
		t.Fatalf("OnExpired told %v, want %v", got, old)
	}
	if before+value(s.m.expired) != float64(len(old)) || s.Len() != len(fresh) {
		t.Fatalf("expired_total %v+%v, Len %d", before, value(s.m.expired), s.Len())
	}
	s.Commit(len(fresh))
	s.Close()
	s = open(t, cfg)
	if s.Len() != 0 {
		t.Fatalf("expired events came back: Len %d", s.Len())
	}
}

func TestMaxAgeExpiresWhileNobodyReads(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxAge = time.Hour
	var log expiredLog
	cfg.OnExpired = log.add
	s := open(t, cfg)
	var want []string
	for i := range 40 {
		ev := mkEvent(i)
		ev.Received = time.Now().Add(-2 * time.Hour)
		want = append(want, ev.ID)
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, s, 40, 1) // a fresh one stops the expiry
	eventually(t, "background expiry", func() bool { return len(log.sorted()) == 40 })
	if got := log.sorted(); !slices.Equal(got, want) {
		t.Fatalf("OnExpired told %v", got)
	}
	if s.Len() != 1 || len(files(t, cfg.Dir, segSuffix)) != 1 {
		t.Fatalf("Len %d, segments %v", s.Len(), files(t, cfg.Dir, segSuffix))
	}
	expectIDs(t, s, 40)
}
