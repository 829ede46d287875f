package rhombus

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

const testKey = "test-key"

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startSim starts a simulator on 127.0.0.1 and closes it at the end of the test.
func startSim(t testing.TB, cfg sim.Config) *sim.Server {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// recorder is a Handler that records everything.
type recorder struct {
	mu       sync.Mutex
	subs     []SubscribeInfo
	subTimes []time.Time
	bodies   [][]byte
	flushes  int // Flush calls
	flushed  int // len(bodies) at the last one
	causes   []error
	downAt   []time.Time
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) Subscribed(_ context.Context, info SubscribeInfo) {
	r.mu.Lock()
	r.subs = append(r.subs, info)
	r.subTimes = append(r.subTimes, time.Now())
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Message(body []byte, _ time.Time) {
	r.mu.Lock()
	r.bodies = append(r.bodies, body)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Flush() {
	r.mu.Lock()
	r.flushes++
	r.flushed = len(r.bodies)
	r.mu.Unlock()
	r.poke()
}

func (r *recorder) Disconnected(cause error, _ time.Time) {
	r.mu.Lock()
	r.causes = append(r.causes, cause)
	r.downAt = append(r.downAt, time.Now())
	r.mu.Unlock()
	r.poke()
}

// waitFor polls cond until it holds or d passes.
func (r *recorder) waitFor(t testing.TB, d time.Duration, what string, cond func(r *recorder) bool) {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ok := cond(r)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s", d, what)
		case <-r.changed:
		case <-tick.C:
		}
	}
}

func (r *recorder) counts() (subs, msgs, downs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.subs), len(r.bodies), len(r.causes)
}

// runFeed starts a Subscriber against s; the returned stop cancels it and waits for Run.
func runFeed(t testing.TB, s *sim.Server, mod func(*FeedConfig)) (*Subscriber, *recorder, *prometheus.Registry, func()) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := FeedConfig{WSURL: s.WSURL(), APIKey: testKey, Org: s.OrgUUID(), Heartbeat: time.Second,
		BackoffBase: 50 * time.Millisecond, BackoffMax: time.Second, Logger: quietLogger(), Registerer: reg}
	if mod != nil {
		mod(&cfg)
	}
	sub, err := NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sub.Run(ctx, rec) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return within 10s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return sub, rec, reg, stop
}

// waitSimSubs waits until the simulator has n live subscriptions.
func waitSimSubs(t testing.TB, s *sim.Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, n); err != nil {
		t.Fatalf("simulator never saw %d subscriptions: %v (stats %+v)", n, err, s.Stats())
	}
}

func counterValue(t testing.TB, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	t.Fatal("not a counter or gauge")
	return 0
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
