package lease

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

const natsTTL = time.Second

// natsBackends returns a factory of NATS backends, each on its own connection to url.
func natsBackends(t *testing.T, url string) func(string) Backend {
	return func(name string) Backend {
		js := natstest.Connect(t, url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		b, err := NewNATS(js, NATSConfig{Bucket: "lease_test", Key: "leader"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestNATSFailover: three replicas, one leader at a time; graceful handover goes
// through the watch (about at once), a crash through expiry (within TTL + 1 s);
// tokens grow strictly. Logs the failover figures.
func TestNATSFailover(t *testing.T) {
	srv := natstest.Start(t)
	c := newCluster(t, natsTTL, natsBackends(t, srv.URL()))
	for range 3 {
		c.start()
	}
	graceful, crash := failoverRounds(t, c, 4)
	c.checkTerms(20 * time.Millisecond)
	g50, gmax := percentile(graceful)
	c50, cmax := percentile(crash)
	t.Logf("NATS failover, TTL %v: graceful p50 %dms max %dms; crash p50 %dms max %dms",
		natsTTL, g50.Milliseconds(), gmax.Milliseconds(), c50.Milliseconds(), cmax.Milliseconds())
}

// failoverRounds alternately stops and kills the leader, starting a fresh replica each
// time, and returns the failover times.
func failoverRounds(t *testing.T, c *cluster, rounds int) (graceful, crash []time.Duration) {
	for i := range 2 * rounds {
		_, r := c.leader(c.ttl + 2*time.Second)
		at := time.Now()
		if i%2 == 0 {
			r.stop(t)
			nt := c.newLeaderAfter(at, time.Second)
			graceful = append(graceful, nt.start.Sub(at))
		} else {
			r.crash(t)
			nt := c.newLeaderAfter(at, c.ttl+time.Second)
			crash = append(crash, nt.start.Sub(at))
		}
		c.start()
	}
	return graceful, crash
}

// TestNATSConnectionCut: the leader's connection is blackholed; its leader context is
// cancelled before the TTL has passed, and a standby leads only after that.
func TestNATSConnectionCut(t *testing.T) {
	srv := natstest.Start(t)
	p := startProxy(t, srv.URL()[len("nats://"):])
	c := newCluster(t, natsTTL, natsBackends(t, "nats://"+p.addr()))
	c.start()
	old, _ := c.leader(5 * time.Second)
	c.mk = natsBackends(t, srv.URL())
	c.start()
	c.start()
	time.Sleep(c.ttl / 2) // standbys settle on the watch
	cut := time.Now()
	p.blackhole()
	nt := c.newLeaderAfter(cut, c.ttl+time.Second)
	c.mu.Lock()
	ended, cause := old.end, old.cause
	c.mu.Unlock()
	if ended.IsZero() || ended.Sub(cut) >= c.ttl {
		t.Fatalf("cut leader stepped down %v after the cut (TTL %v)", ended.Sub(cut), c.ttl)
	}
	if !ended.Before(nt.start) {
		t.Fatalf("new leader at %v before the old stepped down at %v", nt.start, ended)
	}
	t.Logf("cut leader stepped down %v after the cut (cause %v); successor after %v", ended.Sub(cut), cause, nt.start.Sub(cut))
	c.checkTerms(0)
}

// TestNATSFrozenLeader: the renew loop of the leader blocks for 3×TTL (SIGSTOP). Its
// leader context is cancelled before the standby leads; thawed, it neither renews nor
// deletes the successor's key.
func TestNATSFrozenLeader(t *testing.T) {
	srv := natstest.Start(t)
	c := newCluster(t, natsTTL, natsBackends(t, srv.URL()))
	fz := &freezer{d: 3 * c.ttl}
	frozen := c.start(fz.install)
	old, _ := c.leader(5 * time.Second)
	c.start()
	time.Sleep(c.ttl / 2)
	fz.freeze()
	nt := c.newLeaderAfter(time.Now(), 2*c.ttl)
	thaw := fz.waitThaw(t)
	c.mu.Lock()
	ended, cause := old.end, old.cause
	c.mu.Unlock()
	if ended.IsZero() || !ended.Before(nt.start) || !errors.Is(cause, ErrLapsed) {
		t.Fatalf("frozen leader ended at %v (cause %v), successor started at %v", ended, cause, nt.start)
	}
	if frozen.l.Held() {
		t.Fatal("thawed leader still thinks it holds the lease")
	}
	time.Sleep(c.ttl) // the thawed replica renews, releases, campaigns: none of it may touch the successor
	c.mu.Lock()
	succEnd := nt.end
	c.mu.Unlock()
	if !succEnd.IsZero() {
		t.Fatalf("successor's term ended after the thaw at %v: %v", thaw, nt.cause)
	}
	frozen.stop(t)
	b := frozen.b.Backend.(*NATS)
	if err := b.Renew(context.Background()); !errors.Is(err, ErrLost) {
		t.Fatalf("stale renew: %v, want ErrLost", err)
	}
	if err := b.Release(context.Background()); err == nil {
		t.Fatal("stale release succeeded")
	}
	e, err := b.kv.Get(context.Background(), "leader")
	if err != nil || string(e.Value()) != nt.who || e.Revision() < nt.token {
		t.Fatalf("key after stale calls: %v %v, want %s's", e, err, nt.who)
	}
	c.checkTerms(0)
}

// TestNATSGracefulDrain: on shutdown the leader context ends, but the lease stays held
// and renewed while onLeading drains (longer than the TTL), then is released at once.
func TestNATSGracefulDrain(t *testing.T) {
	srv := natstest.Start(t)
	c := newCluster(t, natsTTL, natsBackends(t, srv.URL()))
	r := c.start()
	drained := make(chan time.Time, 1)
	r.hold = func() {
		deadline := time.Now().Add(2 * c.ttl)
		for time.Now().Before(deadline) {
			if !r.l.Held() {
				t.Error("lease not held while draining")
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		drained <- time.Now()
	}
	c.leader(5 * time.Second)
	c.start()
	time.Sleep(c.ttl / 2)
	go r.cancel()
	nt := c.newLeaderAfter(time.Now(), 4*c.ttl)
	end := <-drained
	if nt.start.Before(end) {
		t.Fatalf("successor led at %v while the old leader still drained (until %v)", nt.start, end)
	}
	if d := nt.start.Sub(end); d > time.Second {
		t.Fatalf("successor led %v after the release", d)
	}
	<-r.done
}
