// Package ops serves the operations endpoints on HTTP_ADDR: /healthz (the process works),
// /readyz (sinks reachable and this replica leading with a live subscription, or standing
// by on the lease), /status (JSON) and /metrics (Prometheus text). It only reads: every
// answer comes from functions the program wires in.
//
// /debug/pprof/ (index, cmdline, profile, symbol, trace) is served only with
// Config.Pprof (HTTP_PPROF=true); otherwise those paths are 404. The server bounds every
// connection: headers within 5 s and 16 KiB, a request within 10 s, an answer within 15 s
// (125 s with the profiler on, for profiles of up to two minutes), idle keep-alive
// connections for a minute.
package ops
