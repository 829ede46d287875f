// Package recovery closes gaps in the live feed by backfill from the Rhombus REST API.
//
// A gap is a window of event time in which live events may have been missed: a term's
// start or a failover (from the shared watermark on), a disconnect (from the last sign of
// life until the feed is subscribed again), or an event the pipeline could not take or
// deliver (a full queue, a fenced or refused event: from that event's time). While a gap
// is open the pipeline's watermark is held at its start, so a watermark persisted
// meanwhile never claims the gap was delivered. Once the feed is live again (Recover),
// Recovery asks getPolicyAlertsV2 for the gap's window [start − Overlap, end], publishes
// the alerts (their ids equal their live copies', so overlaps collapse), publishes one
// BRIDGE_GAP record per gap, and only then lets the watermark advance. REST can return
// policy alerts only: the record says whether other events may have been missed.
//
// Each stretch of time is fetched once. The windows still to fetch are a small interval
// set (spans.go): a gap adds its window, merged with any it overlaps, less what this term
// already fetched, and its end is fixed only once the feed is back. Backfill pages through
// the set oldest first (pager.go: inclusive bounds, the page order read from each page,
// the lastTimestampMs/lastUuid cursor, de-duplication by uuid), publishes page by page
// (publish.go: up to 64 at once, oldest first per partition key, so per-device order
// holds) and drops each stretch a page proved complete, so a failed call resumes at the
// page it failed on and a gap opening meanwhile adds its own window instead of restarting.
// When the feed flaps, backfill waits until it has been back for Quiet: a reconnect
// storm's gaps merge into one window fetched once the feed holds.
//
// Fencing: a Recovery belongs to one lease term (Config.Fence, the lease revision). Every
// backfilled alert and gap record is stamped with it, and the pipeline refuses to publish
// them once the term has ended, so a deposed or thawed leader stops at once; MaySave keeps
// it from writing the shared watermark after the lease was lost.
//
// REST priority: the AlertSource the application gives (rhombus.Client.AlertEvents) marks
// its calls WithPriority, so backfill goes ahead of enrichment in the org's REST budget:
// under a 429 storm a gap's alerts are worth more than a device name.
//
// Recovery is an input of the pipeline like the live feed and the webhook receiver, and
// uses only its exported API: it publishes through PublishDup (Publisher, as the webhook
// receiver does) and steers the Watermark the live feed's acknowledgements advance. The
// pipeline does not know about it: the application opens gaps from the pipeline's
// OnOverflow and the feed's disconnects, and calls Recover when the feed is subscribed
// again or the queue has room again.
package recovery
