package recovery

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the gap and backfill metrics. A nil *Metrics records nothing.
type Metrics struct {
	gaps      *prometheus.CounterVec
	open      prometheus.Gauge
	recov     prometheus.Counter
	failures  prometheus.Counter
	watermark prometheus.Gauge
}

// NewMetrics creates and registers (reg may be nil) the recovery metrics; the gap
// counter starts at 0 for each of causes, so that increase() sees the first gap of each.
func NewMetrics(reg prometheus.Registerer, causes ...string) (*Metrics, error) {
	m := &Metrics{
		gaps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_gaps_total",
			Help: "Gaps opened in the live feed, by cause (startup, failover, overflow, or how the connection ended)."}, []string{"cause"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_gap_open",
			Help: "1 while a gap is open (not yet backfilled)."}),
		recov: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_backfilled_total",
			Help: "Policy alerts published by REST backfill that this process had not delivered."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_backfill_failures_total",
			Help: "Backfill attempts that failed (retried with backoff)."}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_watermark_timestamp_seconds",
			Help: "Newest event time (Unix seconds) below which every live event was acknowledged."}),
	}
	for _, c := range causes {
		m.gaps.WithLabelValues(c)
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.gaps, m.open, m.recov, m.failures, m.watermark} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *Metrics) opened(cause string) {
	if m != nil {
		m.gaps.WithLabelValues(cause).Inc()
		m.open.Set(1)
	}
}

func (m *Metrics) recovered(n int) {
	if m != nil {
		m.recov.Add(float64(n))
	}
}

func (m *Metrics) closedGap() {
	if m != nil {
		m.open.Set(0)
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.failures.Inc()
	}
}

func (m *Metrics) setWatermark(ms int64) {
	if m != nil {
		m.watermark.Set(float64(ms) / 1000)
	}
}
