// Package webhook is the bridge's webhook receiver: every replica, leader or not, runs it.
//
// Handler answers POST {Path}. In order (the first three before a byte of the body is
// read, closing the connection):
//
//   - 404 for another path; 405 (with Allow: POST) for another method; 503 with
//     Retry-After while draining at shutdown (Handler.Drain, Server);
//   - 401 without a signature header that could verify: x-rhombus-signature-sha1 of 40
//     hex digits or x-rhombus-signature-sha256 of 64;
//   - 413 when the declared Content-Length is larger than MaxBytes;
//   - then the body is read into a buffer that grows with the bytes that arrive (4 KiB
//     first, doubling; never sized from the declared length), under the Server's read
//     deadline: 408 when the sender does not deliver it within ReadTimeout; 413 past
//     MaxBytes (a chunked body is read to MaxBytes+1, never more); 503 with Retry-After
//     when the buffers of all requests would pass BodyBudget;
//   - 401 unless x-rhombus-signature-sha1 (organisation webhooks) or
//     x-rhombus-signature-sha256 (rule webhooks) is the hex HMAC of the raw body under one
//     of Secrets (compared in constant time with hmac.Equal against every secret);
//   - only now a delivery slot: 429 with Retry-After when Concurrency verified requests
//     are already in progress (so unsigned senders, however slow, hold no slot);
//   - 400 when the body is not a UTF-8 JSON object, or an id field holds an object, array
//     or bool (the error names the field);
//   - 503 with Retry-After when the org is not known yet (OrgUUID returns "");
//   - 413 when the event's CloudEvent would be larger than MaxEventBytes (the broker's
//     maximum payload) allows: a 200 always means the event is stored whole;
//   - 200 at once for an event this process already had acknowledged (a bounded cache of
//     SeenSize ids; counted as a duplicate);
//   - otherwise the event is published and the answer is 200 only once the Publisher
//     returned nil (every configured sink acknowledged); 503 with Retry-After when it did
//     not within AckTimeout, so the sender retries; 500 when a sink rejected the event
//     for good (sinks.ErrRejected).
//
// A webhook for an alert already published (by the WebSocket, backfill or an earlier
// delivery) is published again with the same id; the sinks drop the copy (JetStream by
// Nats-Msg-Id, Kafka by its id window) and acknowledge, so the sender gets 200 and the
// stream holds one message.
//
// # Mapping
//
// Every event is built with event.Build(org, event.ViaWebhook, ...): same envelope,
// subjects and schemas as the live path, raw = the body exactly as received (less
// surrounding whitespace). Field types are lenient (numbers as strings and the reverse;
// version as string or number). Trigger lists are Rhombus's comma-separated strings, split.
// The kind is chosen by the body, not by the signature header:
//
//   - ruleUuid set: a rule webhook. Entity RULE_ALERT, type TRIGGER, entityUuid = uuid,
//     ruleUuid, timestampMs = triggeredTimestampMs (else timestampMs), deviceUuid,
//     locationUuid (locationUuid or location), textDescription = summary. Schema
//     schemas/v1/rule_alert.schema.json.
//   - alertUuid set: a policy alert, exactly the alert the WebSocket announces as
//     POLICY_ALERT/CREATE: entity POLICY_ALERT, type CREATE, entityUuid = alertUuid (so
//     the id is event.AlertID(alertUuid), shared with the WebSocket and backfill copies),
//     deviceUuid, timestampMs, durationSec, policyAlertTriggers = activityTrigger and
//     diagnosticTrigger entries, textDescription = summary, locationUuid = location.
//     alertKind is "activity", or "diagnostic" when only diagnosticTrigger is set (a
//     camera disconnect alert).
//   - diagnosticTrigger set without alertUuid: entity DEVICE_DIAGNOSTIC, type TRIGGER,
//     policyAlertTriggers = the diagnostic triggers, alertKind "diagnostic", deviceUuid,
//     timestampMs, textDescription = summary; no entityUuid, so the id is derived from
//     the body's bytes (an identical redelivery collapses). Schema change.schema.json.
//   - none of alertUuid, uuid, ruleUuid, activityTrigger, diagnosticTrigger: Rhombus's
//     "test webhook" ({"version":"2","summary":"Test webhook"}) and anything like it.
//     Acknowledged with 200 and published as entity WEBHOOK_TEST, type TEST (subject
//     {prefix}.v1.{org}.webhook_test.test.none; id from the body's bytes), so a
//     consumer can see that the integration works. Never dropped silently.
//   - an activityTrigger or uuid without alertUuid/ruleUuid: an alert that cannot be
//     identified. Acknowledged with 200 (a redelivery would not fix it) and published to
//     the invalid subject with the raw bytes and the reason.
//
// # Server
//
// Server serves a Handler on its own listener with timeouts for every phase (headers 5 s
// and 16 KiB, the request ReadTimeout, the answer AckTimeout + ReadTimeout + 5 s, idle
// keep-alive 1 min) and at most MaxConns connections: at the cap a new connection closes
// the oldest one carrying no verified request (never-verified ones first), so stalled
// senders cannot lock a signed delivery out; optional TLS (TLSCert, TLSKey) and, with ClientCA, required client certificates whose
// subject CN (or a DNS SAN) is ClientCN (default webhook-client.rhombus.com, the
// certificate Rhombus presents). Run returns after ctx ends and a bounded drain.
//
// # Metrics
//
//	rhombus_bridge_webhook_requests_total{code}
//	rhombus_bridge_webhook_signature_failures_total
//	rhombus_bridge_webhook_duplicates_total
//	rhombus_bridge_webhook_latency_seconds (histogram)
//	rhombus_bridge_webhook_events_published_total
//	rhombus_bridge_webhook_connections_shed_total
//	rhombus_bridge_webhook_buffered_bytes (gauge)
//
// RegisterMetrics registers them, every code at 0, before the receiver exists.
//
// # Speed
//
// A body up to 4 KiB is read once into a buffer of its size and embedded into the
// CloudEvent without another copy; keyed HMAC states are pooled per secret; status
// counters are resolved once. Concurrent requests' publishes share the sink's
// asynchronous pipeline (natsjs: PublishMsgAsync, one in-flight window), so 32 senders
// cost 32 outstanding acks, not 32 round trips in sequence. See bench_test.go
// (BenchmarkVerifiedWebhooks, 32 senders in process over loopback HTTP with keep-alive,
// embedded JetStream file store, 200 only after the PubAck). On the 2-core development
// machine, quiet: 13,300-14,700 req/s, p50 1.8-2.0 ms, p99 7.7-9.0 ms; with other work on
// the machine it drops to 6,000-9,000 req/s and p99 15-35 ms. The handler itself is about
// a fifth of the CPU; HTTP (both ends) and the NATS server take the rest, which is why a
// plain handler with a synchronous publish (handler=naive) measures about the same here.
package webhook
