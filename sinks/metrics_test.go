package sinks

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetricsSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	nats := NewMetrics(reg).For("nats")
	kafka := NewMetrics(reg).For("kafka") // a second sink on the same registry
	nats.Begin()(nil)
	kafka.Begin()(errors.New("x"))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	for _, name := range []string{"rhombus_bridge_sink_published_total", "rhombus_bridge_sink_errors_total",
		"rhombus_bridge_sink_publish_seconds", "rhombus_bridge_sink_inflight"} {
		if got[name] == 0 {
			t.Errorf("metric %s missing: %v", name, got)
		}
	}
	if got["rhombus_bridge_sink_inflight"] != 2 {
		t.Errorf("inflight has %d series, want one per sink", got["rhombus_bridge_sink_inflight"])
	}
}
