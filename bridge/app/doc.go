// Package app wires rhombus-bridge together: it turns a validated config.Config into running
// components (embedded or remote NATS, sinks, pipeline, gap recovery, webhook receiver,
// operations endpoints, lease and the leader's Rhombus subscription) and runs them under one
// Run(ctx) with an ordered, bounded shutdown:
//
//  1. inputs stop: the leader's subscription ends and the lease is released at once, the
//     webhook receiver answers 503 to new requests and finishes the ones in flight;
//  2. the pipeline delivers what it holds (bounded by BRIDGE_SHUTDOWN_TIMEOUT);
//  3. the watermark is saved, sinks are flushed and closed, an embedded NATS stops last.
//
// cmd/rhombus-bridge is a thin layer over this package; end-to-end tests use it directly.
package app
