// Package manyorgs holds the process-level acceptance tests of partner mode (issue 13):
// many organisations sharded over three rhombus-bridge processes through NATS. It has no
// code of its own: the tests build cmd/rhombus-bridge once, run it as real processes
// against an embedded JetStream and the multi-org simulator (sim.Multi, partner token with
// x-auth-org), and check the shard (every org led by exactly one replica, at most
// ⌈orgs ÷ replicas⌉ + 1 per replica), kill -9 failover (every org of the dead replica
// subscribed elsewhere within TTL + 1 s; every policy alert in the stream exactly once),
// org list changes through RHOMBUS_ORGS_FILE, and one org's revoked key.
//
// Environment knobs: MANYORGS_N (orgs in the shard test, default 60), MANYORGS_SLACK
// (extra time on the timing bounds for a loaded machine, default 3s), MANYORGS_BRIDGE_BIN
// (use this binary instead of building one), MANYORGS_LOG_DIR (keep the processes' logs).
package manyorgs
