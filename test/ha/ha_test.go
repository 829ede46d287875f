package ha_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// TestKill9: the leader is killed (no release, no drain); a standby takes over once
// the lease expires, within TTL + 1 s, and backfills what the dead one missed.
func TestKill9(t *testing.T) {
	testKill9(t, "nats")
}

// TestFreeze: the leader is stopped (SIGSTOP) for 3 × TTL, like a long GC pause or a
// paused VM. A standby takes over; thawed, the old leader reports leader=false and
// nothing under its old lease revision reaches the stream after its successor's first
// message. The freeze comes right after a burst of 300 alerts, so that it catches events
// in flight; later the thawed replica leads again and must hand over at once on SIGTERM.
func TestFreeze(t *testing.T) {
	testFreeze(t, "nats")
}

func testFreeze(t *testing.T, lease string) {
	c := newCluster(t, lease)
	c.generate()
	c.soak(3 * time.Second)
	old := c.leader(10 * time.Second)
	oldRev := mustStatus(t, old).Lease.Revision
	_, d := c.failover("SIGSTOP", ttl+time.Second+slack(), func(r *replica) {
		for range 300 { // a burst, so that the freeze catches events in flight
			c.sim.CreateAlert(sim.Alert{})
		}
		r.signal(syscall.SIGSTOP)
	})
	cur, err := c.findLeader(10*time.Second, old)
	if err != nil {
		t.Fatal(err)
	}
	curRev := mustStatus(t, cur).Lease.Revision
	if curRev <= oldRev {
		t.Errorf("successor's lease revision %d not above the frozen leader's %d", curRev, oldRev)
	}
	time.Sleep(3*ttl - d) // frozen for 3 × TTL in all
	old.signal(syscall.SIGCONT)
	st := old.waitStatus(5*time.Second, "a standby after thawing", func(s status) bool { return !s.Leader && !s.Lease.Leader })
	t.Logf("thawed %s: leader=%v subscribed=%v lease revision %d", old.id, st.Leader, st.Subscribed, st.Lease.Revision)
	c.soak(3 * time.Second)
	if l := c.leader(10 * time.Second); l != cur {
		t.Errorf("leader changed from %s to %s after the thaw", cur.id, l.id)
	}
	handBackAfterThaw(t, c, old, cur)
	c.finish()
	c.stream.checkFence(t, oldRev, curRev)
}

// handBackAfterThaw makes the thawed replica old lead again (the third replica stops,
// cur is SIGTERMed) and then SIGTERMs it: a replica whose earlier term ended with
// events fenced must still hand over at once, not after BRIDGE_SHUTDOWN_TIMEOUT.
func handBackAfterThaw(t *testing.T, c *cluster, old, cur *replica) {
	t.Helper()
	for _, r := range c.reps {
		if r != old && r != cur {
			r.signal(syscall.SIGTERM)
			if err := r.wait(15 * time.Second); err != nil {
				t.Fatalf("%s after SIGTERM: %v", r.id, err)
			}
		}
	}
	c.failover("SIGTERM", time.Second+slack(), func(r *replica) { r.signal(syscall.SIGTERM) })
	if l := c.leader(10 * time.Second); l != old {
		t.Fatalf("want the thawed %s to lead, got %s", old.id, l.id)
	}
	if err := cur.wait(15 * time.Second); err != nil {
		t.Errorf("%s after SIGTERM: %v", cur.id, err)
	}
	cur.start()
	cur.waitStatus(30*time.Second, "a standby after the restart", func(s status) bool { return !s.Leader })
	c.soak(time.Second)
	c.failover("SIGTERM (thawed leader)", time.Second+slack(), func(r *replica) { r.signal(syscall.SIGTERM) })
	c.soak(time.Second)
}

// TestNATSCut: the leader's connection to NATS is cut, in two ways: severed (its proxy
// closes every connection and refuses new ones: the client sees the drop at once) and
// blackholed (the connections stay up but nothing arrives either way: only the lease's
// own timeouts notice). It cannot renew, so it steps down (ends its subscription) before
// the TTL runs out, and a standby takes over. Once the proxy heals, nothing it buffered
// under the old revision lands after its successor's first message.
func TestNATSCut(t *testing.T) {
	for _, mode := range []cutMode{severMode, blackholeMode} {
		t.Run(mode.String(), func(t *testing.T) { testCut(t, "nats", mode) })
	}
}

// testCut cuts the leader off from its lease store (NATS, or kfake for
// BRIDGE_LEASE=kafka) in mode, for 3 × TTL, then heals.
func testCut(t *testing.T, lease string, mode cutMode) {
	c := newCluster(t, lease)
	c.generate()
	c.soak(3 * time.Second)
	old := c.leader(10 * time.Second)
	oldRev := mustStatus(t, old).Lease.Revision
	active := c.activeSubscriptions()
	if len(active) != 1 {
		t.Fatalf("want one active subscription before the cut, got %d", len(active))
	}
	px, store := old.proxy, "NATS"
	if lease == "kafka" {
		px, store = old.kproxy, "kfake"
	}
	at := time.Now()
	px.cut(mode)
	stepDown := c.subscriptionEnd(active[0], ttl+slack()).Sub(at)
	t.Logf("cut from %s (%v), %s ended its subscription after %v", store, mode, old.id, stepDown.Round(time.Millisecond))
	if stepDown >= ttl {
		t.Errorf("the cut-off leader held its subscription %v, not less than the TTL %v", stepDown, ttl)
	}
	sub, err := c.nextSubscribe(at, ttl+time.Second+slack())
	if err != nil {
		t.Fatalf("no standby took over: %v", err)
	}
	t.Logf("cut from %s (%v): new SUBSCRIBE after %v", store, mode, sub.Sub(at).Round(time.Millisecond))
	cur, err := c.findLeader(10*time.Second, old)
	if err != nil {
		t.Fatal(err)
	}
	curRev := mustStatus(t, cur).Lease.Revision
	if curRev <= oldRev {
		t.Errorf("successor's lease revision %d not above the cut-off leader's %d", curRev, oldRev)
	}
	time.Sleep(time.Until(at.Add(3 * ttl)))
	px.heal()
	old.waitStatus(10*time.Second, "a standby after the heal", func(s status) bool { return !s.Leader && !s.Lease.Leader })
	c.soak(3 * time.Second)
	if l := c.leader(10 * time.Second); l != cur {
		t.Errorf("leader changed from %s to %s after the heal", cur.id, l.id)
	}
	c.finish()
	c.stream.checkFence(t, oldRev, curRev)
}

// TestRollingRestart: each round SIGTERMs the leader (it drains, releases the lease at
// once and exits 0), a standby takes over within about a second, and the stopped
// replica is started again as a standby.
func TestRollingRestart(t *testing.T) {
	testRolling(t, "nats")
}

// TestKafkaLeaseKill9 and TestKafkaLeaseRollingRestart: the same with BRIDGE_LEASE=kafka
// (consumer-group lease on kfake), the stream still on NATS.
func TestKafkaLeaseKill9(t *testing.T) {
	testKill9(t, "kafka")
}

func TestKafkaLeaseRollingRestart(t *testing.T) {
	testRolling(t, "kafka")
}

// TestKafkaLeaseFreeze is TestFreeze with BRIDGE_LEASE=kafka: the frozen leader's group
// session expires, a standby's generation takes partition 0; thawed, the old leader
// publishes nothing under its old generation after the successor's first message.
func TestKafkaLeaseFreeze(t *testing.T) {
	testFreeze(t, "kafka")
}

// TestKafkaLeaseCut is TestNATSCut with BRIDGE_LEASE=kafka: the leader's connections to
// kfake (bootstrap, partition leader and group coordinator: its proxy rewrites the
// advertised addresses) are severed or blackholed; its NATS connection stays up.
func TestKafkaLeaseCut(t *testing.T) {
	for _, mode := range []cutMode{severMode, blackholeMode} {
		t.Run(mode.String(), func(t *testing.T) { testCut(t, "kafka", mode) })
	}
}

func testKill9(t *testing.T, lease string) {
	c := newCluster(t, lease)
	c.generate()
	c.soak(3 * time.Second)
	old, _ := c.failover("kill -9", ttl+time.Second+slack(), func(r *replica) { r.signal(syscall.SIGKILL) })
	if err := old.wait(5 * time.Second); err == nil {
		t.Errorf("%s exited cleanly after SIGKILL", old.id)
	}
	if _, err := c.findLeader(10*time.Second, old); err != nil {
		t.Fatal(err)
	}
	old.start()
	old.waitStatus(30*time.Second, "a standby after the restart", func(s status) bool { return !s.Leader })
	c.soak(3 * time.Second)
	c.finish()
}

func testRolling(t *testing.T, lease string) {
	c := newCluster(t, lease)
	c.generate()
	c.soak(2 * time.Second)
	for range 3 {
		old, _ := c.failover("SIGTERM", time.Second+slack(), func(r *replica) { r.signal(syscall.SIGTERM) })
		if err := old.wait(15 * time.Second); err != nil {
			t.Errorf("%s after SIGTERM: %v (want exit 0)", old.id, err)
		}
		old.start()
		old.waitStatus(30*time.Second, "a standby after the restart", func(s status) bool { return !s.Leader })
		c.soak(2 * time.Second)
	}
	c.finish()
}

func mustStatus(t *testing.T, r *replica) status {
	t.Helper()
	st, err := r.status(2 * time.Second)
	if err != nil {
		t.Fatalf("%s: %v", r.id, err)
	}
	return st
}
