package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/pipeline"
	"github.com/rhombus-bridge/rhombus-bridge/internal/pipetest"
	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// fakeSpool is an in-memory Spool that fails the test on a double Ack.
type fakeSpool struct {
	t     *testing.T
	mu    sync.Mutex
	recs  []event.Event
	next  int
	acked map[uint64]int
}

func (s *fakeSpool) AppendAll(evs []event.Event) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, evs...)
	return len(evs), nil
}

func (s *fakeSpool) TryNextSeq() (uint64, event.Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == len(s.recs) {
		return 0, event.Event{}, false, nil
	}
	s.next++
	return uint64(s.next - 1), s.recs[s.next-1], true, nil
}

func (s *fakeSpool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked[seq]++
	if s.acked[seq] > 1 {
		s.t.Errorf("spool seq %d acked %d times", seq, s.acked[seq])
	}
	return nil
}

func (s *fakeSpool) Backlog() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs) - s.next
}

// fakeAsync "stores" at send time (one connection: send order is store order) and answers
// later on another goroutine; failRate of the answers fail (the message may or may not be
// stored, as with a timeout). hang makes it never answer.
type fakeAsync struct {
	mu       sync.Mutex
	sent     map[string][]string // key → ids in first-send order
	seen     map[string]bool
	failRate float64
	hang     atomic.Bool
	late     []func()
}

func (f *fakeAsync) store(ev event.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.seen[ev.ID] {
		f.seen[ev.ID] = true
		k := ev.Key()
		f.sent[k] = append(f.sent[k], ev.EntityUUID)
	}
}

func (f *fakeAsync) Publish(ctx context.Context, ev event.Event) error {
	if f.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	f.store(ev)
	return nil
}

func (f *fakeAsync) PublishAsync(ctx context.Context, ev event.Event, done sinks.Completion) error {
	if f.hang.Load() {
		f.mu.Lock()
		f.late = append(f.late, func() { done.Done(nil) })
		f.mu.Unlock()
		return nil
	}
	fail := rand.Float64() < f.failRate
	if !fail || rand.IntN(2) == 0 {
		f.store(ev)
	}
	go func() {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		if fail {
			done.Done(errors.New("transient"))
		} else {
			done.Done(nil)
		}
	}()
	return nil
}

func runStress(t *testing.T, failRate float64, withSpool bool) {
	sink := &fakeAsync{sent: map[string][]string{}, seen: map[string]bool{}, failRate: failRate}
	reg := prometheus.NewRegistry()
	var ackN sync.Map
	wm := pipeline.NewWatermark(0)
	cfg := pipeline.Config{Queue: 100000, Lanes: 4, PublishTimeout: time.Second, RetryBase: time.Millisecond,
		RetryMax: 2 * time.Millisecond, Watermark: wm, Registerer: reg, Logger: pipetest.QuietLog(),
		DedupSize: -1, OnAcked: func(ev event.Event, _ time.Duration) {
			v, _ := ackN.LoadOrStore(ev.ID, new(atomic.Int32))
			v.(*atomic.Int32).Add(1)
		}}
	var sp *fakeSpool
	if withSpool {
		sp = &fakeSpool{t: t, acked: map[uint64]int{}}
		cfg.Spool = sp
	}
	p, err := pipeline.New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	stop := pipetest.Run(t, p)
	const offerers, perOfferer = 4, 3000
	var wg sync.WaitGroup
	for o := range offerers {
		wg.Go(func() {
			for n := range perOfferer {
				ev := pipetest.Alert(t, fmt.Sprintf("cam%d-%d", o, n%7), n, int64(n+1))
				if !p.Offer(ev) {
					t.Errorf("offer refused")
				}
			}
		})
	}
	wg.Wait()
	pipetest.WaitFor(t, "all settled", 60*time.Second, func() bool { return wm.Outstanding() == 0 })
	stop()
	if g := gauge(t, reg, "rhombus_bridge_publish_inflight"); g != 0 {
		t.Errorf("inflight gauge %v after Run", g)
	}
	n := 0
	ackN.Range(func(k, v any) bool {
		n++
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("%v acked %d times", k, c)
		}
		return true
	})
	if n != offerers*perOfferer {
		t.Errorf("%d events acked, want %d", n, offerers*perOfferer)
	}
	if withSpool && len(sp.acked) != offerers*perOfferer {
		t.Errorf("%d spool records acked, want %d", len(sp.acked), offerers*perOfferer)
	}
	if failRate == 0 {
		checkSendOrder(t, sink.sent)
	}
}

// checkSendOrder: per key, the entity uuid counters go up (alert-<dev>-<n>).
func checkSendOrder(t *testing.T, sent map[string][]string) {
	for k, uu := range sent {
		last := -1
		for _, u := range uu {
			i := strings.LastIndexByte(u, '-')
			n, _ := strconv.Atoi(u[i+1:])
			if n <= last {
				t.Errorf("key %s: %s sent after n=%d", k, u, last)
			}
			last = n
		}
	}
}

func TestPipelinedStress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  float64
		spool bool
	}{{"healthy", 0, false}, {"healthy-spool", 0, true}, {"failing", 0.05, false}, {"failing-spool", 0.05, true}} {
		t.Run(tc.name, func(t *testing.T) { runStress(t, tc.fail, tc.spool) })
	}
}

// TestPipelinedDrainBoundAndLateAnswers: a sink that never answers; the drain ends at its
// deadline, and the late answers afterwards settle nothing twice.
func TestPipelinedDrainBoundAndLateAnswers(t *testing.T) {
	sink := &fakeAsync{sent: map[string][]string{}, seen: map[string]bool{}}
	sink.hang.Store(true)
	reg := prometheus.NewRegistry()
	sp := &fakeSpool{t: t, acked: map[uint64]int{}}
	p, err := pipeline.New(pipeline.Config{Lanes: 4, PublishTimeout: time.Second, RetryBase: time.Millisecond,
		RetryMax: 2 * time.Millisecond, Watermark: pipeline.NewWatermark(0), Registerer: reg,
		Logger: pipetest.QuietLog(), Spool: sp, DrainTimeout: 200 * time.Millisecond}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	for n := range 2000 {
		p.Offer(pipetest.Alert(t, fmt.Sprintf("cam%d", n%13), n, int64(n+1)))
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(start); d > 3*time.Second { // the bound is 200ms; slack for a loaded -race run
		t.Errorf("drain took %v, bound 200ms", d)
	}
	sink.mu.Lock()
	late := sink.late
	sink.mu.Unlock()
	for _, f := range late {
		f()
	}
	if len(sp.acked) != 0 {
		t.Errorf("%d spool records acked by late answers after the drain", len(sp.acked))
	}
	if g := gauge(t, reg, "rhombus_bridge_publish_inflight"); g != 0 {
		t.Errorf("inflight gauge %v after Run", g)
	}
}
