//go:build linux

// Command blackbox is the out-of-process benchmark: the built rhombus-bridge binary as its
// own process, fed over a real WebSocket by a separate feeder process (cmd/feeder, the
// simulator), publishing to nats-server as a separate process, measured side by side in
// one run with a raw PublishMsgAsync baseline and a reference relay (cmd/relay: go-stomp,
// one subscription, PublishMsgAsync with a Nats-Msg-Id, no parsing). CPU is the
// process's own utime+stime from /proc/PID/stat; RSS is its VmHWM.
//
// Then the webhook phase: -webhooks signed org-activity webhooks (HMAC-SHA1, each a new
// alert for one of the feeder's cameras) go from 32 keep-alive senders in this process to
// the bridge's receiver, and as many to a reference receiver process (cmd/webhookref:
// constant-time HMAC check, json.Valid, one synchronous PublishMsg with a Nats-Msg-Id,
// 200 after the PubAck), in batches of 500 that alternate between the two. Every request
// must be answered 200 and every one stored; requests/s is requests ÷ the time of the
// receiver's own batches, latency is the sender's (request written → answer read).
//
//	go run ./internal/blackbox [-burst 100000] [-steady 30s] [-rate 500] [-latency-rate 1000] [-webhooks 6000] [-gomaxprocs N]
//
// -gomaxprocs runs the bridge (only) with that GOMAXPROCS: the default is the machine's
// CPUs; in a container the runtime takes its CPU limit instead (deploy/base sets 1).
//
// It prints a markdown table (docs/benchmarks.md leads with one) and, with -json FILE,
// writes the figures for internal/benchreport. It is a main package, so `go test ./...`
// never runs it; it needs Linux (/proc) and uses only 127.0.0.1.
package main
