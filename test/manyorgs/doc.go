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
// and 10 + MANYORGS_BENCH_N orgs, default 500; MANYORGS_PPROF_OUT=path saves heap profiles),
// TestManyOrgsLoad (MANYORGS_LOAD_N orgs, default 1000, at MANYORGS_LOAD_RATE events/s each,
// default 1, for MANYORGS_LOAD_FOR, default 30s, on one replica at the production heart-beat
// and lease TTL; the simulator is a feeder process of its own, this test binary run with
// MANYORGS_FEEDER_ORGS set, which spreads the events evenly over each second and stamps
// each with its send time; latency is send → received from JetStream by the test's
// collector) and TestFailoverOf100Orgs (2 replicas share MANYORGS_FAILOVER_N orgs, default
// 200, at the production lease TTL; kill -9 of one: kill → its orgs subscribed on the other):
//
//	MANYORGS_BENCH=1 go test -count=1 -v -run 'IdleOrgMemory|ManyOrgsLoad|FailoverOf100Orgs' -timeout 15m ./test/manyorgs/
//	MANYORGS_BENCH=1 MANYORGS_LOAD_N=1 MANYORGS_LOAD_RATE=1000 go test -count=1 -v -run ManyOrgsLoad ./test/manyorgs/  # one org, same total rate
//	MANYORGS_N=300 go test -count=1 -v -run TestShardKill9 ./test/manyorgs/   # 100 orgs fail over (TTL 2s)
package manyorgs
