package spool

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reg     prometheus.Registerer
	bytes   prometheus.Gauge
	events  prometheus.Gauge
	expired prometheus.Counter
	full    prometheus.Counter
	corrupt prometheus.Counter
	// quarantined is the bytes of *.corrupt files, pruned the ones deleted to make room.
	quarantined prometheus.Gauge
	pruned      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_spool_bytes",
			Help: "Bytes of the local spool on disk."}),
		events: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_spool_events",
			Help: "Events in the local spool (waiting, or handed out and not yet delivered)."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_spool_expired_total",
			Help: "Spooled events dropped for age (BRIDGE_SPOOL_MAX_AGE), recorded as a gap."}),
		full: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_spool_full_total",
			Help: "Appends refused because the spool was full (BRIDGE_SPOOL_MAX_BYTES)."}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_spool_corrupt_total",
			Help: "Damaged spool files found (torn tail truncated, segment or cursor quarantined)."}),
		quarantined: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_spool_quarantined_bytes",
			Help: "Bytes of quarantined spool files (*.corrupt), counted against BRIDGE_SPOOL_MAX_BYTES."}),
		pruned: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_spool_quarantine_pruned_total",
			Help: "Quarantined spool files deleted, oldest first, to make room within BRIDGE_SPOOL_MAX_BYTES."}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	var done []prometheus.Collector
	for _, c := range m.collectors() {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, c)
	}
	if len(errs) > 0 {
		for _, c := range done {
			reg.Unregister(c)
		}
		return nil, errors.Join(errs...)
	}
	m.reg = reg
	return m, nil
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.bytes, m.events, m.expired, m.full, m.corrupt, m.quarantined, m.pruned}
}

// unregister removes the metrics from the registerer, so a spool can be opened again.
func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors() {
		m.reg.Unregister(c)
	}
}
