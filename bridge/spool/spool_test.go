package spool

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestOrderAcrossSegments(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 300)
	if segs := files(t, cfg.Dir, segSuffix); len(segs) < 5 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	if s.Len() != 300 || s.Backlog() != 300 {
		t.Fatalf("Len %d Backlog %d, want 300", s.Len(), s.Backlog())
	}
	for i := 0; i < 300; i += 10 {
		expectIDs(t, s, seqRange(i, i+10)...)
		if err := s.Commit(10); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("after draining: Len %d, want 0", s.Len())
	}
	eventually(t, "the idle consumed tail deleted", func() bool { return s.Bytes() == 0 })
	if segs := files(t, cfg.Dir, segSuffix); len(segs) != 0 {
		t.Fatalf("consumed segments not deleted: %v", segs)
	}
	// The spool keeps working after it emptied.
	appendN(t, s, 300, 3)
	expectIDs(t, s, 300, 301, 302)
}

func TestEventSurvivesReload(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg)
	for i := range 10 {
		_, got := next(t, s)
		want := mkEvent(i)
		if !got.Received.Equal(want.Received) {
			t.Fatalf("Received %v, want %v", got.Received, want.Received)
		}
		if string(got.Body) != string(want.Body) || got.Fence != want.Fence || got.TimestampMs != want.TimestampMs || got.Via != want.Via ||
			got.Invalid != want.Invalid || got.Reason != want.Reason || got.DeviceUUID != want.DeviceUUID {
			t.Fatalf("event %d changed: %+v, want %+v", i, got, want)
		}
	}
}

func TestRestartReplaysUncommitted(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 100)
	expectIDs(t, s, seqRange(0, 40)...)
	if err := s.Commit(30); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(mkEvent(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	s = open(t, cfg)
	if r := s.Recovered(); r.Events != 70 || r.TruncatedBytes != 0 || len(r.Quarantined) != 0 {
		t.Fatalf("Recovered = %+v, want 70 events and no damage", r)
	}
	expectIDs(t, s, seqRange(30, 100)...)
	if s.Backlog() != 0 || s.Len() != 70 {
		t.Fatalf("Backlog %d Len %d", s.Backlog(), s.Len())
	}
}

func TestAckOutOfOrder(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 60)
	var seqs []uint64
	for range 60 {
		seq, _ := next(t, s)
		seqs = append(seqs, seq)
	}
	// Deliveries finish out of order: everything but 20 and 45 is acknowledged.
	for i := len(seqs) - 1; i >= 0; i-- {
		if i == 20 || i == 45 {
			continue
		}
		if err := s.Ack(seqs[i]); err != nil {
			t.Fatalf("Ack %d: %v", seqs[i], err)
		}
	}
	if err := s.Ack(seqs[0]); !errors.Is(err, ErrUnknown) {
		t.Fatalf("second Ack = %v, want ErrUnknown", err)
	}
	if s.Len() != 2 {
		t.Fatalf("Len %d, want 2", s.Len())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash now replays from the oldest unacknowledged record: 20 and 45 are there, and
	// the acknowledged records between them come again (duplicates, collapsed downstream).
	s = open(t, cfg)
	expectIDs(t, s, seqRange(20, 60)...)
	if err := s.Ack(seqs[20]); err != nil { // sequence numbers survive the restart
		t.Fatal(err)
	}
}

func TestNextHonoursContext(t *testing.T) {
	s := open(t, testCfg(t))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an empty spool = %v, want DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.Next(ctx); errc <- err }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel = %v", err)
	}
	// An Append wakes a blocked Next; Close wakes it with ErrClosed.
	got := make(chan string, 1)
	go func() { _, ev, _ := s.NextSeq(context.Background()); got <- ev.ID }()
	appendN(t, s, 7, 1)
	if id := <-got; id != mkEvent(7).ID {
		t.Fatalf("woken Next = %q", id)
	}
	go func() { _, err := s.Next(context.Background()); errc <- err }()
	eventually(t, "Next to block", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiters == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestConcurrentAppendNext(t *testing.T) {
	cfg := testCfg(t)
	cfg.SegmentBytes = 4096
	s := open(t, cfg)
	const n = 3000
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := s.Append(mkEvent(i)); err != nil {
				t.Errorf("Append %d: %v", i, err)
				return
			}
		}
	})
	acks := make(chan uint64, 64)
	wg.Go(func() { // a second goroutine acknowledges, like the pipeline's lanes
		for seq := range acks {
			if err := s.Ack(seq); err != nil {
				t.Errorf("Ack: %v", err)
			}
		}
	})
	for i := range n {
		seq, ev := next(t, s)
		if ev.ID != mkEvent(i).ID {
			t.Fatalf("Next #%d = %s", i, ev.ID)
		}
		_ = s.Len()
		_ = s.Bytes()
		acks <- seq
	}
	close(acks)
	wg.Wait()
	eventually(t, "empty spool", func() bool { return s.Len() == 0 && s.Bytes() == 0 })
}

func TestMetrics(t *testing.T) {
	cfg := testCfg(t)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s := open(t, cfg)
	appendN(t, s, 0, 5)
	if got := value(s.m.events); got != 5 {
		t.Fatalf("spool_events = %v", got)
	}
	if got := value(s.m.bytes); got != float64(s.Bytes()) || got == 0 {
		t.Fatalf("spool_bytes = %v, Bytes %d", got, s.Bytes())
	}
	mfs, err := reg.Gather()
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	want := []string{"rhombus_bridge_spool_bytes", "rhombus_bridge_spool_corrupt_total", "rhombus_bridge_spool_events",
		"rhombus_bridge_spool_expired_total", "rhombus_bridge_spool_full_total",
		"rhombus_bridge_spool_quarantine_pruned_total", "rhombus_bridge_spool_quarantined_bytes"}
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("gathered %v, %v; want %v", names, err, want)
	}
	other := cfg
	other.Dir = t.TempDir()
	if _, err := Open(other); err == nil {
		t.Fatal("second Open on the same registry succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	open(t, cfg) // Close unregistered the metrics
}

func TestConfigValidation(t *testing.T) {
	for _, cfg := range []Config{{}, {Dir: t.TempDir(), MaxBytes: 10}, {Dir: t.TempDir(), SegmentBytes: -1},
		{Dir: t.TempDir(), Sync: SyncPolicy{Mode: 9}}} {
		if s, err := Open(cfg); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", cfg)
		}
	}
	for in, want := range map[string]string{"": "100ms", "always": "always", "NONE": "none", "250ms": "250ms"} {
		p, err := ParseSyncPolicy(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseSyncPolicy(%q) = %v, %v", in, p, err)
		}
	}
	if _, err := ParseSyncPolicy("-1s"); err == nil {
		t.Error("negative interval accepted")
	}
}

func TestDirectoryLocked(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	if s2, err := Open(cfg); err == nil {
		s2.Close()
		t.Fatal("second Open of an open spool succeeded")
	}
	s.Close()
	open(t, cfg)
}

func TestWriteFailureKeepsOrder(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 3)
	s.mu.Lock()
	s.w.Close() // the disk "fails" under the tail
	s.mu.Unlock()
	if err := s.Append(mkEvent(3)); err == nil || errors.Is(err, ErrFull) {
		t.Fatalf("Append on a failed file = %v", err)
	}
	appendN(t, s, 4, 2) // a new segment takes over
	expectIDs(t, s, 0, 1, 2, 4, 5)
	if err := s.Commit(5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, cfg)
	if s.Len() != 0 {
		t.Fatalf("Len %d after reopen", s.Len())
	}
	// A fresh segment whose first write fails is dropped, and its name is reused.
	s.mu.Lock()
	if _, err := s.startSegment(); err != nil {
		t.Fatal(err)
	}
	s.w.Close()
	s.mu.Unlock()
	if err := s.Append(mkEvent(6)); err == nil {
		t.Fatal("Append on a failed file succeeded")
	}
	appendN(t, s, 7, 1)
	expectIDs(t, s, 7)
}

func TestRewindHandsOutUnacknowledgedAgain(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 40)
	var seqs []uint64
	for range 30 {
		seq, _ := next(t, s)
		seqs = append(seqs, seq)
	}
	s.Commit(10)    // 0..9 delivered
	s.Ack(seqs[15]) // 15 delivered out of order
	s.Rewind()      // the consumer of 10..29 went away
	if s.Backlog() != 30 || s.Len() != 30 {
		t.Fatalf("after Rewind: Backlog %d Len %d, want 30", s.Backlog(), s.Len())
	}
	if err := s.Ack(seqs[12]); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Ack of a rewound record = %v", err)
	}
	expectIDs(t, s, seqRange(10, 40)...)
	if err := s.Commit(30); err != nil {
		t.Fatal(err)
	}
	eventually(t, "empty spool", func() bool { return s.Len() == 0 && s.Bytes() == 0 })
}
