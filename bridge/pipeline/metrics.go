package pipeline

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

type metrics struct {
	received     byVia
	published    byVia
	invalid      prometheus.Counter
	filtered     prometheus.Counter
	duplicates   prometheus.Counter
	overflow     prometheus.Counter
	abandoned    prometheus.Counter
	errors       prometheus.Counter
	fenced       prometheus.Counter
	spoolRefused prometheus.Counter
	queueDepth   prometheus.Gauge
	inflight     prometheus.Gauge
	latency      prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		received: newByVia(prometheus.CounterOpts{Name: "rhombus_bridge_events_received_total",
			Help: "Events taken in, by path (websocket, webhook, backfill, bridge)."}),
		published: newByVia(prometheus.CounterOpts{Name: "rhombus_bridge_events_published_total",
			Help: "Events acknowledged by every sink, by path."}),
		invalid: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_invalid_total",
			Help: "Inputs that could not be understood, sent to the invalid subject."}),
		filtered: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_filtered_total",
			Help: "Events left out by RHOMBUS_ENTITIES."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_duplicates_total",
			Help: "Events already acknowledged recently, not published again."}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_overflow_total",
			Help: "Live events the full queue could not take (recorded as a gap)."}),
		abandoned: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_abandoned_total",
			Help: "Queued events not delivered before the shutdown drain ended (recorded as a gap)."}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_publish_errors_total",
			Help: "Failed publish attempts (each is retried)."}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_fenced_total",
			Help: "Live events not published because the lease term they were taken under ended."}),
		spoolRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_events_spool_refused_total",
			Help: "Live events the spool refused (full, disk error): queued in memory or a gap instead."}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_pipeline_queue_depth",
			Help: "Live events waiting for a delivery lane."}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_publish_inflight",
			Help: "Events being published and not yet acknowledged."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rhombus_bridge_publish_latency_seconds",
			Help:    "From taking an event in to its acknowledgement by every sink.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.received.vec, m.published.vec, m.invalid, m.filtered, m.duplicates,
		m.overflow, m.abandoned, m.errors, m.fenced, m.spoolRefused, m.queueDepth, m.inflight, m.latency} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

// byVia is a counter by path ("via"), each path's child resolved once: WithLabelValues
// hashes the label on every call, twice per event.
type byVia struct {
	vec   *prometheus.CounterVec
	paths map[event.Via]prometheus.Counter
}

// newByVia makes the counter, with every path at 0 from the start.
func newByVia(opts prometheus.CounterOpts) byVia {
	b := byVia{vec: prometheus.NewCounterVec(opts, []string{"via"}), paths: map[event.Via]prometheus.Counter{}}
	for _, via := range []event.Via{event.ViaWebSocket, event.ViaWebhook, event.ViaBackfill, event.ViaBridge} {
		b.paths[via] = b.vec.WithLabelValues(string(via))
	}
	return b
}

func (b byVia) inc(via event.Via) {
	if c, ok := b.paths[via]; ok {
		c.Inc()
		return
	}
	b.vec.WithLabelValues(string(via)).Inc()
}
