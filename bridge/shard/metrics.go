package shard

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	led, replicas, share prometheus.Gauge
	handoffs             prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		led: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_shard_orgs_led",
			Help: "Orgs this replica leads (partner mode)."}),
		replicas: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_shard_replicas",
			Help: "Live replicas this replica sees (partner mode)."}),
		share: prometheus.NewGauge(prometheus.GaugeOpts{Name: "rhombus_bridge_shard_fair_share",
			Help: "ceil(orgs / live replicas): the most orgs this replica campaigns for."}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{Name: "rhombus_bridge_shard_handoffs_total",
			Help: "Orgs this replica gave up because it led more than its fair share."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.led, m.replicas, m.share, m.handoffs} {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) set(led, replicas, share int) {
	m.led.Set(float64(led))
	m.replicas.Set(float64(replicas))
	m.share.Set(float64(share))
}
