package monitoring_test

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

const webhookSecret = "monitoring-secret"

// family is one exported metric: its variable labels and, once observed, its type.
type family struct {
	labels map[string]bool
	typ    dto.MetricType
	seen   bool
}

type exportedSet map[string]*family

// targetLabels come from Prometheus (scrape target) or the histogram series, not the code.
var targetLabels = map[string]bool{"job": true, "instance": true, "le": true}

// check returns why u is not exported ("" when it is).
func (s exportedSet) check(u *used) string {
	name, f := u.name, s[u.name]
	if f == nil {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(u.name, suf); ok && s[base] != nil {
				name, f = base, s[base]
				if f.seen && f.typ != dto.MetricType_HISTOGRAM && f.typ != dto.MetricType_SUMMARY {
					return u.name + ": " + base + " is a " + f.typ.String() + ", not a histogram"
				}
				if suf == "_bucket" && f.typ == dto.MetricType_SUMMARY {
					return u.name + ": " + base + " is a summary (no buckets)"
				}
			}
		}
	}
	if f == nil {
		return u.name + ": not exported"
	}
	for l := range u.labels {
		if !targetLabels[l] && !f.labels[l] {
			return u.name + ": " + name + " has no label " + l
		}
	}
	return ""
}

func (s exportedSet) names() []string {
	out := make([]string, 0, len(s))
	for n := range s {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var descRe = regexp.MustCompile(`fqName: "([^"]+)".*variableLabels: \{([^}]*)\}`)

// bridgeMetrics runs a bridge the way bridge/app's tests do (simulator, embedded JetStream,
// NATS lease, webhook receiver on; no Kafka), passes one live event and three webhooks
// (signed, unsigned, a duplicate) through it, and returns what its registry describes and
// gathers.
func bridgeMetrics(t *testing.T) exportedSet {
	t.Helper()
	ns := natstest.Start(t)
	s := bridgetest.StartSim(t, sim.Config{DeliverWebhooks: true})
	reg := prometheus.NewRegistry()
	info := bridgetest.Start(t, bridgeConfig(t, s, ns.URL()), app.Options{Version: "test", Registry: reg}).Info
	driveTraffic(t, s, info, reg)

	out := exportedSet{}
	ch := make(chan *prometheus.Desc)
	go func() { reg.Describe(ch); close(ch) }()
	for d := range ch {
		m := descRe.FindStringSubmatch(d.String())
		if m == nil {
			continue
		}
		f := &family{labels: map[string]bool{}}
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				f.labels[l] = true
			}
		}
		out[m[1]] = f
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	lint(t, "after traffic", promlint.NewWithMetricFamilies(mfs))
	for _, mf := range mfs {
		if f := out[mf.GetName()]; f != nil {
			f.typ, f.seen = mf.GetType(), true
		}
	}
	return out
}

// bridgeConfig is bridgetest's default with the NATS lease and the webhook receiver on.
func bridgeConfig(t *testing.T, s *sim.Server, natsURL string) config.Config {
	cfg := bridgetest.Config(t, s, natsURL)
	cfg.Bridge.InstanceID = "monitoring-1"
	cfg.Bridge.Lease = "nats"
	cfg.Bridge.LeaseTTL = 2 * time.Second
	cfg.Webhook.Secrets = []string{webhookSecret}
	return cfg
}

// driveTraffic waits for the subscription, creates one alert (live and by webhook) and
// posts an unsigned webhook, then waits until the published and webhook counters moved.
func driveTraffic(t *testing.T, s *sim.Server, info app.Info, reg *prometheus.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitSubscriptions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	url := "http://" + info.WebhookAddr + webhookPath(t)
	s.SetWebhook(sim.WebhookSettings{URL: url, Secret: webhookSecret})
	s.CreateAlert(sim.Alert{})
	res, err := sim.SendWebhook(ctx, url, []byte(`{"summary":"unsigned"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusUnauthorized && res.Status != http.StatusForbidden {
		t.Errorf("unsigned webhook answered %d", res.Status)
	}
	bridgetest.WaitFor(t, "a published event and a 200 webhook", 30*time.Second, func() bool {
		return counterSum(t, reg, "rhombus_bridge_events_published_total") >= 1 &&
			counterSum(t, reg, "rhombus_bridge_webhook_requests_total", "code", "200") >= 1
	})
}

func webhookPath(t *testing.T) string {
	t.Helper()
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Webhook.Path
}

// counterSum adds the counter's series, only those with label = value when given.
func counterSum(t *testing.T, reg *prometheus.Registry, name string, labelValue ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(labelValue) == 2 && !hasLabel(m, labelValue[0], labelValue[1]) {
				continue
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
