package lease

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaTTL is the TTL of the tests on startKfake's brokers; TestKafkaFailoverAtBrokerDefaults
// runs at Kafka's default limit instead.
const kafkaTTL = time.Second

// startKfake starts one broker that allows session timeouts from 100 ms: it models brokers
// whose group.min.session.timeout.ms an operator lowered (Kafka's default, 6000, bounds
// the lease TTL and so the failover time from below; see TestKafkaTTLBelowBrokerMinimum).
func startKfake(t *testing.T) *kfake.Cluster {
	t.Helper()
	k, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.BrokerConfigs(map[string]string{minSessionConfig: "100"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// kafkaBackends returns a factory of Kafka backends; dial, if set, carries every
// connection (a proxy).
func kafkaBackends(t *testing.T, k *kfake.Cluster, via string) func(string) Backend {
	return func(string) Backend {
		cfg := KafkaConfig{Brokers: k.ListenAddrs(), GroupID: "lease-test", Topic: "lease-test"}
		if via != "" {
			cfg.Dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, via)
			}
		}
		b, err := NewKafka(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestKafkaFailover: three replicas on one group; graceful stop (LeaveGroup) and crash
// (session expiry) hand the lease over; generations grow strictly; one leader at a time.
func TestKafkaFailover(t *testing.T) {
	k := startKfake(t)
	c := newCluster(t, kafkaTTL, kafkaBackends(t, k, ""))
	for range 3 {
		c.start()
	}
	graceful, crash := failoverRounds(t, c, 3)
	c.checkTerms(20 * time.Millisecond)
	g50, gmax := percentile(graceful)
	c50, cmax := percentile(crash)
	t.Logf("Kafka failover, TTL %v: graceful p50 %dms max %dms; crash p50 %dms max %dms",
		kafkaTTL, g50.Milliseconds(), gmax.Milliseconds(), c50.Milliseconds(), cmax.Milliseconds())
}

// TestKafkaFailoverAtBrokerDefaults: kfake at its default group settings
// (group.min.session.timeout.ms 6000, as Kafka ships) and a 6s TTL: a graceful stop hands
// the lease over at once, a crash once the broker expires the session (about the TTL).
func TestKafkaFailoverAtBrokerDefaults(t *testing.T) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	const ttl = 6 * time.Second
	c := newCluster(t, ttl, kafkaBackends(t, k, ""))
	c.start()
	c.leader(20 * time.Second)
	c.start()
	graceful, crash := failoverRounds(t, c, 1)
	c.checkTerms(20 * time.Millisecond)
	if crash[0] < ttl*4/5 || crash[0] > 2*ttl+5*time.Second {
		t.Errorf("crash failover took %v, want about the session timeout %v", crash[0], ttl)
	}
	t.Logf("Kafka failover at broker defaults, TTL %v: graceful %dms, crash %dms", ttl,
		graceful[0].Milliseconds(), crash[0].Milliseconds())
}

// TestKafkaStickyOnJoin: standbys joining and leaving rebalance the group, but the
// leader keeps its term (sticky assignment).
func TestKafkaStickyOnJoin(t *testing.T) {
	k := startKfake(t)
	c := newCluster(t, kafkaTTL, kafkaBackends(t, k, ""))
	c.start()
	first, _ := c.leader(5 * time.Second)
	s1 := c.start()
	c.start()
	time.Sleep(c.ttl)
	s1.stop(t)
	time.Sleep(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.terms) != 1 || !first.end.IsZero() {
		t.Fatalf("leader's term ended on a standby's join/leave: %d terms, cause %v", len(c.terms), first.cause)
	}
}

// TestKafkaFrozenLeader: heart-beats stop for 3×TTL; the leader steps down (clock)
// before the successor leads; thawed, it cannot disturb the successor's term.
func TestKafkaFrozenLeader(t *testing.T) {
	k := startKfake(t)
	c := newCluster(t, kafkaTTL, kafkaBackends(t, k, ""))
	fz := &freezer{d: 3 * c.ttl}
	frozen := c.start(fz.install)
	old, _ := c.leader(5 * time.Second)
	c.start()
	time.Sleep(c.ttl / 2)
	fz.freeze()
	nt := c.newLeaderAfter(time.Now(), 3*c.ttl)
	fz.waitThaw(t)
	c.mu.Lock()
	ended, cause := old.end, old.cause
	c.mu.Unlock()
	if ended.IsZero() || !ended.Before(nt.start) || !errors.Is(cause, ErrLapsed) {
		c.checkTerms(0)
		t.Fatalf("frozen leader ended at %v (cause %v), successor started at %v", ended, cause, nt.start)
	}
	if frozen.l.Held() {
		t.Fatal("thawed leader still holds the lease")
	}
	time.Sleep(2 * c.ttl) // the thawed replica rejoins as a standby
	c.mu.Lock()
	succEnd := nt.end
	c.mu.Unlock()
	if !succEnd.IsZero() {
		t.Fatalf("successor's term ended after the thaw: %v", nt.cause)
	}
	c.checkTerms(0)
}

// TestKafkaConnectionCut: the leader's connections are blackholed; it steps down before
// the TTL and before the successor leads.
func TestKafkaConnectionCut(t *testing.T) {
	k := startKfake(t)
	p := startProxy(t, k.ListenAddrs()[0])
	c := newCluster(t, kafkaTTL, kafkaBackends(t, k, p.addr()))
	c.start()
	old, _ := c.leader(5 * time.Second)
	c.mk = kafkaBackends(t, k, "")
	c.start()
	time.Sleep(c.ttl)
	cut := time.Now()
	p.blackhole()
	nt := c.newLeaderAfter(cut, 3*c.ttl)
	c.mu.Lock()
	ended, cause := old.end, old.cause
	c.mu.Unlock()
	if ended.IsZero() || ended.Sub(cut) >= c.ttl || !ended.Before(nt.start) {
		t.Fatalf("cut leader ended %v after the cut (cause %v); successor %v after", ended.Sub(cut), cause, nt.start.Sub(cut))
	}
	t.Logf("cut leader stepped down %v after the cut (cause %v); successor after %v", ended.Sub(cut), cause, nt.start.Sub(cut))
	c.checkTerms(0)
}
