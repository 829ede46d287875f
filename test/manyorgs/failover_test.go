package manyorgs_test

import (
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/shard"
)

// TestFailoverOf100Orgs (MANYORGS_BENCH=1) measures the failover of a replica's orgs at
// the production lease TTL and heart-beat: 2 replicas share MANYORGS_FAILOVER_N orgs
// (default 200, so about 100 each) with alerts at 1/s per org; the busier one is killed
// with SIGKILL; it reports, over its orgs, the time from the kill to the org's first
// subscription on the survivor (max and p50), and checks that every alert is in the
// stream once. TestShardKill9 checks the same at the tests' short TTL.
func TestFailoverOf100Orgs(t *testing.T) {
	benchOnly(t)
	n := envInt("MANYORGS_FAILOVER_N", 200)
	w := newWorld(t, n)
	w.override = productionTimings
	lease, _ := time.ParseDuration(productionTimings["BRIDGE_LEASE_TTL"])
	w.startReplicas(2)
	waitFor(t, "2 replicas share the orgs", 2*time.Minute, w.balanced(w.reps, shard.FairShare(n, 2)+1))
	w.generate(w.orgs, 1)

	victim, victimOrgs, killed := killBusiest(t, w)
	took := awaitFailover(t, w, victimOrgs, killed, lease+time.Minute)
	t.Logf("failover of %d orgs after kill -9 of %s (lease TTL %v): kill → subscribed on the survivor "+
		"min %v p50 %v max %v", len(victimOrgs), victim.id, lease, took[0].Round(time.Millisecond),
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if limit := lease + time.Second + slack(); took[len(took)-1] > limit {
		t.Errorf("failover took %v, more than TTL + 1s + slack (%v)", took[len(took)-1], limit)
	}
	w.checkDelivered(t, w.stream) // after 2 s of alerts under the new shard
}
