// Command benchreport runs the repository's benchmarks and regenerates docs/benchmarks.md
// with its PNG plots under docs/img:
//
//	go run ./internal/benchreport          # the full run (tens of minutes)
//	go run ./internal/benchreport -quick   # one short round of each (a few minutes)
//
// Each benchmark package runs in its own `go test -run '^$' -bench ... -benchtime ...
// -count N` subprocess; the standard benchmark lines are parsed, custom metrics included
// (b.ReportMetric units such as bridge-ev/s, raw_events/s, ratio, p50-ms), repeated runs
// are reduced to their median, and figures are set against the baseline measured in the
// same run where the benchmark has one. A package that has no benchmark yet, or whose run
// fails, is reported as not run. Nothing here runs under `go test ./...` except the unit
// tests of the parser and the reduction.
package main
