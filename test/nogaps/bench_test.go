package nogaps

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// roundResult is one measured fault.
type roundResult struct {
	resub     time.Duration // fault → next SUBSCRIBE
	detect    time.Duration // fault → the old connection closed by the bridge (half-open only)
	recovered int64         // alerts published by the backfill that closed the gap
}

// TestMeasureReconnect measures, per fault kind, the time from the fault to the next
// SUBSCRIBE the simulator accepts (p50, max), the half-open detection time, and the
// alerts recovered by backfill per round, over NOGAPS_ROUNDS rounds (20). Each round
// starts from a settled subscription (accepted a second before), so the reconnect
// measured follows an accepted subscription. The kinds run in parallel, each with its own
// simulator, JetStream and bridge, the generator at 100 events/s each. It is a
// measurement, not a test of speed: it asserts nothing about the figures. Run with
//
//	NOGAPS_BENCH=1 go test -run TestMeasureReconnect -parallel 8 -v ./test/nogaps/
//
// and NOGAPS_BENCH_OUT=file to write the markdown table there.
func TestMeasureReconnect(t *testing.T) {
	if os.Getenv("NOGAPS_BENCH") == "" {
		t.Skip("measurement: set NOGAPS_BENCH=1")
	}
	rounds := 20
	if v, err := strconv.Atoi(os.Getenv("NOGAPS_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	var mu sync.Mutex
	results := map[string][]roundResult{}
	t.Run("kinds", func(t *testing.T) {
		for _, k := range faultKinds {
			t.Run(k.name, func(t *testing.T) {
				t.Parallel()
				res := measureKind(t, k, rounds)
				mu.Lock()
				results[k.name] = res
				mu.Unlock()
			})
		}
	})
	table := benchTable(results)
	t.Log("\n" + table)
	if out := os.Getenv("NOGAPS_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func measureKind(t testing.TB, k faultKind, rounds int) []roundResult {
	ns := natstest.Start(t)
	s := startSim(t, "ORG-BENCH-"+strings.ToUpper(k.name))
	b := startBridge(t, baseConfig(t, s, ns.URL(), "bench-"+k.name))
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	generate(t, s, 100)
	out := make([]roundResult, 0, rounds)
	for range rounds {
		waitSettled(t, s)
		before, subs := b.status(t), subscribes(s)
		at := time.Now()
		k.inject(s)
		waitFor(t, k.name+": resubscribed", 60*time.Second, func() bool { return subscribes(s) > subs })
		r := roundResult{resub: s.SubscribeTimes()[subs].Sub(at)}
		if k.name == "half_open" {
			waitFor(t, "the silent connection closed", 10*time.Second, func() bool { return !s.Subscriptions()[subs-1].End.IsZero() })
			r.detect = s.Subscriptions()[subs-1].End.Sub(at)
		}
		waitFor(t, k.name+": gap closed", 90*time.Second, func() bool { return b.status(t).settled(before.Gaps) })
		r.recovered = b.status(t).Backfilled - before.Backfilled
		out = append(out, r)
	}
	return out
}

// BenchmarkReconnect is the same measurement as TestMeasureReconnect, one sub-benchmark
// per fault kind, b.N rounds each (kinds one after another), for internal/benchreport:
// p50-ms and max-ms are fault → next SUBSCRIBE, detect-p50-ms the half-open detection
// time, backfilled/round the alerts backfill published per round. Each round waits for a
// healthy subscription first (5 s), so keep -benchtime small (3x).
func BenchmarkReconnect(b *testing.B) {
	for _, k := range faultKinds {
		b.Run(k.name, func(b *testing.B) {
			res := measureKind(b, k, b.N)
			resub := make([]time.Duration, len(res))
			detect := make([]time.Duration, len(res))
			var rec int64
			for i, r := range res {
				resub[i], detect[i], rec = r.resub, r.detect, rec+r.recovered
			}
			slices.Sort(resub)
			slices.Sort(detect)
			b.ReportMetric(msf(resub[len(resub)/2]), "p50-ms")
			b.ReportMetric(msf(resub[len(resub)-1]), "max-ms")
			if k.name == "half_open" {
				b.ReportMetric(msf(detect[len(detect)/2]), "detect-p50-ms")
			}
			b.ReportMetric(float64(rec)/float64(len(res)), "backfilled/round")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchTable renders the results as the markdown table of docs/benchmarks.md.
func benchTable(results map[string][]roundResult) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "| fault | rounds | fault → SUBSCRIBE p50 | max | half-open detection p50 / max | alerts backfilled per round (p50 / max / total) |\n")
	fmt.Fprintf(&sb, "|---|---|---|---|---|---|\n")
	for _, k := range faultKinds {
		res := results[k.name]
		if len(res) == 0 {
			continue
		}
		resub := make([]time.Duration, len(res))
		detect := make([]time.Duration, len(res))
		rec := make([]int64, len(res))
		var total int64
		for i, r := range res {
			resub[i], detect[i], rec[i] = r.resub, r.detect, r.recovered
			total += r.recovered
		}
		slices.Sort(resub)
		slices.Sort(detect)
		slices.Sort(rec)
		det := "–"
		if k.name == "half_open" {
			det = fmt.Sprintf("%s / %s", ms(detect[len(detect)/2]), ms(detect[len(detect)-1]))
		}
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %s | %d / %d / %d |\n", k.name, len(res), ms(resub[len(resub)/2]),
			ms(resub[len(resub)-1]), det, rec[len(rec)/2], rec[len(rec)-1], total)
	}
	return sb.String()
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d ms", d.Milliseconds())
}
