// Package ha holds the process-level high-availability acceptance tests of
// rhombus-bridge (issue 5) and the failover benchmark. It has no code of its own: the
// tests build cmd/rhombus-bridge once, run it three times as real processes against an
// embedded JetStream (and an in-process kfake cluster for BRIDGE_LEASE=kafka) and the
// Rhombus simulator, and then kill -9, freeze (SIGSTOP), cut off from its lease store
// (NATS, or kfake with BRIDGE_LEASE=kafka; severed or blackholed by a per-replica TCP proxy,
// which for Kafka also rewrites the advertised broker and coordinator addresses so every
// connection goes through it) and SIGTERM the leader while the simulator creates policy
// alerts at about 50 per second. Every scenario runs with both lease backends.
//
// After every scenario they check the sim's LongestOverlap (never two subscriptions
// for more than a second), that every policy alert the sim created is in the stream
// exactly once, and, where the leader was deposed while alive, that it did not publish
// under its old lease revision (the Rhombus-Lease-Rev header) after its successor
// started.
//
// Environment knobs: HA_SLACK (extra time allowed on the failover bounds, default 3s),
// HA_BENCH=1 (run TestFailoverBenchmark), HA_BENCH_ROUNDS, HA_LOG_DIR (keep every
// process's JSON log there), HA_RACE=1 (build the bridge with -race), HA_BRIDGE_BIN (use this binary instead of building one).
package ha
