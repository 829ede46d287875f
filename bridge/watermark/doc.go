// Package watermark keeps the shared watermark (see pipeline.Watermark) where every
// replica of a deployment can read it: JetStream KV (KV) when NATS is there, else a
// compacted single-partition Kafka topic (Kafka); a local file (File) only for a single
// replica without NATS. Each store implements recovery.WatermarkStore; the caller names
// the key, scoped by deployment and org (app.ScopedName).
package watermark
