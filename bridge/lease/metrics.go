package lease

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	leader        prometheus.Gauge
	revision      prometheus.Gauge
	transitions   prometheus.Counter
	leaderSeconds prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_lease_leader",
			Help: "1 while this replica holds the leader lease, else 0."}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_lease_revision",
			Help: "Fencing token (KV revision or group generation) of this replica's current or last term."}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_lease_transitions_total",
			Help: "Times this replica became leader or stopped leading."}),
		leaderSeconds: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_lease_leader_seconds_total",
			Help: "Time this replica has held the leader lease."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.leader, m.revision, m.transitions, m.leaderSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("lease: metrics: %w", err)
		}
	}
	return m, nil
}
