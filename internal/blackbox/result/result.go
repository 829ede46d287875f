// Package result holds the black-box benchmark's figures (internal/blackbox measures
// them, internal/benchreport reports them) and their markdown table.
package result

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Figures are one process's measurements.
type Figures struct {
	SteadyCPUus  float64 `json:"steady_cpu_us_per_event"` // utime+stime over the steady window ÷ events stored
	SteadyRSSMiB float64 `json:"steady_rss_mib"`          // VmHWM after the steady window
	LatencyP50ms float64 `json:"latency_p50_ms"`          // feeder send → JetStream consumer
	LatencyP99ms float64 `json:"latency_p99_ms"`
	BurstPerSec  float64 `json:"burst_events_per_s"`     // burst events ÷ (burst sent → last one stored)
	BurstCPUus   float64 `json:"burst_cpu_us_per_event"` // utime+stime over the burst ÷ events stored
	PeakRSSMiB   float64 `json:"peak_rss_mib"`           // VmHWM after the burst
}

// Results are one run's figures and the sizes it ran with.
type Results struct {
	Burst       int           `json:"burst"`
	Rate        int           `json:"rate"`
	Steady      time.Duration `json:"steady_ns"`
	LatencyRate int           `json:"latency_rate"`
	RawPerSec   float64       `json:"raw_msgs_per_s"` // raw PublishMsgAsync of Burst messages of BodyBytes
	BodyBytes   int           `json:"body_bytes"`
	GOMAXPROCS  int           `json:"bridge_gomaxprocs,omitempty"` // set for the bridge (0: its default)
	Bridge      Figures       `json:"bridge"`
	Relay       Figures       `json:"relay"`
	// Webhooks signed requests went to the bridge and as many to the reference receiver,
	// from WebhookSenders concurrent senders (0: the phase did not run).
	Webhooks       int     `json:"webhooks,omitempty"`
	WebhookSenders int     `json:"webhook_senders,omitempty"`
	BridgeWebhook  Webhook `json:"bridge_webhook"`
	RefWebhook     Webhook `json:"reference_webhook"`
}

// Webhook is one receiver's figures over the webhook phase.
type Webhook struct {
	PerSec float64 `json:"requests_per_s"` // requests ÷ the time its batches took
	P50ms  float64 `json:"p50_ms"`         // sender: request written → 200 read
	P99ms  float64 `json:"p99_ms"`
	CPUus  float64 `json:"cpu_us_per_request"` // utime+stime over its batches ÷ requests
}

// Table writes r as a markdown table: bridge, reference relay, raw baseline.
func (r *Results) Table(w io.Writer) {
	b, rl := r.Bridge, r.Relay
	bridge := "bridge"
	if r.GOMAXPROCS > 0 {
		bridge = fmt.Sprintf("bridge (GOMAXPROCS=%d)", r.GOMAXPROCS)
	}
	fmt.Fprintf(w, "| figure | %s | reference relay | raw PublishMsgAsync |\n|---|---:|---:|---:|\n", bridge)
	fmt.Fprintf(w, "| burst of %d: events/s stored | %.0f | %.0f | %.0f msg/s (%d B) |\n", r.Burst, b.BurstPerSec, rl.BurstPerSec, r.RawPerSec, r.BodyBytes)
	fmt.Fprintf(w, "| burst: ratio to raw | %.2f | %.2f | 1 |\n", b.BurstPerSec/r.RawPerSec, rl.BurstPerSec/r.RawPerSec)
	fmt.Fprintf(w, "| burst: CPU µs per event | %.1f | %.1f | |\n", b.BurstCPUus, rl.BurstCPUus)
	fmt.Fprintf(w, "| peak RSS (VmHWM), MiB | %.1f | %.1f | |\n", b.PeakRSSMiB, rl.PeakRSSMiB)
	fmt.Fprintf(w, "| latency p50 / p99 at %d ev/s, ms | %.2f / %.2f | %.2f / %.2f | |\n", r.LatencyRate, b.LatencyP50ms, b.LatencyP99ms, rl.LatencyP50ms, rl.LatencyP99ms)
	fmt.Fprintf(w, "| steady %d ev/s for %s: CPU µs per event | %.1f (%.2f× relay) | %.1f | |\n", r.Rate, r.Steady, b.SteadyCPUus, b.SteadyCPUus/rl.SteadyCPUus, rl.SteadyCPUus)
	fmt.Fprintf(w, "| steady: RSS (VmHWM so far), MiB | %.1f (%.2f× relay) | %.1f | |\n", b.SteadyRSSMiB, b.SteadyRSSMiB/rl.SteadyRSSMiB, rl.SteadyRSSMiB)
	r.webhookTable(w)
}

// webhookTable writes the webhook phase's figures, when it ran, as a second table.
func (r *Results) webhookTable(w io.Writer) {
	if r.Webhooks == 0 {
		return
	}
	b, rf := r.BridgeWebhook, r.RefWebhook
	fmt.Fprintf(w, "\n| webhooks: %d signed to each, %d senders | bridge | reference receiver |\n|---|---:|---:|\n", r.Webhooks, r.WebhookSenders)
	fmt.Fprintf(w, "| requests/s answered 200 | %.0f (%.2f× reference) | %.0f |\n", b.PerSec, b.PerSec/rf.PerSec, rf.PerSec)
	fmt.Fprintf(w, "| latency p50 / p99, ms | %.2f / %.2f | %.2f / %.2f |\n", b.P50ms, b.P99ms, rf.P50ms, rf.P99ms)
	fmt.Fprintf(w, "| CPU µs per request | %.1f | %.1f |\n", b.CPUus, rf.CPUus)
}

// WriteFile writes r as JSON.
func (r *Results) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ReadFile reads what WriteFile wrote.
func ReadFile(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
