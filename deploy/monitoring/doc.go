// Package monitoring holds the Prometheus alert rules (alerts.yaml) and the Grafana
// dashboard (dashboard.json) of rhombus-bridge, and the test that keeps them honest:
// both files are decoded strictly, every PromQL expression is checked for balanced
// brackets and well-formed selectors, and every rhombus_bridge_* metric (and every label in
// a selector) they use must be exported by a real in-process bridge (simulator, embedded
// JetStream, NATS lease, webhook receiver) after one event and a few webhooks went through.
//
// It has no code of its own; run it with `go test ./deploy/monitoring`.
package monitoring
