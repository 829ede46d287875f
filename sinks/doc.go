// Package sinks defines what a broker output is (Sink) and how events fan out to several.
//
// A Sink's Publish returns nil only after its broker durably accepted the event; every
// implementation (sinks/natsjs, sinks/kafka) runs the shared conformance suite in
// sinks/sinktest. Metrics (NewMetrics) are shared by all sinks, labelled by sink name.
//
// # Fan-out and one broker's outage
//
// Fanout(nats, kafka) publishes each event to every sink concurrently and acknowledges
// it only when all of them did. When one broker is down, Publish returns an error naming
// that sink, and the caller keeps the event and retries the whole event (the pipeline
// holds its watermark and webhook answers stay non-2xx meanwhile; nothing is dropped).
// The retry is harmless to the sink that already acknowledged: NATS drops the copy by
// Nats-Msg-Id within the stream's duplicate window, and the Kafka sink answers from its
// window of written ids without writing (see sinks/kafka). So an outage of one broker
// costs the other only the repeated round trip of a duplicate publish, and holds back
// no more events than the caller's own bounded queue/backoff allows: the policy is
// "deliver to all or hold", never "deliver to some and forget the rest". Keep the NATS
// duplicate window and the Kafka id window (default 10m each) longer than the longest
// outage the caller will retry through; beyond that a retry may store a second copy on
// the broker that had acknowledged.
package sinks
