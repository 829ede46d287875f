package main

import (
	"bufio"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Result is one benchmark line: BenchmarkName[/sub]-P  N  value unit  value unit ...
type Result struct {
	Name       string // without the Benchmark prefix and the -P suffix: "ThroughputVsRawPublish", "SinkVsRaw/publishers=256"
	Procs      int    // GOMAXPROCS (the -P suffix; 1 when absent)
	Iterations int64
	Metrics    map[string]float64 // by unit: "ns/op", "B/op", "bridge-ev/s", ...
	Units      []string           // the units in the order printed
}

// Output is what one `go test -bench` run printed, parsed.
type Output struct {
	Env     map[string]string // goos, goarch, pkg, cpu
	Results []Result
}

var procsRe = regexp.MustCompile(`^(.*)-(\d+)$`)

// ParseLine parses one benchmark result line; ok is false for any other line.
func ParseLine(line string) (Result, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return Result{}, false
	}
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Result{}, false
	}
	r := Result{Name: strings.TrimPrefix(f[0], "Benchmark"), Procs: 1, Iterations: n, Metrics: map[string]float64{}}
	if m := procsRe.FindStringSubmatch(r.Name); m != nil {
		r.Name = m[1]
		r.Procs, _ = strconv.Atoi(m[2])
	}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return Result{}, false
		}
		if _, dup := r.Metrics[f[i+1]]; !dup {
			r.Units = append(r.Units, f[i+1])
		}
		r.Metrics[f[i+1]] = v
	}
	return r, r.Name != ""
}

// Parse reads `go test -bench` output: results, and the goos/goarch/pkg/cpu header lines.
func Parse(r io.Reader) (Output, error) {
	out := Output{Env: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if res, ok := ParseLine(line); ok {
			out.Results = append(out.Results, res)
			continue
		}
		for _, k := range []string{"goos", "goarch", "pkg", "cpu"} {
			if v, ok := strings.CutPrefix(line, k+": "); ok {
				out.Env[k] = strings.TrimSpace(v)
			}
		}
	}
	return out, sc.Err()
}

// Merge reduces repeated results (-count N) of each name to one whose metrics are the
// medians, keeping first-seen order; Iterations is the total.
func Merge(rs []Result) []Result {
	var order []string
	byName := map[string][]Result{}
	for _, r := range rs {
		if _, seen := byName[r.Name]; !seen {
			order = append(order, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	out := make([]Result, 0, len(order))
	for _, name := range order {
		group := byName[name]
		m := Result{Name: name, Procs: group[0].Procs, Metrics: map[string]float64{}}
		for _, r := range group {
			m.Iterations += r.Iterations
			for _, u := range r.Units {
				if _, ok := m.Metrics[u]; !ok {
					m.Units = append(m.Units, u)
					m.Metrics[u] = median(values(group, u))
				}
			}
		}
		out = append(out, m)
	}
	return out
}

func values(rs []Result, unit string) []float64 {
	var v []float64
	for _, r := range rs {
		if x, ok := r.Metrics[unit]; ok {
			v = append(v, x)
		}
	}
	return v
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
