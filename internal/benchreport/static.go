package main

import (
	"bytes"
	"fmt"
	"strings"
)

// soak is the lead's soak figures (measured by hand, not by this command).
func soak(b *bytes.Buffer) {
	b.WriteString(`## Soak: 1000 events/s for 60 s

Measured by hand, not by this command: the bridge binary against an external NATS server, the
simulator in another process emitting 1000 policy alerts per second for 60 s.

| | |
|---|---|
| peak RSS (VmHWM of the bridge process) | 51 MiB |
| received events published within the window | 59,964 of 59,970 |

Fixes it found:

- The dedup ids pinned decoded spool records in memory; they no longer do: peak RSS 107 → 51 MiB.
- Enrichment queued behind the REST budget and stalled the delivery lanes; the enricher no longer
  queues behind it.

`)
}

// allResults lists every benchmark line, per package, as parsed (medians over -count).
func (rp Report) allResults(b *bytes.Buffer) {
	b.WriteString("## Every result\n\nMedians over `-count` runs; the units are those the benchmarks report.\n\n")
	for _, r := range rp.Runs {
		fmt.Fprintf(b, "### `%s` -bench '%s'\n\n%s.\n\n", r.Spec.Pkg, r.Spec.Pattern, r.Spec.About)
		if r.Skipped != "" {
			fmt.Fprintf(b, "%s.\n\n", capitalize(r.Skipped))
			continue
		}
		b.WriteString("| benchmark | iterations | figures |\n|---|---:|---|\n")
		for _, res := range r.Results {
			var fs []string
			for _, u := range res.Units {
				if u == "ns/op" && res.Metrics[u] == 0 {
					continue
				}
				fs = append(fs, num(res.Metrics[u])+" "+u)
			}
			fmt.Fprintf(b, "| %s | %d | %s |\n", res.Name, res.Iterations, strings.Join(fs, ", "))
		}
		fmt.Fprintf(b, "\n(%s, took %s)\n\n", r.Note(), r.Took.Round(1e9))
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
