package main

import (
	"strings"
)

// figures finds results in the runs of one report.
type figures struct{ runs []Run }

// results returns the results of pkg whose name starts with prefix.
func (f figures) results(pkg, prefix string) []Result {
	var out []Result
	for _, r := range f.runs {
		if r.Spec.Pkg != pkg {
			continue
		}
		for _, res := range r.Results {
			if strings.HasPrefix(res.Name, prefix) {
				out = append(out, res)
			}
		}
	}
	return out
}

func (f figures) one(pkg, name string) (Result, bool) {
	for _, r := range f.results(pkg, name) {
		if r.Name == name {
			return r, true
		}
	}
	return Result{}, false
}

// metric returns the first of the units the result reports (p50-ms and p50_ms alike).
func metric(r Result, units ...string) (float64, bool) {
	for _, u := range units {
		if v, ok := r.Metrics[u]; ok {
			return v, true
		}
	}
	return 0, false
}

func p50(r Result) (float64, bool)  { return metric(r, "p50-ms", "p50_ms") }
func p99(r Result) (float64, bool)  { return metric(r, "p99-ms", "p99_ms") }
func pmax(r Result) (float64, bool) { return metric(r, "max-ms", "max_ms") }

// Comparison is a figure and its baseline from the same run.
type Comparison struct {
	What, Baseline, Unit string
	Value, Base          float64
}

// throughput pairs every throughput figure with its baseline.
func (f figures) throughput() []Comparison {
	var out []Comparison
	for _, r := range f.results("./bridge/app", "ThroughputVsRawPublish") {
		what := "bridge end to end"
		if sub := strings.TrimPrefix(r.Name, "ThroughputVsRawPublish/"); sub != r.Name {
			what += " " + sub
		}
		out = append(out, Comparison{what + " (STOMP in → JetStream PubAck)", "raw PublishMsgAsync, same server",
			"events/s", r.Metrics["bridge-ev/s"], r.Metrics["raw-ev/s"]})
	}
	for _, r := range f.results("./sinks/natsjs", "SinkVsRaw") {
		out = append(out, Comparison{"natsjs sink, " + strings.TrimPrefix(r.Name, "SinkVsRaw/"),
			"raw PublishMsgAsync, same server", "events/s", r.Metrics["sink_events/s"], r.Metrics["raw_events/s"]})
	}
	if r, ok := f.one("./sinks/kafka", "SinkVsRawWriter"); ok {
		out = append(out, Comparison{"kafka sink, 256 publishers", "raw kafka-go Writer, same settings (kfake)",
			"events/s", r.Metrics["sink_events/s"], r.Metrics["raw_events/s"]})
	}
	naive, hasNaive := f.one("./bridge/webhook", "VerifiedWebhooks/handler=naive")
	for _, r := range f.results("./bridge/webhook", "VerifiedWebhooks/handler=webhook") {
		c := Comparison{What: "webhook receiver, " + strings.TrimPrefix(r.Name, "VerifiedWebhooks/"),
			Baseline: "naive receiver (no limits, one sync publish)", Unit: "req/s", Value: r.Metrics["req/s"]}
		if hasNaive {
			c.Base = naive.Metrics["req/s"]
		}
		out = append(out, c)
	}
	return out
}

// Latency is one latency distribution in milliseconds (NaN-free: has says which exist).
type Latency struct {
	What           string
	P50, P99, Max  float64
	HasP99, HasMax bool
}

func (f figures) latency() []Latency {
	var out []Latency
	add := func(what string, r Result) {
		l := Latency{What: what}
		l.P50, _ = p50(r)
		l.P99, l.HasP99 = p99(r)
		l.Max, l.HasMax = pmax(r)
		out = append(out, l)
	}
	if r, ok := f.one("./bridge/app", "LatencyAt1000PerSecond"); ok {
		add("bridge at 1000 ev/s (frame in → PubAck)", r)
	}
	for _, r := range f.results("./bridge/webhook", "VerifiedWebhooks/") {
		add("webhook "+strings.TrimPrefix(r.Name, "VerifiedWebhooks/")+" (sender's view)", r)
	}
	return out
}

// durations returns the p50/max figures of the results of pkg under prefix, named by the
// rest of the benchmark name.
func (f figures) durations(pkg, prefix string) []Latency {
	var out []Latency
	for _, r := range f.results(pkg, prefix) {
		v, ok := p50(r)
		if !ok {
			continue
		}
		l := Latency{What: strings.TrimPrefix(strings.TrimPrefix(r.Name, prefix), "/"), P50: v}
		l.Max, l.HasMax = pmax(r)
		l.P99, l.HasP99 = p99(r)
		if l.What == "" {
			l.What = r.Name
		}
		out = append(out, l)
	}
	return out
}
