package main

import (
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// Spec is one `go test -bench` subprocess.
type Spec struct {
	Pkg       string // ./bridge/app
	Pattern   string // -bench regexp
	Benchtime string // full run
	Quick     string // -quick run
	Count     int    // full run; -quick uses 1
	Timeout   time.Duration
	Env       []string // extra environment
	About     string   // what it measures, for the report
}

// suite is every benchmark the report knows about, in report order.
var suite = []Spec{
	{Pkg: "./bridge/app", Pattern: "ThroughputVsRawPublish", Benchtime: "3x", Quick: "1x", Count: 3, Timeout: 15 * time.Minute,
		About: "20,000 STOMP frames in → JetStream PubAcks, against raw PublishMsgAsync of same-size messages to the same server"},
	{Pkg: "./bridge/app", Pattern: "LatencyAt1000PerSecond", Benchtime: "1x", Quick: "1x", Count: 3, Timeout: 10 * time.Minute,
		About: "5,000 events at 1000/s, frame in → PubAck latency"},
	{Pkg: "./sinks/natsjs", Pattern: "SinkVsRaw", Benchtime: "5x", Quick: "1x", Count: 3, Timeout: 10 * time.Minute,
		About: "natsjs sink from N goroutines against raw async publishes, same embedded server"},
	{Pkg: "./sinks/kafka", Pattern: "SinkVsRawWriter", Benchtime: "3x", Quick: "1x", Count: 3, Timeout: 10 * time.Minute,
		About: "Kafka sink against a raw kafka-go Writer with the same settings, 256 goroutines, kfake"},
	{Pkg: "./bridge/pipeline", Pattern: "FanOutPublish", Benchtime: "3x", Quick: "1x", Count: 3, Timeout: 10 * time.Minute,
		About: "pipeline Publish fanned out to nats and kafka from 256 goroutines"},
	{Pkg: "./bridge/app", Pattern: "FanOutEndToEnd", Benchtime: "3x", Quick: "1x", Count: 3, Timeout: 10 * time.Minute,
		About: "the whole bridge with BRIDGE_SINKS=nats,kafka (kfake) against NATS alone, 20,000 STOMP frames in"},
	{Pkg: "./bridge/webhook", Pattern: "VerifiedWebhooks", Benchtime: "20000x", Quick: "2000x", Count: 3, Timeout: 10 * time.Minute,
		About: "signed webhooks over loopback HTTP, verified, published, answered after the PubAck; naive receiver as baseline"},
	{Pkg: "./bridge/event", Pattern: "ParseChange", Benchtime: "1s", Quick: "200ms", Count: 3, Timeout: 5 * time.Minute,
		About: "change payload → Event (CloudEvent body, ids, subject)"},
	{Pkg: "./bridge/spool", Pattern: ".", Benchtime: "1s", Quick: "200ms", Count: 3, Timeout: 5 * time.Minute,
		About: "write-ahead spool: Append/Next/Commit round trip, backlog spill and replay"},
	{Pkg: "./bridge/rhombus", Pattern: "Parse|Resubscribe", Benchtime: "20x", Quick: "3x", Count: 1, Timeout: 10 * time.Minute,
		About: "STOMP frame parsing; fault → next SUBSCRIBE per fault kind (client against the simulator)"},
	{Pkg: "./test/nogaps", Pattern: ".", Benchtime: "3x", Quick: "1x", Count: 1, Timeout: 20 * time.Minute,
		About: "reconnect gap per fault kind, whole bridge"},
	{Pkg: "./test/ha", Pattern: "Failover", Benchtime: "5x", Quick: "1x", Count: 1, Timeout: 30 * time.Minute,
		About: "failover time (leader gone → successor's SUBSCRIBE) per cause and lease backend, separate processes"},
}

var benchFuncRe = regexp.MustCompile(`(?m)^func Benchmark[A-Za-z0-9_]*\(b \*testing\.B\)`)

// hasBenchmarks reports whether the package directory has at least one benchmark.
func hasBenchmarks(root, pkg string) bool {
	files, _ := filepath.Glob(filepath.Join(root, pkg, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && benchFuncRe.Match(b) {
			return true
		}
	}
	return false
}
