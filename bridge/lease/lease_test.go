package lease

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

func TestNewValidates(t *testing.T) {
	b := &NATS{}
	for _, cfg := range []Config{{TTL: time.Second}, {InstanceID: "a", TTL: time.Millisecond},
		{InstanceID: "a", TTL: time.Second, Margin: time.Second}} {
		if _, err := New(cfg, b); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{InstanceID: "a", TTL: time.Second}, nil); err == nil {
		t.Error("nil backend accepted")
	}
	if _, err := NewKafka(KafkaConfig{Brokers: []string{"x:1"}}); err == nil {
		t.Error("kafka without group accepted")
	}
}

// TestStatusAndMetrics: Status and the four metrics follow one term.
func TestStatusAndMetrics(t *testing.T) {
	srv := natstest.Start(t)
	reg := prometheus.NewRegistry()
	l, err := New(Config{InstanceID: "solo", TTL: time.Second, Registerer: reg}, natsBackends(t, srv.URL())("solo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	leading := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, func(lctx context.Context) { leading <- Revision(lctx); <-lctx.Done() })
	}()
	rev := <-leading
	time.Sleep(500 * time.Millisecond)
	s := l.Status()
	if !s.Leader || s.Holder != "solo" || s.Revision != rev || s.Transitions != 1 || s.LeaderSince.IsZero() {
		t.Fatalf("status while leading: %+v (rev %d)", s, rev)
	}
	if val(l.m.leader) != 1 || val(l.m.revision) != float64(rev) ||
		val(l.m.leaderSeconds) <= 0 {
		t.Fatal("metrics while leading")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s = l.Status()
	if s.Leader || s.Transitions != 2 || val(l.m.leader) != 0 || val(l.m.transitions) != 2 {
		t.Fatalf("status after: %+v", s)
	}
	if mf, _ := reg.Gather(); len(mf) != 4 {
		t.Fatalf("%d metrics registered, want 4", len(mf))
	}
}

func val(c prometheus.Metric) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}
