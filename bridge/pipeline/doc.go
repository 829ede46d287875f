// Package pipeline moves events from the bridge's inputs to its sink and keeps the books.
//
// Inputs come in two ways:
//   - Offer and OfferAll, for the live WebSocket feed: never block (the STOMP reader must
//     keep draining or heart-beats stall). OfferAll takes the events of one read from the
//     socket together: with a spool they cost one write. Events wait in the spool
//     (spill.go) or a bounded queue; when
//     that is full the overflow is not dropped silently: it is counted and reported to
//     OnOverflow as a gap, which REST backfill (package recovery) closes for alerts.
//   - Publish, and PublishDup which also says whether the event was a recent duplicate, for
//     the webhook receiver and backfill: synchronous, returns nil only once every sink
//     acknowledged the event. Pipeline implements sinks.Publisher.
//
// The inputs use only this exported API; the pipeline knows none of them.
//
// New takes every sink; with several, one fan-out (fanout.go) serves live and published
// events alike: each sink is delivered to and retried on its own, and an event counts as
// delivered once all acknowledged. A sink makes one attempt per Publish; retry
// (deliver.go) is the only retry loop.
//
// Delivery runs in lanes chosen by partition key, so events of one device keep their order
// while many devices are in flight at once. With one sink that publishes asynchronously
// (sinks.AsyncPublisher: NATS), each lane keeps several events in flight and their
// acknowledgements settle them as they come (pipelined.go). A failed publish is retried with backoff until
// it succeeds or the pipeline stops: an event taken from the socket is never dropped for a
// broker outage. Recently acknowledged ids are remembered (bounded by count and age), so
// backfill overlaps and webhook repeats cost no broker round-trip.
//
// Live events also feed the watermark: the newest timestamp below which every live event
// has been acknowledged (see Watermark).
package pipeline
