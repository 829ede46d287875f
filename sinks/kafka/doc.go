// Package kafka is the Kafka sink, on segmentio/kafka-go.
//
// Records: key = ev.Key() (the device uuid, else the entity uuid, else "none"); value =
// ev.Body (the same CloudEvent JSON as on NATS, or the raw bytes of an invalid event);
// headers ce_id, ce_type, content-type: application/cloudevents+json (octet-stream for
// invalid events, with rhombus_invalid_reason), rhombus_lease_rev when the event carries
// the leader's lease revision. Partitioning is kafka-go's Murmur2Balancer, the Java
// client's default for keyed records: toPositive(murmur2(key)) % partitions (its
// Consistent flag only changes nil keys, which this sink never writes). Writes are
// synchronous with RequireAll acks and a short batch timeout; concurrent Publish calls
// share batches.
//
// # No duplicates from one process
//
// kafka-go has no idempotent producer, so the sink keeps a window of the ids it wrote
// (DedupMaxIDs, DedupMaxAge):
//
//   - an id already acknowledged is success without writing;
//   - a Publish of an id that is being written waits for that write's outcome;
//   - Publish makes one write attempt (the writer's MaxAttempts is 1 too) and the caller
//     (the pipeline) decides on retries: a rejection that means "not stored" (not
//     leader, unknown partition, not enough replicas) forgets the id; an ambiguous one
//     (timeout, connection lost, NOT_ENOUGH_REPLICAS_AFTER_APPEND, unknown error) marks
//     it "unknown", and the next Publish of it first reads its partition back from the
//     first record stamped at or after the id's first attempt (every attempt carries
//     that timestamp) and looks for a record with its ce_id. Found: success, no write.
//     Errors that say the broker will never take the record (too large, invalid) wrap
//     sinks.ErrRejected; a Publish refused by Close wraps sinks.ErrClosed.
//   - a write attempt is not cancelled by the caller's ctx (an abandoned write would
//     make the outcome unknowable); it is bounded by WriteTimeout and by MaxInFlight
//     attempts at once. Publish itself returns when its ctx ends.
//
// # Across processes
//
// Another process (the previous leader, this replica before a restart) may have written
// an event this one is about to write again (a backfill, a spool replay). Preload reads
// the ce_id of every record on the topic since a given time (ListOffsets by time per
// partition, read up to the high watermarks as they were when it started) into the
// window; Publish waits until it is done. It is bounded by PreloadMaxRecords (the newest
// records of each partition are kept) and PreloadTimeout.
//
// SendGuard, when set, is asked before every write on the writer's connections; the
// bridge refuses them while its lease term has ended, so a thawed leader's request that
// waited in the writer is not sent. Settle waits until the calls and writes under way
// have ended; the bridge calls it before its hand-over lets writes through again.
//
// Duplicates that remain possible: a write of another process that reaches the broker
// after a Preload read its partition (a frozen leader's write still under way when
// Settle gave up); beyond the
// Preload bounds; after an id left the window; when a read-back would exceed VerifyMaxBytes; when a
// produce request reaches the broker after the read-back (a request delayed in the
// network longer than WriteTimeout); and with broker-side LogAppendTime more than 30s
// behind the bridge's clock. Consumers that need exactly-once should still de-duplicate
// on ce_id.
package kafka
