// Package manyorgs holds the process-level acceptance tests of partner mode (issue 13):
// many organisations sharded over three rhombus-bridge processes through NATS. It has no
// code of its own: the tests build cmd/rhombus-bridge once, run it as real processes
// against an embedded JetStream and the multi-org simulator (sim.Multi, partner token with
// x-auth-org), and check the shard (every org led by exactly one replica, at most
// ⌈orgs ÷ replicas⌉ + 1 per replica), kill -9 failover (every org of the dead replica
// subscribed elsewhere within TTL + 1 s; every policy alert in the stream exactly once),
// org list changes through RHOMBUS_ORGS_FILE, one org's revoked key, and fault isolation
// (TestOrgFaultIsolation: the healthy orgs' live p99 while one org's key is revoked and
// another's REST answers 429 with its socket flapping stays within max(2 × baseline,
// baseline + MANYORGS_P99_FLOOR, default 100ms)).
//
// Environment knobs: MANYORGS_N (orgs in the shard test, default 60), MANYORGS_SLACK
// (extra time on the timing bounds for a loaded machine, default 3s), MANYORGS_BRIDGE_BIN
// (use this binary instead of building one), MANYORGS_LOG_DIR (keep the processes' logs).
// MANYORGS_BENCH=1 runs the measurements: TestIdleOrgMemory (memory per idle org between 10
// and 10 + MANYORGS_BENCH_N orgs, default 500; MANYORGS_PPROF_OUT=path saves heap profiles)
// and TestManyOrgsLoad (MANYORGS_LOAD_N orgs, default 1000, at 1 ev/s on one replica):
//
//	MANYORGS_BENCH=1 go test -count=1 -v -run 'IdleOrgMemory|ManyOrgsLoad' -timeout 15m ./test/manyorgs/
//	MANYORGS_N=300 go test -count=1 -v -run TestShardKill9 ./test/manyorgs/   # 100 orgs fail over
package manyorgs
