package spool

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkAppendNextCommit measures the round trip of one event through the spool:
// Append, Next, Commit(1), with defaults (16 MiB segments) and a ~600-byte event body,
// the size of a policy-alert CloudEvent. MB/s counts the framed record bytes.
func BenchmarkAppendNextCommit(b *testing.B) {
	for _, bc := range []struct {
		name string
		sync SyncPolicy
	}{
		{"sync=interval100ms", SyncPolicy{}},
		{"sync=always", SyncPolicy{Mode: SyncAlways}},
		{"sync=none", SyncPolicy{Mode: SyncNone}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(Config{Dir: b.TempDir(), Sync: bc.sync, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ev := mkEvent(1)
			ev.Body = bytes.Repeat([]byte("x"), 600)
			b.SetBytes(int64(len(appendFrame(nil, &ev))))
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if err := s.Append(ev); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Next(ctx); err != nil {
					b.Fatal(err)
				}
				if err := s.Commit(1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkBacklogReplay measures spilling a backlog of 1000 events and replaying it,
// the broker-outage shape: appends while nobody reads, then reads and commits in batches.
func BenchmarkBacklogReplay(b *testing.B) {
	s, err := Open(Config{Dir: b.TempDir(), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ev := mkEvent(1)
	ev.Body = bytes.Repeat([]byte("x"), 600)
	const batch = 1000
	b.SetBytes(batch * int64(len(appendFrame(nil, &ev))))
	ctx := context.Background()
	for b.Loop() {
		for range batch {
			if err := s.Append(ev); err != nil {
				b.Fatal(err)
			}
		}
		for range batch {
			if _, err := s.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}
