// Package natsjs is the NATS JetStream sink.
//
// New connects (reconnecting forever once connected), creates or updates the stream
// Config.Stream capturing "{prefix}.v1.>" with file storage and the duplicate window, and
// returns a Sink whose Publish sends one event with PublishMsgAsync and returns only after
// its PubAck:
//
//   - Nats-Msg-Id is the event id, so JetStream drops a copy within the duplicate window;
//     a duplicate ack counts as success.
//   - At most MaxInFlight publishes wait for an ack at once (a semaphore and the jetstream
//     pending cap); more callers queue, bounded by their ctx.
//   - Publish makes one attempt. An ack that does not arrive within AckTimeout, a
//     disconnect, a stall or "no responders" is a transient error: the caller (the
//     pipeline) retries with the same event, hence the same msg id (the message may have
//     been stored: the id makes the retry harmless). Errors that say the server will
//     never take the message (a 400/413 API error, a payload over the server's limit, a
//     bad subject) wrap sinks.ErrRejected; a Publish refused or abandoned by Close wraps
//     sinks.ErrClosed.
//   - Publish from one goroutine in sequence keeps its order: a call returns only after
//     its ack, so the next starts after the previous was stored.
//
// Headers: Nats-Msg-Id, Content-Type: application/cloudevents+json, ce_id, ce_type,
// Rhombus-Lease-Rev (the leader's lease revision, when non-zero) and, on invalid events,
// Rhombus-Invalid-Reason.
//
// StartEmbedded runs an in-process nats-server with JetStream for the default
// deployment and the demo; FreeListen finds a free port when the usual one is taken.
package natsjs
