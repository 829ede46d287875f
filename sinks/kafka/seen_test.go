package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

// preload runs a Preload and waits for its outcome.
func preload(t *testing.T, s *kafka.Sink, since time.Time) kafka.PreloadResult {
	t.Helper()
	select {
	case r := <-s.Preload(context.Background(), since):
		if r.Err != nil {
			t.Fatalf("preload: %v", r.Err)
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("preload did not end")
		return kafka.PreloadResult{}
	}
}

// idCounts reads the topic and counts every ce_id.
func idCounts(t *testing.T, c *cluster) (map[string]int, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	recs, err := readAll(ctx, c.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range recs {
		n[r.ID]++
	}
	return n, len(recs)
}

func publishEach(t *testing.T, s *kafka.Sink, evs []event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, ev := range evs {
		wg.Go(func() {
			if err := s.Publish(ctx, ev); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestPreloadSkipsIDsOnTopic: one process wrote 200 events and died; a new one (its own
// empty window) preloads and then publishes the same 200 plus 50 new ones, as a new
// leader's backfill would: the topic holds each id once.
func TestPreloadSkipsIDsOnTopic(t *testing.T) {
	c := newCluster(t)
	began := time.Now()
	evs := sinktest.Events(t, 250, 16)
	publishEach(t, newSink(t, c, nil), evs[:200])
	next := newSink(t, c, nil)
	r := preload(t, next, began)
	if r.Records != 200 || r.IDs != 200 || r.Capped {
		t.Fatalf("preload %+v, want 200 records and ids, not capped", r.PreloadStats)
	}
	publishEach(t, next, evs)
	counts, total := idCounts(t, c)
	if total != 250 || len(counts) != 250 {
		t.Fatalf("%d records, %d distinct ids on the topic; want 250 each", total, len(counts))
	}
}

// TestPreloadReadsFromSince: records stamped long before since are not read (ListOffsets
// by time), those after are.
func TestPreloadReadsFromSince(t *testing.T) {
	c := newCluster(t)
	w := &kafkago.Writer{Addr: kafkago.TCP(c.ListenAddrs()...), Topic: topic, BatchTimeout: time.Millisecond,
		RequiredAcks: kafkago.RequireAll}
	t.Cleanup(func() { _ = w.Close() })
	now := time.Now()
	var msgs []kafkago.Message
	for i := range 100 {
		at := now.Add(-time.Hour) // old: before since − 30s
		if i%2 == 1 {
			at = now
		}
		msgs = append(msgs, kafkago.Message{Key: fmt.Appendf(nil, "k%d", i%7), Value: []byte("{}"), Time: at,
			Headers: []kafkago.Header{{Key: kafka.HeaderCEID, Value: fmt.Appendf(nil, "id-%d", i)}}})
	}
	if err := w.WriteMessages(context.Background(), msgs...); err != nil {
		t.Fatal(err)
	}
	r := preload(t, newSink(t, c, nil), now.Add(-time.Minute))
	if r.Records < 50 || r.Records > 60 || r.IDs != r.Records {
		t.Fatalf("preload %+v: want the 50 recent records (and no more than a few interleaved old ones)", r.PreloadStats)
	}
}

// TestPreloadCapped: past PreloadMaxRecords only the newest records of each partition are
// read, and the result says so.
func TestPreloadCapped(t *testing.T) {
	c := newCluster(t)
	began := time.Now()
	publishEach(t, newSink(t, c, nil), sinktest.Events(t, 300, 16))
	r := preload(t, newSink(t, c, func(cfg *kafka.Config) { cfg.PreloadMaxRecords = 60 }), began)
	if !r.Capped || r.Records > 60 || r.Records < 60-6 {
		t.Fatalf("preload %+v: want capped at about 60 records", r.PreloadStats)
	}
}

// TestPublishWaitsForPreload: while the ids on the topic are being read (every fetch held
// by the broker), a Publish of an id already there waits, and then writes nothing.
func TestPublishWaitsForPreload(t *testing.T) {
	c := newCluster(t)
	began := time.Now()
	evs := sinktest.Events(t, 20, 4)
	publishEach(t, newSink(t, c, nil), evs)
	release := make(chan struct{})
	var held atomic.Bool
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if held.CompareAndSwap(false, true) { // the first fetch waits; others go on
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	next := newSink(t, c, nil)
	done := next.Preload(context.Background(), began)
	published := make(chan error, 1)
	go func() { published <- next.Publish(context.Background(), evs[0]) }()
	select {
	case err := <-published:
		t.Fatalf("Publish returned (%v) while the preload was held", err)
	case <-time.After(300 * time.Millisecond): // time enough to write, had it not waited
	}
	close(release)
	if r := <-done; r.Err != nil || r.Records != 20 {
		t.Fatalf("preload %+v, error %v", r.PreloadStats, r.Err)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	if counts, total := idCounts(t, c); total != 20 || counts[evs[0].ID] != 1 {
		t.Fatalf("%d records, %q %d times; want 20 and once", total, evs[0].ID, counts[evs[0].ID])
	}
}
