package rhombus

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func captureLog(c *FeedConfig) *logBuffer {
	l := &logBuffer{}
	c.Logger = slog.New(slog.NewJSONHandler(l, nil))
	return l
}

// RabbitMQ's Web-STOMP answers a CONNECT to a denied virtual host with ERROR
// "Bad CONNECT" and the reason in the body. The body is logged (control characters
// escaped), the CONNECTs are retried no sooner than 1 s apart, and nothing counts as
// subscribed.
func TestStompErrorAnsweringConnect(t *testing.T) {
	s := startSim(t, sim.Config{})
	s.RefuseConnect(-1, "Bad CONNECT", "Virtual host '127.0.0.1' access denied\n\x07")
	var logs *logBuffer
	sub, rec, _, stop := runFeed(t, s, func(c *FeedConfig) { logs = captureLog(c); c.BackoffMax = 30 * time.Second })
	rec.waitFor(t, 20*time.Second, "three refused CONNECTs", func(r *recorder) bool { return len(r.causes) >= 3 })
	stop()
	times := s.ConnectTimes()
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < time.Second {
			t.Fatalf("CONNECT %d came %v after the refused one before it; want ≥ 1 s", i, gap)
		}
	}
	out := logs.String()
	if !strings.Contains(out, `"message":"Bad CONNECT"`) ||
		!strings.Contains(out, `Virtual host '127.0.0.1' access denied\\n\\a`) {
		t.Fatalf("the ERROR's message and escaped body are not in the log:\n%s", out)
	}
	rec.mu.Lock()
	cause := rec.causes[0]
	rec.mu.Unlock()
	var se *StompError
	if !errors.As(cause, &se) || se.During != "CONNECT" || CauseOf(cause) != CauseStompErr {
		t.Fatalf("cause %v; want a StompError answering CONNECT", cause)
	}
	if subs, _, _ := rec.counts(); subs != 0 || sub.State().Subscribed || strings.Contains(out, `"msg":"subscribed"`) {
		t.Fatalf("counted as subscribed: %d Subscribed calls, state %+v", subs, sub.State())
	}
}

// A SUBSCRIBE answered with ERROR: the body is logged, nothing counts as subscribed for
// it, and the retry (no sooner than 1 s later) subscribes.
func TestStompErrorAnsweringSubscribe(t *testing.T) {
	s := startSim(t, sim.Config{})
	s.RefuseSubscribe(1, "Invalid destination", "'/topic/change/x' is not a valid topic destination")
	var logs *logBuffer
	sub, rec, _, _ := runFeed(t, s, func(c *FeedConfig) { logs = captureLog(c) })
	rec.waitFor(t, 20*time.Second, "the retried subscription", func(r *recorder) bool { return len(r.subs) == 1 })
	rec.mu.Lock()
	causes, subAt := append([]error(nil), rec.causes...), rec.subTimes[0]
	downAt := rec.downAt[0]
	rec.mu.Unlock()
	var se *StompError
	if len(causes) != 1 || !errors.As(causes[0], &se) || se.During != "SUBSCRIBE" ||
		!strings.Contains(se.Body, "is not a valid topic destination") {
		t.Fatalf("causes %v; want one StompError answering SUBSCRIBE with its body", causes)
	}
	if gap := subAt.Sub(downAt); gap < time.Second {
		t.Fatalf("resubscribed %v after the refusal; want ≥ 1 s", gap)
	}
	out := logs.String()
	if !strings.Contains(out, "is not a valid topic destination") || strings.Count(out, `"msg":"subscribed"`) != 1 {
		t.Fatalf("want the body logged and one subscribed line:\n%s", out)
	}
	if !sub.State().Subscribed {
		t.Fatal("not subscribed after the retry")
	}
}

func TestEscapeBody(t *testing.T) {
	cases := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain text", 512, "plain text"},
		{"a\nb\tc\x00d\x1b", 512, `a\nb\tc\x00d\x1b`},
		{"bad \xff byte", 512, `bad \xff byte`},
		{"ünïcode", 512, "ünïcode"},
		{"abcdef", 3, "abc…(truncated)"},
		{"aé", 2, "a…(truncated)"}, // é is cut in half by the limit
	}
	for _, c := range cases {
		if got := escapeBody([]byte(c.in), c.limit); got != c.want {
			t.Errorf("escapeBody(%q, %d) = %q, want %q", c.in, c.limit, got, c.want)
		}
	}
	if got := escapeBody(bytes.Repeat([]byte("x"), 5000), maxErrorBody); len(got) > maxErrorBody+20 {
		t.Errorf("body not bounded: %d bytes", len(got))
	}
}

// ws_disconnects_total{cause} and ws_handshake_failures_total{status} have every known
// label value, at 0, before anything happened (so increase() sees the first one).
func TestFeedMetricsExistFromStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	RegisterFeedMetrics(reg)
	labels := gatherLabels(t, reg)
	check := func(name string, want []string) {
		for _, v := range want {
			got, ok := labels[name][v]
			if !ok || got != 0 {
				t.Errorf("%s{%s}: present %v, value %v; want present at 0", name, v, ok, got)
			}
		}
	}
	causes := make([]string, len(knownCauses))
	for i, c := range knownCauses {
		causes[i] = string(c)
	}
	check("rhombus_bridge_ws_disconnects_total", causes)
	check("rhombus_bridge_ws_handshake_failures_total", []string{"401", "403", "429", "503"})
	sub, err := NewSubscriber(FeedConfig{WSURL: "ws://127.0.0.1:1/websocket", APIKey: "k", Org: "O", Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	sub.m.disconnects.WithLabelValues(string(CauseDial)).Inc()
	if got := gatherLabels(t, reg)["rhombus_bridge_ws_disconnects_total"][string(CauseDial)]; got != 1 {
		t.Fatalf("the Subscriber does not share the metrics registered before it: %v", got)
	}
}

// gatherLabels is metric name → label value → value (single-label metrics).
func gatherLabels(t *testing.T, reg *prometheus.Registry) map[string]map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if labels[mf.GetName()] == nil {
					labels[mf.GetName()] = map[string]float64{}
				}
				labels[mf.GetName()][lp.GetValue()] = value(m)
			}
		}
	}
	return labels
}

func value(m *dto.Metric) float64 {
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.GetGauge().GetValue()
}
