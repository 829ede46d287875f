package main

import (
	"bytes"
	"fmt"
	"strings"
)

// soak is the hand-measured soak and the goals of the issues against the figures
// (measured by hand, not by this command).
func soak(b *bytes.Buffer) {
	b.WriteString(`## Soak: 1000 events/s for 60 s

Measured by hand, not by this command (2026-11-25): the bridge binary with its defaults (spool,
enrichment, NATS lease) against this machine's NATS server (Debian's 2.9.10 on 127.0.0.1:4222),
the simulator in another process emitting 1000 events/s over 50 cameras for 60 s.

| | |
|---|---|
| peak RSS (VmHWM of the bridge process) | 52 MiB (goal ≤ 64 MiB) |
| received events published within the window | 58,958 of 58,963 (the other 5: byte-identical DEVICE_CONFIG updates the simulator sent twice within one millisecond, collapsed by their id; rhombus_bridge_events_duplicates_total was 5 in a rerun) |
| mean frame-in → PubAck latency | 0.47 ms |

Fixes it found:

- The dedup ids pinned decoded spool records in memory; they no longer do: peak RSS 107 → 51 MiB.
- Enrichment queued behind the REST budget and stalled the delivery lanes; the enricher no longer
  queues behind it, nor waits out a Retry-After.
- A NATS server older than 2.11 has no KV limit markers and the lease refused to start; it now
  works without them (failover after a crash then takes up to 2 × TTL).

## Against the goals

| goal (issue) | measured | |
|---|---|---|
| end to end ≥ 0.8 of raw PublishMsgAsync (#2) | 0.28–0.31 | **missed** |
| frame-in → PubAck p99 ≤ 5 ms at 1000 ev/s (#2) | 0.73 ms | met |
| peak RSS ≤ 64 MiB (#2) | 52 MiB | met |
| abrupt close → SUBSCRIBE ≤ 250 ms median (#4) | 0.9 ms | met |
| half-open detected within 2 × heart-beat + 1 s (#4) | 2.5 s at 1 s heart-beats | met |
| failover after kill -9 ≤ TTL + 1 s (#5, TTL 2 s in the test) | 1.7 s (NATS), 2.0 s (Kafka) | met |
| failover on SIGTERM ≤ 1 s (#5) | 6 ms (NATS), 0.2 s (Kafka) | met |
| webhooks ≥ 10,000 req/s, p99 ≤ 10 ms (#7) | 14,700 req/s, p99 7.9 ms | met |

Why the end-to-end ratio is far from 0.8: both cores are saturated in that benchmark, and the
baseline does a third of the work. Per event the bridge also runs the simulator's side (JSON,
STOMP, a WebSocket write), reads and guards the STOMP stream, parses the change (encoding/json,
about 12 % of the CPU profile), builds the CloudEvent, hands it through the lanes and waits for
its own PubAck on a goroutine per lane (about 25 %), and the garbage collector takes about 10 %.
The NATS sink alone reaches 0.70–0.73 of raw. Closing the gap would take batching across lanes
and a hand-written parser; at the rates Rhombus produces (an org's change feed, not thousands a
second) the 30,000 events/s measured leave a wide margin.

Fan-out end to end (BenchmarkFanOutEndToEnd, run by hand after the report above, same machine):
the whole bridge with nats,kafka moves 15,800–16,000 events/s against 34,300–39,200 with NATS alone
(kfake shares the two cores). Delivering to each sink on its own, so that one broker's outage does
not stop the other, costs about 15 % against the earlier single fan-out call per event (17,700–19,700
events/s in an A/B run of the same benchmark).

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
