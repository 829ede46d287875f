package spool

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRefusalLimiter(t *testing.T) {
	var r refusals
	t0 := time.Unix(1_700_000_000, 0)
	if log, _ := r.refused(t0); !log {
		t.Fatal("the first refusal is not logged")
	}
	for i := 1; i <= 99; i++ {
		if log, _ := r.refused(t0.Add(time.Duration(i) * 50 * time.Millisecond)); log {
			t.Fatalf("refusal %d logged within 10s of the first", i)
		}
	}
	if log, n := r.refused(t0.Add(refusalLogEvery)); !log || n != 99 {
		t.Fatalf("after 10s: log %v, suppressed %d; want true, 99", log, n)
	}
	if n := r.accepted(); n != 101 {
		t.Fatalf("accepted reports %d refusals, want 101", n)
	}
	if n := r.accepted(); n != 0 {
		t.Fatalf("a second success reports %d", n)
	}
	if log, n := r.refused(t0.Add(refusalLogEvery + time.Second)); !log || n != 0 {
		t.Fatal("the first refusal after a success is not logged at once")
	}
}

// A full spool refuses every event; it warns once (then at most every 10 s), not per event,
// and says when it accepts events again.
func TestFullSpoolWarnsRateLimited(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes, cfg.SegmentBytes = 4096, 1024
	log, logs := newCapture()
	cfg.Logger = log
	s := open(t, cfg)
	start := time.Now()
	stored := 0
	for ; s.Append(mkEvent(stored)) == nil; stored++ {
	}
	const refused = 500
	for i := 1; i < refused; i++ {
		if err := s.Append(mkEvent(1000 + i)); !errorsIs(err, ErrFull) {
			t.Fatalf("append to a full spool: %v", err)
		}
	}
	warns := logs.find("spool: refusing events")
	allowed := 1 + int(time.Since(start)/refusalLogEvery) // a very slow machine may pass a 10 s mark
	if len(warns) < 1 || len(warns) > allowed || warns[0].level != slog.LevelWarn {
		t.Fatalf("%d warnings for %d refusals, want 1..%d", len(warns), refused, allowed)
	}
	if !strings.Contains(warns[0].attrs["error"], "spool: full") || warns[0].attrs["max_bytes"] != "4096" {
		t.Fatalf("warning lacks the cause: %v", warns[0].attrs)
	}
	expectIDs(t, s, seqRange(0, stored)...)
	if err := s.Commit(stored); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 5000, 1)
	back := logs.find("spool: accepting events again")
	if len(back) != 1 || back[0].attrs["refused"] != "500" {
		t.Fatalf("recovery lines %v, want one with refused=500", back)
	}
}

func TestSegmentCutInsideHeaderLogged(t *testing.T) {
	cfg, _ := spoolWith50(t)
	cut := filepath.Join(cfg.Dir, segName(50))
	if err := os.WriteFile(cut, []byte("rbs"), 0o640); err != nil {
		t.Fatal(err)
	}
	log, logs := newCapture()
	cfg.Logger = log
	s := open(t, cfg)
	got := logs.find("cut inside its header")
	if len(got) != 1 || got[0].attrs["segment"] != cut || got[0].level != slog.LevelWarn {
		t.Fatalf("repair lines %+v, want one naming %s", got, cut)
	}
	if r := s.Recovered(); r.TruncatedBytes != 3 || r.Events != 50 {
		t.Fatalf("Recovered %+v, want 3 bytes cut and 50 events", r)
	}
	if _, err := os.Stat(cut); !os.IsNotExist(err) {
		t.Fatalf("cut segment still there: %v", err)
	}
}

// A garbage cursor is corruption: quarantined, logged, counted; replay starts at the oldest
// record on disk, so nothing undelivered is lost (delivered ones may come again).
func TestDamagedCursorQuarantined(t *testing.T) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 20)
	expectIDs(t, s, seqRange(0, 5)...)
	if err := s.Commit(5); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte{0xAA}, 48)
	curPath := filepath.Join(cfg.Dir, cursorName)
	if err := os.WriteFile(curPath, garbage, 0o640); err != nil {
		t.Fatal(err)
	}
	log, logs := newCapture()
	cfg.Logger = log
	s = open(t, cfg)
	if r := s.Recovered(); !r.CursorLost || r.Events < 15 {
		t.Fatalf("Recovered %+v, want CursorLost and at least the 15 undelivered events", r)
	}
	if kept, err := os.ReadFile(curPath + corruptSuffix); err != nil || !bytes.Equal(kept, garbage) {
		t.Fatalf("garbage cursor not kept as cursor.corrupt: %v", err)
	}
	if lines := logs.find("commit point unreadable"); len(lines) != 1 || lines[0].level != slog.LevelError {
		t.Fatalf("cursor loss logged %d times, want one error", len(lines))
	}
	if value(s.m.corrupt) != 1 || value(s.m.quarantined) != 48 {
		t.Fatalf("corrupt_total %v, quarantined_bytes %v", value(s.m.corrupt), value(s.m.quarantined))
	}
	var ids []int
	for s.Backlog() > 0 {
		_, ev := next(t, s)
		ids = append(ids, firstID(t, ev.ID))
	}
	if len(ids) == 0 || ids[0] > 5 || ids[len(ids)-1] != 19 {
		t.Fatalf("replayed %v: want every record from at most 5 through 19", ids)
	}
	if err := s.Commit(len(ids)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg) // the fresh cursor is sound
	if r := s.Recovered(); r.CursorLost || r.Events != 0 {
		t.Fatalf("second recovery %+v", r)
	}
}

func firstID(t *testing.T, id string) int {
	t.Helper()
	var n int
	for _, c := range strings.TrimPrefix(id, "id-") {
		n = n*10 + int(c-'0')
	}
	return n
}

// writeQuarantined makes a *.corrupt file of n bytes quarantined at the given time.
func writeQuarantined(t *testing.T, dir, name string, n int, at time.Time) string {
	t.Helper()
	p := filepath.Join(dir, name+corruptSuffix)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, make([]byte, n), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, at, at); err != nil {
		t.Fatal(err)
	}
	return p
}

// diskBytes sums the segment and quarantined files in dir.
func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, suffix := range []string{segSuffix, corruptSuffix} {
		for _, p := range files(t, dir, suffix) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			n += st.Size()
		}
	}
	return n
}

// Quarantined files count against MaxBytes and are deleted, oldest first, when they are
// what keeps events out; at Open, when they alone pass the bound.
func TestQuarantinedFilesCountAndArePruned(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes, cfg.SegmentBytes = 8192, 1024
	old := writeQuarantined(t, cfg.Dir, "00000000000000000001.seg", 3000, time.Now().Add(-2*time.Hour))
	newer := writeQuarantined(t, cfg.Dir, "00000000000000000000.seg", 3000, time.Now().Add(-time.Hour))
	s := open(t, cfg)
	if value(s.m.quarantined) != 6000 {
		t.Fatalf("quarantined_bytes %v, want 6000", value(s.m.quarantined))
	}
	i := 0
	for ; s.Append(mkEvent(i)) == nil; i++ {
		if n := diskBytes(t, cfg.Dir); n > cfg.MaxBytes {
			t.Fatalf("after %d appends %d bytes on disk, bound %d", i+1, n, cfg.MaxBytes)
		}
		if _, err := os.Stat(old); err == nil {
			if _, err := os.Stat(newer); err != nil {
				t.Fatal("the newer quarantined file went first")
			}
		}
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("the oldest quarantined file was kept while events were refused")
	}
	if _, err := os.Stat(newer); !os.IsNotExist(err) {
		t.Fatal("the newer quarantined file was kept while events were refused")
	}
	if value(s.m.pruned) != 2 || value(s.m.quarantined) != 0 || s.Bytes() < cfg.MaxBytes/2 {
		t.Fatalf("pruned %v, quarantined_bytes %v, spool %d bytes", value(s.m.pruned), value(s.m.quarantined), s.Bytes())
	}
}

func TestQuarantinedFilesPrunedAtOpen(t *testing.T) {
	cfg := testCfg(t)
	cfg.MaxBytes, cfg.SegmentBytes = 4096, 1024
	old := writeQuarantined(t, cfg.Dir, "a", 2500, time.Now().Add(-2*time.Hour))
	newer := writeQuarantined(t, cfg.Dir, "b", 2500, time.Now().Add(-time.Hour))
	log, logs := newCapture()
	cfg.Logger = log
	s := open(t, cfg)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Fatal("the oldest quarantined file was kept past MaxBytes")
	}
	if _, err := os.Stat(newer); err != nil {
		t.Fatalf("the newer quarantined file was deleted too: %v", err)
	}
	if value(s.m.quarantined) != 2500 || value(s.m.pruned) != 1 || len(logs.find("quarantined file deleted")) != 1 {
		t.Fatalf("quarantined_bytes %v pruned %v", value(s.m.quarantined), value(s.m.pruned))
	}
}

// A disk error (here: the next segment cannot be created, as on ENOSPC) refuses every event
// too, and warns once rather than per event.
func TestDiskErrorWarnsRateLimited(t *testing.T) {
	cfg := testCfg(t)
	log, logs := newCapture()
	cfg.Logger = log
	s := open(t, cfg)
	appendN(t, s, 0, 3)
	s.mu.Lock()
	s.w.Close() // the tail fails; the next append needs a new segment...
	blocker := filepath.Join(cfg.Dir, segName(s.nextSeq))
	s.mu.Unlock()
	if err := os.Mkdir(blocker, 0o750); err != nil { // ...which cannot be created
		t.Fatal(err)
	}
	start := time.Now()
	const refused = 200
	for i := 0; i < refused; i++ {
		if err := s.Append(mkEvent(3 + i)); err == nil || errorsIs(err, ErrFull) {
			t.Fatalf("append %d with a failing disk: %v", i, err)
		}
	}
	warns := logs.find("spool: refusing events")
	if allowed := 1 + int(time.Since(start)/refusalLogEvery); len(warns) < 1 || len(warns) > allowed {
		t.Fatalf("%d warnings for %d refusals, want 1..%d", len(warns), refused, allowed)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 1000, 1)
	if back := logs.find("spool: accepting events again"); len(back) != 1 || back[0].attrs["refused"] != "200" {
		t.Fatalf("recovery lines %v, want one with refused=200", back)
	}
	expectIDs(t, s, 0, 1, 2, 1000)
}
