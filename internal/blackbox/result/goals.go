package result

import (
	"fmt"
	"io"
)

// goal is one of issue 14's targets for the out-of-process figures.
type goal struct {
	what   string
	value  float64
	limit  float64
	atMost bool // value ≤ limit; else value ≥ limit
	unit   string
}

func (r *Results) goals() []goal {
	b, rl := r.Bridge, r.Relay
	gs := []goal{
		{"CPU per event over the burst", b.BurstCPUus, 15, true, " µs"},
		{"burst throughput ÷ raw PublishMsgAsync", b.BurstPerSec / r.RawPerSec, 0.5, false, ""},
		{"peak RSS over the burst", b.PeakRSSMiB, 48, true, " MiB"},
		{fmt.Sprintf("latency p99 at %d ev/s", r.LatencyRate), b.LatencyP99ms, 5, true, " ms"},
		{"steady CPU per event ÷ the relay's", b.SteadyCPUus / rl.SteadyCPUus, 1.2, true, "×"},
		{"steady RSS ÷ the relay's", b.SteadyRSSMiB / rl.SteadyRSSMiB, 2, true, "×"},
	}
	if r.Webhooks == 0 {
		return gs
	}
	bw, rw := r.BridgeWebhook, r.RefWebhook
	return append(gs,
		goal{"webhook requests/s ÷ the reference receiver's", bw.PerSec / rw.PerSec, 1, false, "×"},
		goal{"webhook p99 (the reference receiver's as target)", bw.P99ms, rw.P99ms, true, " ms"})
}

// Goals writes the bridge's figures against issue 14's targets as a markdown table.
func (r *Results) Goals(w io.Writer) {
	fmt.Fprintf(w, "| goal (issue 14) | target | measured | |\n|---|---:|---:|---|\n")
	for _, g := range r.goals() {
		op, met := "≥", g.value >= g.limit
		if g.atMost {
			op, met = "≤", g.value <= g.limit
		}
		verdict := "**missed**"
		if met {
			verdict = "met"
		}
		fmt.Fprintf(w, "| %s | %s %.4g%s | %.3g%s | %s |\n", g.what, op, g.limit, g.unit, g.value, g.unit, verdict)
	}
}
