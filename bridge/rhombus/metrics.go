package rhombus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/internal/promreg"
)

// knownHandshakeStatuses are the statuses a refused handshake is expected to carry
// (others are counted too, from their first occurrence).
var knownHandshakeStatuses = []string{"400", "401", "403", "404", "429", "500", "502", "503", "504"}

// feedMetrics are the live feed's metrics.
type feedMetrics struct {
	disconnects *prometheus.CounterVec
	reconnects  prometheus.Counter
	subscribed  prometheus.Gauge
	handshake   *prometheus.CounterVec
	messages    prometheus.Counter
}

// RegisterFeedMetrics registers the feed's metrics with reg now, every known label value
// at 0, before a Subscriber exists (one created later shares them): a scrape taken while
// the org is still being discovered already has them.
func RegisterFeedMetrics(reg prometheus.Registerer) { newFeedMetrics(reg) }

func newFeedMetrics(reg prometheus.Registerer) *feedMetrics {
	m := &feedMetrics{
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rhombus_bridge_ws_disconnects_total",
			Help: "Rhombus WebSocket connections that ended or failed to come up, by cause.",
		}, []string{"cause"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rhombus_bridge_ws_reconnects_total",
			Help: "Subscriptions re-established after the first one.",
		}),
		subscribed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rhombus_bridge_ws_subscribed",
			Help: "1 while the change-feed subscription is live.",
		}),
		handshake: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rhombus_bridge_ws_handshake_failures_total",
			Help: "WebSocket handshakes refused by Rhombus, by HTTP status.",
		}, []string{"status"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rhombus_bridge_ws_messages_total",
			Help: "STOMP MESSAGE frames received from the change feed.",
		}),
	}
	m.disconnects = promreg.MustReuse(reg, m.disconnects)
	m.reconnects = promreg.MustReuse(reg, m.reconnects)
	m.subscribed = promreg.MustReuse(reg, m.subscribed)
	m.handshake = promreg.MustReuse(reg, m.handshake)
	m.messages = promreg.MustReuse(reg, m.messages)
	for _, c := range knownCauses { // every known label value exists from the start
		m.disconnects.WithLabelValues(string(c))
	}
	for _, st := range knownHandshakeStatuses {
		m.handshake.WithLabelValues(st)
	}
	return m
}
