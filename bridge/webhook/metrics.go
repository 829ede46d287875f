package webhook

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/internal/promreg"
)

// metrics are the receiver's Prometheus metrics.
type metrics struct {
	requests  *prometheus.CounterVec
	byCode    map[int]prometheus.Counter // resolved once: no label lookup per request
	sigFail   prometheus.Counter
	dups      prometheus.Counter
	latency   prometheus.Histogram
	published prometheus.Counter
	shed      prometheus.Counter
	buffered  prometheus.Gauge
}

// codes are the statuses the handler answers with; each has its series from the start.
var codes = []int{200, 400, 401, 404, 405, 408, 413, 429, 500, 503}

// RegisterMetrics registers the receiver's metrics with reg, every series at 0, so that
// they exist from the process's start (an increase() alert then sees the first event)
// even before the receiver is built. New registers (or reuses) the same ones.
func RegisterMetrics(reg prometheus.Registerer) error {
	_, err := newMetrics(reg)
	return err
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_webhook_requests_total",
			Help: "Webhook requests answered, by HTTP status."}, []string{"code"}),
		sigFail: counter("rhombus_bridge_webhook_signature_failures_total",
			"Webhook requests with a missing or wrong signature."),
		dups: counter("rhombus_bridge_webhook_duplicates_total",
			"Verified webhooks for an event this process had already acknowledged (answered 200 at once)."),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rhombus_bridge_webhook_latency_seconds",
			Help:    "Time from a webhook's arrival to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		published: counter("rhombus_bridge_webhook_events_published_total",
			"Webhook events the publisher acknowledged (before the id cache)."),
		shed: counter("rhombus_bridge_webhook_connections_shed_total",
			"Webhook connections closed because the connection cap was reached."),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_webhook_buffered_bytes",
			Help: "Webhook body bytes buffered by requests in progress (bounded by the 64 MiB body budget)."}),
	}
	if err := m.register(reg); err != nil {
		return nil, err
	}
	m.byCode = make(map[int]prometheus.Counter, len(codes))
	for _, c := range codes {
		m.byCode[c] = m.requests.WithLabelValues(strconv.Itoa(c))
	}
	return m, nil
}

// register registers every metric with reg (nil: none), reusing those already there.
func (m *metrics) register(reg prometheus.Registerer) error {
	var err1, err2, err3 error
	m.requests, err1 = promreg.Register(reg, m.requests)
	m.latency, err2 = promreg.Register(reg, m.latency)
	m.buffered, err3 = promreg.Register(reg, m.buffered)
	errs := []error{err1, err2, err3}
	for _, c := range []*prometheus.Counter{&m.sigFail, &m.dups, &m.published, &m.shed} {
		var err error
		*c, err = promreg.Register(reg, *c)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *metrics) observe(code int, d time.Duration) {
	if c, ok := m.byCode[code]; ok {
		c.Inc()
	} else {
		m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	}
	m.latency.Observe(d.Seconds())
}
