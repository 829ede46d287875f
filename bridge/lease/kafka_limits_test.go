package lease

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// logSink keeps every log record (a slog handler for assertions).
type logSink struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.recs = append(s.recs, r.Clone())
	s.mu.Unlock()
	return nil
}
func (s *logSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *logSink) WithGroup(string) slog.Handler      { return s }

// lines returns the records at level as "message error=..." strings.
func (s *logSink) lines(level slog.Level) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.recs {
		if r.Level != level {
			continue
		}
		line := r.Message
		r.Attrs(func(a slog.Attr) bool {
			line += " " + a.Key + "=" + a.Value.String()
			return true
		})
		out = append(out, line)
	}
	return out
}

// acquireLog records when Acquire was called (each call is one JoinGroup campaign).
type acquireLog struct {
	Backend
	mu    sync.Mutex
	calls []time.Time
}

func (a *acquireLog) Acquire(ctx context.Context) (Term, error) {
	a.mu.Lock()
	a.calls = append(a.calls, time.Now())
	a.mu.Unlock()
	return a.Backend.Acquire(ctx)
}

// runRefused runs one lease with ttl against k for d and returns its log, its Acquire
// calls and whether it ever led.
func runRefused(t *testing.T, k *kfake.Cluster, ttl, d time.Duration) (*logSink, []time.Time, bool) {
	t.Helper()
	b, err := NewKafka(KafkaConfig{Brokers: k.ListenAddrs(), GroupID: "refused", Topic: "refused"})
	if err != nil {
		t.Fatal(err)
	}
	al := &acquireLog{Backend: b}
	logs := &logSink{}
	l, err := New(Config{InstanceID: "r1", TTL: ttl, Logger: slog.New(logs)}, al)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var led bool
	if err := l.Run(ctx, func(context.Context) { led = true }); err != nil {
		t.Fatal(err)
	}
	al.mu.Lock()
	defer al.mu.Unlock()
	return logs, append([]time.Time(nil), al.calls...), led
}

// TestKafkaTTLBelowBrokerMinimum: kfake at its defaults (group.min.session.timeout.ms
// 6000, as Kafka ships) and BRIDGE_LEASE_TTL=2s. Every JoinGroup is refused with
// INVALID_SESSION_TIMEOUT: the lease says so in one ERROR naming BRIDGE_LEASE_TTL and
// the brokers' limit, retries no faster than once a second, and never leads.
func TestKafkaTTLBelowBrokerMinimum(t *testing.T) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	logs, calls, led := runRefused(t, k, 2*time.Second, 3500*time.Millisecond)
	if led {
		t.Fatal("led with a TTL the brokers refuse")
	}
	errs := logs.lines(slog.LevelError)
	if len(errs) != 1 {
		t.Fatalf("want one ERROR, got %d: %q", len(errs), errs)
	}
	for _, want := range []string{"BRIDGE_LEASE_TTL=2s", "group.min.session.timeout.ms (6000 ms)", "at least 6s"} {
		if !strings.Contains(errs[0], want) {
			t.Errorf("ERROR lacks %q: %s", want, errs[0])
		}
	}
	if w := logs.lines(slog.LevelWarn); len(w) != 0 {
		t.Errorf("refusals also logged as warnings: %q", w)
	}
	if len(calls) < 2 {
		t.Fatalf("%d campaigns in 3.5s, want at least 2 (it must keep retrying)", len(calls))
	}
	for i := 1; i < len(calls); i++ {
		if gap := calls[i].Sub(calls[i-1]); gap < time.Second {
			t.Errorf("campaign %d came %v after the previous one, want ≥ 1s", i, gap)
		}
	}
	t.Logf("%d campaigns in 3.5s; ERROR: %s", len(calls), errs[0])
}

// TestKafkaSessionLimitsRead: the limit in the ERROR is the brokers' own setting, read
// with DescribeConfigs, not Kafka's default (here group.min.session.timeout.ms=1500).
func TestKafkaSessionLimitsRead(t *testing.T) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.BrokerConfigs(map[string]string{minSessionConfig: "1500"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	b, err := NewKafka(KafkaConfig{Brokers: k.ListenAddrs(), GroupID: "limits", Topic: "limits"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	lim, err := b.SessionLimits(context.Background())
	if err != nil || lim.Min != 1500*time.Millisecond || lim.Max <= lim.Min {
		t.Fatalf("limits %+v, error %v; want min 1.5s", lim, err)
	}
	logs, _, led := runRefused(t, k, time.Second, 500*time.Millisecond)
	errs := logs.lines(slog.LevelError)
	if led || len(errs) != 1 || !strings.Contains(errs[0], "(1500 ms)") {
		t.Fatalf("led %v; ERROR lines %q: want one naming the 1500 ms limit", led, errs)
	}
}
