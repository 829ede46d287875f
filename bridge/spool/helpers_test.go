package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(nopWriter{}, nil))

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// testStart is the Received time of mkEvent(0).
var testStart = time.Now()

// mkEvent makes an event with every exported field set, distinct per i.
func mkEvent(i int) event.Event {
	return event.Event{
		ID:          fmt.Sprintf("id-%06d", i),
		Org:         "org-1",
		Entity:      event.EntityPolicyAlert,
		Change:      event.ChangeCreate,
		EntityUUID:  fmt.Sprintf("ent-%d", i),
		DeviceUUID:  fmt.Sprintf("dev-%d", i%7),
		TimestampMs: 1_700_000_000_000 + int64(i),
		Via:         event.ViaWebSocket,
		Invalid:     i%5 == 4,
		Reason:      map[bool]string{true: "bad json"}[i%5 == 4],
		Fence:       uint64(i % 3),
		Received:    testStart.Add(time.Duration(i) * time.Millisecond),
		Body:        fmt.Appendf(nil, `{"specversion":"1.0","id":"id-%06d","data":{"n":%d}}`, i, i),
	}
}

// testCfg is a small spool in a fresh directory with a fast flusher.
func testCfg(t testing.TB) Config {
	return Config{Dir: filepath.Join(t.TempDir(), "spool"), SegmentBytes: 1024, MaxBytes: 1 << 20,
		Sync: SyncPolicy{Interval: 10 * time.Millisecond}, Logger: quiet}
}

func open(t testing.TB, cfg Config) *Spool {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendN(t testing.TB, s *Spool, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := s.Append(mkEvent(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// next reads one record with a deadline.
func next(t testing.TB, s *Spool) (uint64, event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seq, ev, err := s.NextSeq(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return seq, ev
}

// expectIDs reads len(want) records and checks their ids in order.
func expectIDs(t testing.TB, s *Spool, want ...int) {
	t.Helper()
	for _, i := range want {
		if _, ev := next(t, s); ev.ID != mkEvent(i).ID {
			t.Fatalf("Next = %s, want %s", ev.ID, mkEvent(i).ID)
		}
	}
}

func seqRange(from, to int) []int {
	var r []int
	for i := from; i < to; i++ {
		r = append(r, i)
	}
	return r
}

// files lists the names in dir with the suffix, sorted.
func files(t testing.TB, dir, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if filepath.Ext(e.Name()) == suffix {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}

// eventually polls cond until it holds or 5 s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func errorsIs(err, target error) bool { return err != nil && errors.Is(err, target) }

// value reads a gauge or counter.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

// logRec is one captured log record, its attributes flattened to text.
type logRec struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// capture is a slog.Handler that keeps every record.
type capture struct {
	mu   *sync.Mutex
	recs *[]logRec
}

func newCapture() (*slog.Logger, *capture) {
	c := &capture{mu: &sync.Mutex{}, recs: &[]logRec{}}
	return slog.New(c), c
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *capture) WithGroup(string) slog.Handler            { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.recs = append(*c.recs, rec)
	return nil
}

// find returns the records whose message contains s.
func (c *capture) find(s string) []logRec {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []logRec
	for _, r := range *c.recs {
		if strings.Contains(r.msg, s) {
			out = append(out, r)
		}
	}
	return out
}
