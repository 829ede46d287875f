package main

import (
	"strings"
	"testing"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/rhombus-bridge/rhombus-bridge/bridge/app
cpu: AMD EPYC 7B13
BenchmarkThroughputVsRawPublish-2   	       1	1234567890 ns/op	     41234 bridge-ev/s	     52000 raw-ev/s	         0.7930 ratio
BenchmarkThroughputVsRawPublish-2   	       1	1234567890 ns/op	     43000 bridge-ev/s	     50000 raw-ev/s	         0.8600 ratio
BenchmarkThroughputVsRawPublish-2   	       1	1234567890 ns/op	     45000 bridge-ev/s	     54000 raw-ev/s	         0.8333 ratio
BenchmarkSinkVsRaw/publishers=256-2 	       3	 512345678 ns/op	     30000 raw_events/s	     25000 sink_events/s	         0.8333 sink/raw	  12345 B/op	     67 allocs/op
BenchmarkFailover/nats/kill-2       	       5	         0 ns/op	      3012 p50-ms	      3511 max-ms
BenchmarkParseChange                	  500000	      2345 ns/op
--- FAIL: BenchmarkBroken
    bench_test.go:12: boom
Benchmark with words in it
BenchmarkOdd-2 12 34 ns/op 5
PASS
ok  	github.com/rhombus-bridge/rhombus-bridge/bridge/app	12.3s
`

func TestParse(t *testing.T) {
	out, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if out.Env["cpu"] != "AMD EPYC 7B13" || out.Env["pkg"] != "github.com/rhombus-bridge/rhombus-bridge/bridge/app" {
		t.Fatalf("env %v", out.Env)
	}
	if len(out.Results) != 6 {
		t.Fatalf("%d results, want 6: %+v", len(out.Results), out.Results)
	}
	s := out.Results[3]
	if s.Name != "SinkVsRaw/publishers=256" || s.Procs != 2 || s.Iterations != 3 || s.Metrics["sink/raw"] != 0.8333 ||
		s.Metrics["allocs/op"] != 67 || strings.Join(s.Units, " ") != "ns/op raw_events/s sink_events/s sink/raw B/op allocs/op" {
		t.Fatalf("sink line: %+v", s)
	}
	f := out.Results[4]
	if f.Name != "Failover/nats/kill" || f.Metrics["p50-ms"] != 3012 || f.Metrics["max-ms"] != 3511 {
		t.Fatalf("failover line: %+v", f)
	}
	if p := out.Results[5]; p.Name != "ParseChange" || p.Procs != 1 || p.Metrics["ns/op"] != 2345 {
		t.Fatalf("no -P suffix: %+v", p)
	}
}

func TestMergeTakesMedians(t *testing.T) {
	out, _ := Parse(strings.NewReader(sample))
	m := Merge(out.Results)
	if len(m) != 4 {
		t.Fatalf("%d merged, want 4", len(m))
	}
	tp := m[0]
	if tp.Iterations != 3 || tp.Metrics["bridge-ev/s"] != 43000 || tp.Metrics["raw-ev/s"] != 52000 ||
		tp.Metrics["ratio"] != 0.8333 {
		t.Fatalf("merged: %+v", tp)
	}
	if median([]float64{4, 1, 3, 2}) != 2.5 || median(nil) != 0 {
		t.Fatal("median")
	}
}
