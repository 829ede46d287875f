package spool

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashCopy copies dir as it is now, files written but the spool still open: what a
// crash would leave. Opening the copy is a restart after that crash.
func crashCopy(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "crashed")
	if err := os.CopyFS(dst, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// spoolWith50 appends records 0..49 across several segments and returns the crash state.
func spoolWith50(t *testing.T) (Config, []string) {
	cfg := testCfg(t)
	s := open(t, cfg)
	appendN(t, s, 0, 50)
	cfg.Dir = crashCopy(t, cfg.Dir)
	segs := files(t, cfg.Dir, segSuffix)
	if len(segs) < 4 {
		t.Fatalf("%d segments, want at least 4", len(segs))
	}
	return cfg, segs
}

func TestCrashWithoutDamage(t *testing.T) {
	cfg, _ := spoolWith50(t)
	s := open(t, cfg)
	if r := s.Recovered(); r.Events != 50 || r.TruncatedBytes != 0 {
		t.Fatalf("Recovered %+v", r)
	}
	expectIDs(t, s, seqRange(0, 50)...)
}

func TestTornLastRecord(t *testing.T) {
	cfg, segs := spoolWith50(t)
	last := segs[len(segs)-1]
	st, _ := os.Stat(last)
	if err := os.Truncate(last, st.Size()-5); err != nil {
		t.Fatal(err)
	}
	s := open(t, cfg)
	r := s.Recovered()
	if r.Events != 49 || r.TruncatedBytes <= 0 || len(r.Quarantined) != 0 {
		t.Fatalf("Recovered %+v, want 49 events and a truncation", r)
	}
	if value(s.m.corrupt) != 1 {
		t.Fatalf("corrupt_total = %v", value(s.m.corrupt))
	}
	expectIDs(t, s, seqRange(0, 49)...)
	appendN(t, s, 100, 2) // appends go on after the repair, in order
	expectIDs(t, s, 100, 101)
	if err := s.Commit(3); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, cfg) // the repair is clean: nothing more to cut
	if r := s.Recovered(); r.TruncatedBytes != 0 || r.Events != 48 {
		t.Fatalf("second recovery %+v", r)
	}
	expectIDs(t, s, append(seqRange(3, 49), 100, 101)...)
}

func TestGarbageAfterLastRecord(t *testing.T) {
	for name, garbage := range map[string][]byte{
		"zeros":  make([]byte, 100),
		"random": []byte("\x17\x00\x00\x00\xde\xad\xbe\xefnot a record at all"),
		"huge":   {0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, segs := spoolWith50(t)
			f, err := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(garbage)
			f.Close()
			s := open(t, cfg)
			if r := s.Recovered(); r.Events != 50 || r.TruncatedBytes != int64(len(garbage)) {
				t.Fatalf("Recovered %+v, want 50 events and %d bytes cut", r, len(garbage))
			}
			expectIDs(t, s, seqRange(0, 50)...)
		})
	}
}

func TestSegmentCutInsideHeader(t *testing.T) {
	cfg, _ := spoolWith50(t)
	if err := os.WriteFile(filepath.Join(cfg.Dir, segName(50)), []byte("rbs"), 0o640); err != nil {
		t.Fatal(err)
	}
	s := open(t, cfg)
	expectIDs(t, s, seqRange(0, 50)...)
	appendN(t, s, 50, 1)
	expectIDs(t, s, 50)
}

// firstSeq is the sequence number a segment file is named after.
func firstSeq(t *testing.T, path string) int {
	t.Helper()
	var n int
	for _, c := range strings.TrimSuffix(filepath.Base(path), segSuffix) {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestDamagedMiddleSegmentQuarantined(t *testing.T) {
	cfg, segs := spoolWith50(t)
	mid, after := firstSeq(t, segs[1]), firstSeq(t, segs[2])
	// Flip a byte inside the second record of the second segment.
	ev := mkEvent(mid)
	off := int64(segHeaderLen + len(appendFrame(nil, &ev)) + frameHeader + 3)
	data, _ := os.ReadFile(segs[1])
	data[off] ^= 0x55
	os.WriteFile(segs[1], data, 0o640)

	s := open(t, cfg)
	r := s.Recovered()
	if len(r.Quarantined) != 1 || r.Quarantined[0] != segs[1]+corruptSuffix {
		t.Fatalf("Quarantined %v", r.Quarantined)
	}
	if kept, err := os.ReadFile(segs[1] + corruptSuffix); err != nil || !bytes.Equal(kept, data) {
		t.Fatalf("quarantined file not kept as it was: %v", err)
	}
	want := append(seqRange(0, mid+1), seqRange(after, 50)...) // the damaged record and the rest of its segment are lost
	if r.Events != len(want) {
		t.Fatalf("Recovered %d events, want %d", r.Events, len(want))
	}
	expectIDs(t, s, want...)
	if err := s.Commit(len(want)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "empty spool", func() bool { return s.Bytes() == 0 })
}

func TestBadHeaderQuarantined(t *testing.T) {
	cfg, segs := spoolWith50(t)
	f, _ := os.OpenFile(segs[2], os.O_WRONLY, 0)
	f.WriteAt([]byte("XX"), 0)
	f.Close()
	s := open(t, cfg)
	if r := s.Recovered(); len(r.Quarantined) != 1 {
		t.Fatalf("Recovered %+v", r)
	}
	lost0, lost1 := firstSeq(t, segs[2]), firstSeq(t, segs[3])
	expectIDs(t, s, append(seqRange(0, lost0), seqRange(lost1, 50)...)...)
}

func TestOpenFailsOnlyOnIO(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o640)
	if _, err := Open(Config{Dir: file, Logger: quiet}); err == nil {
		t.Fatal("Open on a file succeeded")
	}
}

// FuzzRecover writes arbitrary bytes as a segment between two intact ones: Open must
// neither panic nor fail, and the intact segments' records must all come back.
func FuzzRecover(f *testing.F) {
	ev := mkEvent(1)
	f.Add(append(segMagic[:], appendFrame(nil, &ev)...))
	f.Add([]byte("rbspool"))
	f.Add(append(segMagic[:], 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, junk []byte) {
		dir := t.TempDir()
		write := func(first int, body []byte) {
			if err := os.WriteFile(filepath.Join(dir, segName(uint64(first))), body, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		intact := func(first int) []byte {
			b := segMagic[:]
			ev := mkEvent(first)
			return append(bytes.Clone(b), appendFrame(nil, &ev)...)
		}
		write(0, intact(0))
		write(1, junk)
		write(1000, intact(1000))
		s, err := Open(Config{Dir: dir, Logger: quiet, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		var ids []string
		for s.Backlog() > 0 {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			_, ev, err := s.NextSeq(ctx)
			cancel()
			if err != nil {
				t.Fatalf("Next with Backlog %d: %v", s.Backlog(), err)
			}
			ids = append(ids, ev.ID)
		}
		if len(ids) < 2 || ids[0] != mkEvent(0).ID || ids[len(ids)-1] != mkEvent(1000).ID {
			t.Fatalf("replayed %v", ids)
		}
	})
}
