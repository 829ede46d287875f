package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/result"
)

// The out-of-process figures lead the report, with the command, the ratios against the
// raw baseline and the relay, and a CPU plot; without them the section says why.
func TestReportLeadsWithBlackBox(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "docs/img"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &result.Results{Burst: 100000, Rate: 500, Steady: 30 * time.Second, LatencyRate: 1000, RawPerSec: 100000, BodyBytes: 1199,
		Bridge:   result.Figures{BurstPerSec: 10000, BurstCPUus: 80, SteadyCPUus: 400, SteadyRSSMiB: 40, PeakRSSMiB: 70, LatencyP99ms: 3},
		Relay:    result.Figures{BurstPerSec: 50000, BurstCPUus: 15, SteadyCPUus: 200, SteadyRSSMiB: 20, PeakRSSMiB: 25},
		Webhooks: 6000, WebhookSenders: 32,
		BridgeWebhook: result.Webhook{PerSec: 6000, P50ms: 4, P99ms: 15, CPUus: 100},
		RefWebhook:    result.Webhook{PerSec: 8000, P50ms: 3, P99ms: 12.5, CPUus: 70}}
	rp := Report{ImgDir: "docs/img", OutPath: "docs/benchmarks.md", BlackBox: BlackBox{Results: r, Cmd: "go run ./internal/blackbox"}}
	md, err := rp.Write(root)
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{
		"| burst of 100000: events/s stored | 10000 | 50000 | 100000 msg/s (1199 B) |",
		"| burst: ratio to raw | 0.10 | 0.50 | 1 |",
		"| steady 500 ev/s for 30s: CPU µs per event | 400.0 (2.00× relay) | 200.0 | |",
		"Command: `go run ./internal/blackbox`",
		"| CPU per event over the burst | ≤ 15 µs | 80 µs | **missed** |",
		"| latency p99 at 1000 ev/s | ≤ 5 ms | 3 ms | met |",
		"![CPU per event, out of process](img/blackbox-cpu.png)",
		"| webhooks: 6000 signed to each, 32 senders | bridge | reference receiver |",
		"| requests/s answered 200 | 6000 (0.75× reference) | 8000 |",
		"| latency p50 / p99, ms | 4.00 / 15.00 | 3.00 / 12.50 |",
		"| webhook requests/s ÷ the reference receiver's | ≥ 1× | 0.75× | **missed** |",
		"| webhook p99 (the reference receiver's as target) | ≤ 12.5 ms | 15 ms | **missed** |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Index(s, "## Out of process") > strings.Index(s, "## Throughput against baseline") {
		t.Error("the out-of-process section must come first")
	}
	rp.BlackBox = BlackBox{Skipped: "left out by -only"}
	if md, err = rp.Write(root); err != nil || !strings.Contains(string(md), "Not run (left out by -only).") {
		t.Fatalf("without figures: %v\n%s", err, md)
	}
}
