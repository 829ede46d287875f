// Package sinks defines what a broker output is (Sink).
//
// A Sink's Publish makes one attempt and returns nil only after its broker durably
// accepted the event. A failure wraps ErrRejected (the broker will never take the event
// as it is: never retry), ErrClosed (the sink was closed), or is transient: the caller
// retries with the same event. The pipeline (bridge/pipeline) owns every retry and the
// fan-out to several sinks. Every implementation (sinks/natsjs, sinks/kafka) runs the
// shared conformance suite in sinks/sinktest, and so does the pipeline's fan-out. Metrics
// (NewMetrics) are shared by all sinks, labelled by sink name.
//
// # Several sinks and one broker's outage
//
// With BRIDGE_SINKS=nats,kafka the pipeline delivers every event to each sink on its own
// and counts it as delivered only once all acknowledged; a sink that already acknowledged
// is not sent the event again while another is retried. A retry of a whole event (a spool
// replay, a webhook sender's retry) is harmless to the sink that already has it: NATS
// drops the copy by Nats-Msg-Id within the stream's duplicate window, and the Kafka sink
// answers from its window of written ids without writing (see sinks/kafka). Keep the NATS
// duplicate window and the Kafka id window (default 10m each) longer than the longest
// outage the pipeline will retry through; beyond that a retry may store a second copy on
// the broker that had acknowledged.
package sinks
