package lease

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	leaderSecondsName = "rhombus_bridge_lease_leader_seconds_total"
	leaderSecondsHelp = "Time this replica has held the leader lease (without a lease: since start)."
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
			Help: "1 while this replica holds the leader lease (always 1 with BRIDGE_LEASE=none), else 0."}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_lease_revision",
			Help: "Fencing token (KV revision or group generation) of this replica's current or last term."}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_lease_transitions_total",
			Help: "Times this replica became leader or stopped leading."}),
		leaderSeconds: prometheus.NewCounter(prometheus.CounterOpts{Name: leaderSecondsName, Help: leaderSecondsHelp}),
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

// RegisterWithoutLease registers the lease metrics of a replica that runs without a lease
// (BRIDGE_LEASE=none): it leads from the start because nothing else can, so
// rhombus_bridge_lease_leader is 1, the revision and transitions 0, and the leader time
// counts from now. Dashboards and alerts then read the same series in every mode.
func RegisterWithoutLease(reg prometheus.Registerer) error {
	m, err := newMetrics(nil)
	if err != nil {
		return err
	}
	m.leader.Set(1)
	since := time.Now()
	seconds := prometheus.NewCounterFunc(prometheus.CounterOpts{Name: leaderSecondsName, Help: leaderSecondsHelp},
		func() float64 { return time.Since(since).Seconds() })
	for _, c := range []prometheus.Collector{m.leader, m.revision, m.transitions, seconds} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("lease: metrics: %w", err)
		}
	}
	return nil
}
