// Package ops serves the operations endpoints on HTTP_ADDR: /healthz (the process works),
// /readyz (sinks reachable and this replica leading with a live subscription, or standing
// by on the lease), /status (JSON) and /metrics (Prometheus text). It only reads: every
// answer comes from functions the program wires in.
package ops
