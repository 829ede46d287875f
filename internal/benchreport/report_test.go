package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func results(t *testing.T, lines string) []Result {
	t.Helper()
	out, err := Parse(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	return Merge(out.Results)
}

// A report from synthetic runs: ratios against the baselines, absent packages as not run,
// and a PNG per plot that has figures.
func TestReportWritesTablesAndPlots(t *testing.T) {
	root := t.TempDir()
	runs := []Run{
		{Spec: Spec{Pkg: "./bridge/app"}, Results: results(t, `BenchmarkThroughputVsRawPublish-2 1 1 ns/op 40000 bridge-ev/s 50000 raw-ev/s 0.8 ratio
BenchmarkLatencyAt1000PerSecond-2 1 1 ns/op 0.9 p50-ms 2.5 p99-ms 7 max-ms`)},
		{Spec: Spec{Pkg: "./bridge/webhook"}, Results: results(t, `BenchmarkVerifiedWebhooks/handler=webhook-2 100 1 ns/op 9000 req/s 3 p50_ms 9 p99_ms
BenchmarkVerifiedWebhooks/handler=naive-2 100 1 ns/op 6000 req/s 5 p50_ms 20 p99_ms`)},
		{Spec: Spec{Pkg: "./bridge/rhombus"}, Results: results(t, `BenchmarkResubscribe/abrupt_close-2 3 1 ns/op 210 p50_ms 400 max_ms`)},
		{Spec: Spec{Pkg: "./test/nogaps"}, Skipped: "not run: no benchmark in ./test/nogaps yet"},
	}
	rp := Report{Runs: runs, ImgDir: "docs/img", OutPath: "docs/benchmarks.md"}
	if err := os.MkdirAll(filepath.Join(root, "docs/img"), 0o755); err != nil {
		t.Fatal(err)
	}
	md, err := rp.Write(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| bridge end to end (STOMP in → JetStream PubAck) | 40,000 events/s | raw PublishMsgAsync, same server: 50,000 | 0.80 |",
		"| webhook receiver, handler=webhook | 9,000 req/s | naive receiver (no limits, one sync publish): 6,000 | 1.50 |",
		"| bridge at 1000 ev/s (frame in → PubAck) | 0.9 | 2.5 | 7 |",
		"Whole bridge (`test/nogaps`): not run: no benchmark in ./test/nogaps yet.",
		"| abrupt_close | 210 | 400 |",
		"`test/ha` BenchmarkFailover: not run.",
		"![Throughput against baseline](img/throughput.png)",
		"58,958 of 58,963",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, png := range []string{"throughput", "latency", "reconnect"} {
		st, err := os.Stat(filepath.Join(root, "docs/img", png+".png"))
		if err != nil || st.Size() < 1000 {
			t.Errorf("%s.png: %v", png, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "docs/img/failover.png")); err == nil {
		t.Error("failover.png drawn without figures")
	}
}

func TestChartRejectsMismatchedSeries(t *testing.T) {
	c := Chart{Title: "x", Groups: []string{"a", "b"}, Series: []Series{{Name: "s", Values: []float64{1}}}}
	if err := c.Save(filepath.Join(t.TempDir(), "x.png")); err == nil {
		t.Fatal("no error for 1 value in 2 groups")
	}
	if err := (Chart{Title: "empty"}).Save(filepath.Join(t.TempDir(), "e.png")); err == nil {
		t.Fatal("no error for an empty chart")
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{1234567: "1,234,567", 999: "999", 12.34: "12.3", 0.1234: "0.123", 0: "0"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
