package webhook

import (
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
}

// codes are the statuses the handler answers with.
var codes = []int{200, 400, 401, 404, 405, 408, 413, 429, 500, 503}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rhombus_bridge_webhook_requests_total",
			Help: "Webhook requests answered, by HTTP status."}, []string{"code"}),
		sigFail: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_webhook_signature_failures_total",
			Help: "Webhook requests with a missing or wrong signature."}),
		dups: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_webhook_duplicates_total",
			Help: "Verified webhooks for an event this process had already acknowledged (answered 200 at once)."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rhombus_bridge_webhook_latency_seconds",
			Help:    "Time from a webhook's arrival to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_webhook_events_published_total",
			Help: "Webhook events the publisher acknowledged (before the id cache)."}),
	}
	if reg != nil {
		var err error
		if m.requests, err = promreg.Register(reg, m.requests); err == nil {
			m.sigFail, err = promreg.Register(reg, m.sigFail)
		}
		if err == nil {
			m.dups, err = promreg.Register(reg, m.dups)
		}
		if err == nil {
			m.latency, err = promreg.Register(reg, m.latency)
		}
		if err == nil {
			m.published, err = promreg.Register(reg, m.published)
		}
		if err != nil {
			return nil, err
		}
	}
	m.byCode = make(map[int]prometheus.Counter, len(codes))
	for _, c := range codes {
		m.byCode[c] = m.requests.WithLabelValues(strconv.Itoa(c))
	}
	return m, nil
}

func (m *metrics) observe(code int, d time.Duration) {
	if c, ok := m.byCode[code]; ok {
		c.Inc()
	} else {
		m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	}
	m.latency.Observe(d.Seconds())
}
