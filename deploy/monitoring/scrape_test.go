package monitoring_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestScrapeRightAfterStart scrapes /metrics as Prometheus would, as soon as the bridge is
// ready and before any event: promlint (the checks of `promtool check metrics`) finds no
// problem, and every metric the alert rules and the dashboard use is there, with the NATS
// lease and without a lease (lease_leader too: a replica without a lease leads).
func TestScrapeRightAfterStart(t *testing.T) {
	for _, lease := range []string{"nats", "none"} {
		t.Run("lease="+lease, func(t *testing.T) {
			body := scrapeAtStart(t, lease)
			lint(t, "first scrape", promlint.New(bytes.NewReader(body)))
			checkUsedPresent(t, body)
		})
	}
}

// lint fails for every problem promlint (the checks of `promtool check metrics`) finds.
func lint(t *testing.T, what string, l *promlint.Linter) {
	t.Helper()
	problems, err := l.Lint()
	if err != nil {
		t.Fatalf("promlint, %s: %v", what, err)
	}
	for _, p := range problems {
		t.Errorf("promlint, %s: %s: %s", what, p.Metric, p.Text)
	}
	t.Logf("promlint, %s: %d problems", what, len(problems))
}

// scrapeAtStart starts a bridge with production's registry (Go and process collectors)
// and returns its first /metrics answer.
func scrapeAtStart(t *testing.T, lease string) []byte {
	t.Helper()
	ns := natstest.Start(t)
	s := bridgetest.StartSim(t, sim.Config{})
	cfg := bridgeConfig(t, s, ns.URL())
	cfg.Bridge.Lease = lease
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := bridgetest.Start(t, cfg, app.Options{Version: "test", Registry: reg}).Info
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+info.OpsAddr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain") // the text format, as promtool reads it
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s, %v", resp.Status, err)
	}
	return body
}

// checkUsedPresent fails for every metric of alerts.yaml and dashboard.json the scrape
// lacks (histograms by their _bucket, _sum and _count series).
func checkUsedPresent(t *testing.T, body []byte) {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the scrape: %v", err)
	}
	present := func(name string) bool {
		if f := fams[name]; f != nil && len(f.GetMetric()) > 0 {
			return true
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && fams[base] != nil && len(fams[base].GetMetric()) > 0 {
				return true
			}
		}
		return false
	}
	var missing []string
	for name := range usedMetrics(t) {
		if !present(name) {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the first scrape lacks %d metrics the rules or dashboard use:\n\t%s", len(missing), strings.Join(missing, "\n\t"))
	}
}

// usedMetrics is every metric name the alert rules and the dashboard's queries use.
func usedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, exprs := range []map[string]string{loadAlerts(t), loadDashboard(t)} {
		for _, e := range exprs {
			for name := range metricsIn(e) {
				out[name] = true
			}
		}
	}
	return out
}
