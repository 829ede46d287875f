package sinks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/internal/promreg"
)

// Metrics are the counters every sink keeps, labelled by sink name. Several sinks share
// one set of collectors on a registry: NewMetrics reuses collectors already registered.
//
//	rhombus_bridge_sink_published_total{sink}   events acknowledged by the broker
//	rhombus_bridge_sink_errors_total{sink}      Publish calls that returned an error
//	rhombus_bridge_sink_retries_total{sink}     failed attempts the pipeline retried (a sink makes one per Publish)
//	rhombus_bridge_sink_duplicates_total{sink}  events the broker or the sink recognised as already stored
//	rhombus_bridge_sink_publish_seconds{sink}   Publish latency until the broker ack
//	rhombus_bridge_sink_inflight{sink}          Publish calls under way
type Metrics struct {
	published  *prometheus.CounterVec
	errors     *prometheus.CounterVec
	retries    *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inflight   *prometheus.GaugeVec
}

// SinkMetrics is the Metrics of one sink.
type SinkMetrics struct {
	Published  prometheus.Counter
	Errors     prometheus.Counter
	Retries    prometheus.Counter
	Duplicates prometheus.Counter
	Latency    prometheus.Observer
	InFlight   prometheus.Gauge
}

// NewMetrics builds the sink metrics and registers them on reg (nil: not registered).
// A collector that reg already holds under the same name is reused, so every sink can
// call NewMetrics with the same registerer.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	label := []string{"sink"}
	m := &Metrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_sink_published_total",
			Help: "Events acknowledged by the broker."}, label),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_sink_errors_total",
			Help: "Publish calls that returned an error."}, label),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_sink_retries_total",
			Help: "Failed publish attempts the pipeline retried (a sink makes one attempt per Publish)."}, label),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_sink_duplicates_total",
			Help: "Events recognised as already stored (not stored again)."}, label),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "rhombus_bridge_sink_publish_seconds",
			Help:    "Publish latency until the broker ack.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16)}, label),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "rhombus_bridge_sink_inflight",
			Help: "Publish calls under way."}, label),
	}
	if reg == nil {
		return m
	}
	m.published = promreg.MustReuse(reg, m.published)
	m.errors = promreg.MustReuse(reg, m.errors)
	m.retries = promreg.MustReuse(reg, m.retries)
	m.duplicates = promreg.MustReuse(reg, m.duplicates)
	m.latency = promreg.MustReuse(reg, m.latency)
	m.inflight = promreg.MustReuse(reg, m.inflight)
	return m
}

// For returns the metrics of the sink called name.
func (m *Metrics) For(name string) *SinkMetrics {
	return &SinkMetrics{
		Published:  m.published.WithLabelValues(name),
		Errors:     m.errors.WithLabelValues(name),
		Retries:    m.retries.WithLabelValues(name),
		Duplicates: m.duplicates.WithLabelValues(name),
		Latency:    m.latency.WithLabelValues(name),
		InFlight:   m.inflight.WithLabelValues(name),
	}
}

// Begin counts one Publish as in flight; call the returned func with its result.
func (s *SinkMetrics) Begin() func(err error) {
	start := time.Now()
	s.InFlight.Inc()
	return func(err error) { s.End(start, err) }
}

// End counts one attempt, begun at start (InFlight already counted), as finished with err.
func (s *SinkMetrics) End(start time.Time, err error) {
	s.InFlight.Dec()
	if err != nil {
		s.Errors.Inc()
		return
	}
	s.Published.Inc()
	s.Latency.Observe(time.Since(start).Seconds())
}
