// Package spool is the bridge's durable local spool: while a broker is down, live events
// already taken from the Rhombus socket spill to disk under BRIDGE_DATA_DIR instead of
// being lost or held in unbounded memory, and are replayed in order when the broker is back.
//
// # Layout
//
// The spool is a directory of segment files, {seq}.seg, where seq (20 digits) is the
// sequence number of the segment's first record. A segment starts with an 8-byte header
// ("rbspool" and a version byte) followed by records, each framed as
//
//	length  uint32 little endian, bytes of payload
//	crc     uint32 little endian, CRC-32C of the length bytes and the payload
//	payload the event in a compact binary form (see record.go)
//
// Appends go to the last segment; a new one starts when it would exceed SegmentBytes.
// Beside the segments, the file "cursor" holds the commit point: every record below it has
// been delivered. It has two checksummed slots written alternately, so a torn write of one
// leaves the other.
//
// # Consuming
//
// Next (or NextSeq) hands out the oldest record not yet handed out; it blocks until one
// exists or ctx ends. A record leaves the spool for good only once it is acknowledged:
// Commit(n) acknowledges the n oldest outstanding records (for a consumer that delivers in
// order), Ack(seq) acknowledges one record by its sequence number (for a consumer that
// delivers out of order, such as the pipeline's lanes). The commit point is the lowest
// record not acknowledged; segments wholly below it are deleted. A crash between Next and
// the acknowledgement replays the record after the restart: duplicates are possible and
// collapse downstream on the event id; losses are not. Rewind does the same within the
// process: every record handed out and not acknowledged is handed out again.
//
// The last 1024 appends are also kept in memory as appended (the hot tail): a consumer
// that keeps up takes them from there instead of reading the file back and decoding it.
// The file stays the record; a restart, a Rewind or a longer backlog read it.
//
// Len counts the records in the spool (waiting or handed out, not acknowledged); Backlog
// counts those not yet handed out; Bytes is the size on disk.
//
// # Use in the pipeline
//
// Offer appends a live event to the spool when the in-memory queue is full, and keeps
// appending while the spool still holds records not handed out (Backlog() > 0), so a live
// event never overtakes a spooled one. A feeder goroutine loops on NextSeq and puts each
// record into the queue, blocking until there is room; the lane that delivers it calls
// Ack(seq) (events that did not come from the spool have nothing to acknowledge). After a
// restart the spool's content is what Next returns first. Any Append error (ErrFull, a
// disk error) means the event was not kept: it becomes a gap, like a queue overflow. Note
// that Backlog() reaches zero as soon as the feeder has taken the last record, before
// that record is in the queue: Offer should leave "spool mode" only once the feeder has
// queued it (for instance a flag the feeder clears under the same mutex Offer checks).
//
// # Durability (SyncPolicy)
//
// Every Append is one write(2) of the whole framed record, and every AppendAll one write
// per segment it fills, so a crash of the process alone loses nothing already appended. What an operating-system crash or power loss may lose
// depends on the policy:
//
//   - SyncAlways: fsync after every append. Nothing acknowledged by Append is lost; each
//     append costs a disk flush (milliseconds on rotating disks, tens to hundreds of
//     microseconds on SSDs), which bounds throughput.
//   - SyncInterval (the default, every 100ms): a background fsync at most every Interval
//     when something was written. An OS crash loses at most the last Interval of appends;
//     appends run at memory speed.
//   - SyncNone: the operating system writes back when it likes (typically within 30 s);
//     only Close syncs. Fastest, weakest.
//
// In every mode a torn last record is detected by its length and CRC at the next Open and
// truncated, with everything after it in the last segment (as Kafka and LevelDB do with
// their active log).
// The commit point is written (without fsync) whenever it advances and synced by the
// background flusher and by Close: losing it replays delivered records (duplicates), never
// drops undelivered ones.
//
// # Bounds
//
// MaxBytes bounds the bytes on disk (segment files, headers and framing included, and
// the quarantined *.corrupt files): an Append that would pass it fails with ErrFull and
// counts in rhombus_bridge_spool_full_total; space comes back as soon as whole segments
// are committed (SegmentBytes is held to at most MaxBytes/4 to keep that fine). When
// quarantined files are what keeps an event out, they are deleted, oldest first (also at
// Open, when they alone pass the bound), each logged and counted in
// rhombus_bridge_spool_quarantine_pruned_total; rhombus_bridge_spool_quarantined_bytes is
// their size. Refused appends (full spool, full disk or another disk error) are logged at
// once, then at most every 10 s with the number suppressed meanwhile, never one line per
// event; the first accepted append after them logs how many were refused.
//
// MaxAge bounds the age of a record by its Received time: an older record is not handed
// out but reported to OnExpired (the pipeline records it as a gap that backfill closes)
// and dropped; a record without a Received time never expires. Expiry is checked as records are read, and by the background flusher for
// the records at the head of the spool, so expired records free their space even while
// nobody reads.
//
// # Recovery
//
// Open scans every segment. A torn or garbled tail of the last segment (a crash mid-write)
// is truncated after the last complete record. A damaged record inside an older segment,
// or a segment with a bad header, is quarantined: the file is renamed to
// {name}.corrupt and kept for inspection, the complete records before the damage are
// rewritten to a fresh segment and replayed, and the damage is logged and counted in
// rhombus_bridge_spool_corrupt_total. A last segment cut inside its header (a crash while
// creating it) holds no record and is removed, and a segment left without records is
// removed; every repair is logged with what it did and why.
//
// A cursor file that holds bytes but no readable slot is corruption too: it is renamed to
// cursor.corrupt, counted, and logged at error level. The commit point is then unknown,
// and the spool takes the side of no loss: it replays every record still on disk, from
// the oldest segment. Records delivered before the loss come again (at most about one
// segment of them, since segments wholly below the commit point were already deleted);
// they collapse downstream on the event id (Nats-Msg-Id within the duplicate window). The
// other choice, starting after the newest record, would silently drop undelivered events.
// None of this is fatal and no input makes Open panic.
//
// # What survives a reload
//
// Every exported field of event.Event survives (ID, Org, Entity, Change, EntityUUID,
// DeviceUUID, TimestampMs, Via, Invalid, Reason, Fence, Received, Body). The unexported
// normalised data behind Event.Data is not stored: Data() of an event read back decodes it
// from the Body (the CloudEvent), so enrichment (device names, completed alerts) works on
// every event that passes through the spool. Received is kept to the nanosecond, without
// its monotonic clock reading.
package spool
