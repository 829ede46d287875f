// Package event is the one event model of rhombus-bridge. Every path into the bridge (the
// WebSocket change feed, webhooks, REST backfill) turns its input into an Event here, once,
// at the edge: parsed, normalised, given its deterministic id, and encoded as a CloudEvents
// 1.0 structured JSON body. Everything downstream (pipeline, sinks) moves Events and never
// re-parses Rhombus payloads.
//
// Ids are deterministic: the same Rhombus occurrence gets the same id on every path and every
// replica. A policy alert's creation is identified by its alert uuid alone, so its WebSocket,
// webhook and backfill copies collapse into one message downstream.
package event
