package monitoring_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The PromQL checker itself: good expressions pass, broken ones are caught.
func TestPromQLChecker(t *testing.T) {
	good := []string{
		`max by (job) (rhombus_bridge_ws_subscribed) < 1`,
		`histogram_quantile(0.99, sum by (le) (rate(rhombus_bridge_publish_latency_seconds_bucket{job=~"$job"}[$__rate_interval])))`,
		`sum(rate(rhombus_bridge_rest_requests_total{code="429", path!~"a,b"}[5m])) > 0.1`,
		`time() - rhombus_bridge_watermark_timestamp_seconds`,
		`label_values(rhombus_bridge_ws_subscribed{job=~"$job"}, instance)`,
		`max_over_time(rhombus_bridge_gap_open[1h:1m])`,
	}
	for _, e := range good {
		if p := checkPromQL(e); len(p) > 0 {
			t.Errorf("%s: %v", e, p)
		}
	}
	bad := []string{
		`max by (job) (rhombus_bridge_ws_subscribed < 1`,
		`rate(rhombus_bridge_publish_errors_total[5x])`,
		`histogram_quantil(0.5, x)`,
		`rhombus_bridge_ws_subscribed{job=~$job}`,
		`sum(rhombus_bridge_spool_events{a="b)`,
		`sum(rhombus_bridge_spool_events])`,
	}
	for _, e := range bad {
		if p := checkPromQL(e); len(p) == 0 {
			t.Errorf("%s: no problem found", e)
		}
	}
	m := metricsIn(`sum(rate(rhombus_bridge_rest_requests_total{code="429",path=~"x"}[5m])) / rhombus_bridge_x`)
	if len(m) != 2 || !m["rhombus_bridge_rest_requests_total"].labels["code"] || !m["rhombus_bridge_rest_requests_total"].labels["path"] {
		t.Fatalf("metricsIn: %+v", m)
	}
}

// Every alert the operator needs is there.
func TestAlertsCoverTheFailureModes(t *testing.T) {
	exprs := loadAlerts(t)
	need := map[string]string{ // a metric each needed alert must use
		"not subscribed":                "rhombus_bridge_ws_subscribed",
		"gap open":                      "rhombus_bridge_gap_open",
		"publish errors":                "rhombus_bridge_publish_errors_total",
		"sink errors":                   "rhombus_bridge_sink_errors_total",
		"spool backlog":                 "rhombus_bridge_spool_events",
		"queue backlog":                 "rhombus_bridge_pipeline_queue_depth",
		"lease flapping":                "rhombus_bridge_lease_transitions_total",
		"no leader":                     "rhombus_bridge_lease_leader",
		"webhook signature failures":    "rhombus_bridge_webhook_signature_failures_total",
		"REST 429s":                     "rhombus_bridge_rest_requests_total",
		"events to the invalid subject": "rhombus_bridge_events_invalid_total",
	}
	for what, metric := range need {
		found := false
		for _, e := range exprs {
			if _, ok := metricsIn(e)[metric]; ok {
				found = true
			}
		}
		if !found {
			t.Errorf("no alert for %s (using %s)", what, metric)
		}
	}
}

// The dashboard shows what the brief lists.
func TestDashboardCoversTheMetrics(t *testing.T) {
	exprs := loadDashboard(t)
	all := strings.Join(mapValues(exprs), "\n")
	for _, want := range []string{
		"rhombus_bridge_events_received_total", "rhombus_bridge_events_published_total",
		"histogram_quantile(0.5, sum by (le) (rate(rhombus_bridge_publish_latency_seconds_bucket",
		"histogram_quantile(0.99, sum by (le) (rate(rhombus_bridge_publish_latency_seconds_bucket",
		"rhombus_bridge_sink_publish_seconds_bucket", "rhombus_bridge_publish_inflight",
		"rhombus_bridge_pipeline_queue_depth", "rhombus_bridge_spool_bytes", "rhombus_bridge_spool_events",
		"rhombus_bridge_ws_reconnects_total", "sum by (cause) (increase(rhombus_bridge_ws_disconnects_total",
		"rhombus_bridge_gaps_total", "rhombus_bridge_backfilled_total",
		"time() - rhombus_bridge_watermark_timestamp_seconds", "rhombus_bridge_lease_leader",
		"rhombus_bridge_lease_revision", "rhombus_bridge_lease_transitions_total",
		"sum by (code) (rate(rhombus_bridge_webhook_requests_total", "rhombus_bridge_rest_requests_total",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("dashboard: no query with %q", want)
		}
	}
}

// Both files parse, every expression is well formed, and every metric and selector label
// they use is one a running bridge exports.
func TestMetricsExistInTheCode(t *testing.T) {
	exprs := map[string]string{}
	for k, v := range loadAlerts(t) {
		exprs["alerts.yaml "+k] = v
	}
	for k, v := range loadDashboard(t) {
		exprs["dashboard.json "+k] = v
	}
	for where, e := range exprs {
		for _, p := range checkPromQL(e) {
			t.Errorf("%s: %s\n\t%s", where, p, e)
		}
	}
	exported := bridgeMetrics(t)
	var missing []string
	for where, e := range exprs {
		for _, u := range metricsIn(e) {
			if p := exported.check(u); p != "" {
				missing = append(missing, fmt.Sprintf("%s: %s", where, p))
			}
		}
	}
	sort.Strings(missing)
	missing = slices.Compact(missing)
	if len(missing) > 0 {
		t.Errorf("%d uses of metrics the code does not export:\n\t%s\nexported: %v", len(missing),
			strings.Join(missing, "\n\t"), exported.names())
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
