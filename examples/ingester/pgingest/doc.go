// Package pgingest is an example downstream consumer of rhombus-bridge: a Kafka consumer
// group on the bridge's topic that writes every event into a PostgreSQL table.
//
// Delivery: records are inserted, in one transaction per poll, with
// INSERT ... ON CONFLICT (id) DO NOTHING, and the group's offsets are committed only after
// that transaction committed. A crash between the two redelivers the records, and the
// event id (the CloudEvent id, deterministic in the bridge) makes the second insert a
// no-op: exactly one row per event. A database outage stops progress (the batch is retried
// with capped backoff, offsets stay put) rather than skipping anything. A record that is
// not a CloudEvent (the bridge's invalid events) is stored too, with its bytes in data.
//
// The table (created if missing):
//
//	id text PRIMARY KEY, type text NOT NULL, subject text, time timestamptz, org text,
//	data jsonb, kafka_partition int, kafka_offset bigint, ingested_at timestamptz
package pgingest
