package ha_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

const (
	apiKey     = "ha-test-key"
	ttl        = 2 * time.Second // BRIDGE_LEASE_TTL
	alertRate  = 60.0            // generator events per second (80% policy alerts: ~50 alerts/s)
	maxOverlap = time.Second     // longest time two replicas may both be subscribed
	leaseTopic = "rhombus-bridge.lease"
)

// slack is extra time allowed on the failover bounds for -race and a loaded CI machine.
func slack() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("HA_SLACK")); err == nil {
		return d
	}
	return 3 * time.Second
}

// cluster is one scenario's world: JetStream, the simulator, optionally kfake, and
// three bridge processes, each behind its own proxy to NATS (and to kfake).
type cluster struct {
	t      testing.TB
	lease  string // "nats" or "kafka"
	nats   *natstest.Server
	sim    *sim.Server
	kafka  *kfake.Cluster
	reps   []*replica
	stream *collector
	began  time.Time
}

// newCluster starts everything and waits for one subscribed leader and two standbys.
func newCluster(t testing.TB, lease string) *cluster {
	t.Helper()
	c := &cluster{t: t, lease: lease, nats: natstest.Start(t), began: time.Now()}
	s, err := sim.New(sim.Config{APIKey: apiKey, Heartbeat: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	c.sim = s
	t.Cleanup(func() { _ = s.Close() })
	if lease == "kafka" {
		// The 2s TTL of these scenarios needs brokers whose group.min.session.timeout.ms
		// was lowered (Kafka's default, 6000, is what TestKafkaOnlyNoRepeatedIDs runs at).
		k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, leaseTopic),
			kfake.BrokerConfigs(map[string]string{"group.min.session.timeout.ms": "100"}))
		if err != nil {
			t.Fatal(err)
		}
		c.kafka = k
		t.Cleanup(k.Close)
	}
	dir := t.TempDir()
	for i := range 3 {
		c.reps = append(c.reps, c.newReplica(i, dir))
	}
	t.Cleanup(c.cleanup) // registered after the servers: runs before they stop
	for _, r := range c.reps {
		r.start()
	}
	c.leader(30 * time.Second)
	for _, r := range c.reps {
		r.waitStatus(30*time.Second, "up", func(status) bool { return true })
	}
	c.stream = startCollector(t, c.nats.URL())
	return c
}

func (c *cluster) newReplica(i int, dir string) *replica {
	r := &replica{t: c.t, id: fmt.Sprintf("replica-%d", i), http: bridgetest.FreeAddr(c.t), proxy: startProxy(c.t, strings.TrimPrefix(c.nats.URL(), "nats://"))}
	r.logPath = fmt.Sprintf("%s/%s.log", dir, r.id)
	vars := map[string]string{
		"RHOMBUS_API_KEY": apiKey, "RHOMBUS_ORG_UUID": c.sim.OrgUUID(),
		"RHOMBUS_WS_URL": c.sim.WSURL(), "RHOMBUS_API_URL": c.sim.URL(),
		"RHOMBUS_HEARTBEAT": "1s", "RHOMBUS_REST_RATE": "100",
		"BRIDGE_INSTANCE_ID": r.id, "BRIDGE_LEASE": c.lease, "BRIDGE_SINKS": "nats",
		"BRIDGE_LEASE_TTL": ttl.String(), "BRIDGE_DATA_DIR": fmt.Sprintf("%s/%s.data", dir, r.id),
		"BRIDGE_BACKFILL_OVERLAP": "5s", "BRIDGE_SHUTDOWN_TIMEOUT": "10s",
		"NATS_URL": r.proxy.url(), "HTTP_ADDR": r.http, "WEBHOOK_ADDR": "127.0.0.1:0", "WEBHOOK_SECRET": "",
		"LOG_FORMAT": "json", "LOG_LEVEL": "info",
	}
	if c.kafka != nil {
		r.kproxy = startKafkaProxy(c.t, c.kafka.ListenAddrs()[0]) // one broker
		vars["KAFKA_BROKERS"] = r.kproxy.addr()
		vars["KAFKA_LEASE_TOPIC"] = leaseTopic
	}
	r.env = bridgetest.ProcessEnv(vars)
	return r
}

// cleanup stops every process and, if the test failed, shows the end of their logs.
func (c *cluster) cleanup() {
	for _, r := range c.reps {
		r.stop()
	}
	for _, r := range c.reps {
		r.keepLog(c.t.Name())
		if c.t.Failed() {
			c.t.Logf("---- %s log (last 60 lines) ----\n%s", r.id, strings.Join(r.tail(60), "\n"))
		}
	}
	if c.t.Failed() {
		c.t.Logf("sim subscriptions: %+v", c.sim.Subscriptions())
	}
}

// generate starts the sim's event generator (~50 policy alerts per second).
func (c *cluster) generate() {
	c.t.Helper()
	if err := c.sim.StartGenerator(sim.GenConfig{Rate: alertRate}); err != nil {
		c.t.Fatal(err)
	}
}

// leader waits up to d for exactly one running replica that leads with a live
// subscription, and returns it.
func (c *cluster) leader(d time.Duration) *replica {
	c.t.Helper()
	r, err := c.findLeader(d, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// findLeader is leader, ignoring the replica not (frozen or cut off).
func (c *cluster) findLeader(d time.Duration, not *replica) (*replica, error) {
	deadline := time.Now().Add(d)
	var seen []string
	for time.Now().Before(deadline) {
		var leaders []*replica
		seen = seen[:0]
		for _, r := range c.reps {
			if r == not || !r.running() {
				continue
			}
			st, err := r.status(500 * time.Millisecond)
			seen = append(seen, fmt.Sprintf("%s leader=%v subscribed=%v err=%v", r.id, st.Leader, st.Subscribed, err))
			if err == nil && st.Leader && st.Subscribed {
				leaders = append(leaders, r)
			}
		}
		if len(leaders) == 1 {
			return leaders[0], nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("%w within %v: %v", errNoLeader, d, seen)
}

// nextSubscribe waits up to d for the first SUBSCRIBE the sim accepts after at.
func (c *cluster) nextSubscribe(at time.Time, d time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var got time.Time
	err := c.sim.Wait(ctx, func() bool {
		for _, st := range c.sim.SubscribeTimes() {
			if st.After(at) {
				got = st
				return true
			}
		}
		return false
	})
	return got, err
}

// failover does fault to the leader and returns it and the time from the fault to the
// successor's SUBSCRIBE, failing the test beyond bound.
func (c *cluster) failover(name string, bound time.Duration, fault func(*replica)) (*replica, time.Duration) {
	c.t.Helper()
	old := c.leader(10 * time.Second)
	at := time.Now()
	fault(old)
	sub, err := c.nextSubscribe(at, bound)
	if err != nil {
		c.t.Fatalf("%s of %s: no new subscription within %v: %v", name, old.id, bound, err)
	}
	d := sub.Sub(at)
	c.t.Logf("%s of %s: new SUBSCRIBE after %v", name, old.id, d.Round(time.Millisecond))
	return old, d
}

// soak lets the generator run for d (load, not synchronisation).
func (c *cluster) soak(d time.Duration) { time.Sleep(d) }

// finish stops the generator and checks the invariants of every scenario: no overlap
// of subscriptions beyond maxOverlap, every policy alert in the stream exactly once.
func (c *cluster) finish() {
	c.t.Helper()
	c.sim.StopGenerators()
	if o := c.sim.LongestOverlap(); o > maxOverlap {
		c.t.Errorf("two replicas were subscribed at once for %v (max %v)", o, maxOverlap)
	} else {
		c.t.Logf("longest overlap of subscriptions: %v", o.Round(time.Millisecond))
	}
	c.stream.checkAlerts(c.t, c.sim.Alerts(), 30*time.Second)
}

// activeSubscriptions returns the sim's subscriptions that have not ended.
func (c *cluster) activeSubscriptions() []sim.Subscription {
	var out []sim.Subscription
	for _, s := range c.sim.Subscriptions() {
		if s.End.IsZero() {
			out = append(out, s)
		}
	}
	return out
}

// subscriptionEnd waits up to d for the subscription to end and returns when it did.
func (c *cluster) subscriptionEnd(sub sim.Subscription, d time.Duration) time.Time {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var end time.Time
	err := c.sim.Wait(ctx, func() bool {
		for _, s := range c.sim.Subscriptions() {
			if s.Conn == sub.Conn && s.ID == sub.ID && !s.End.IsZero() {
				end = s.End
				return true
			}
		}
		return false
	})
	if err != nil {
		c.t.Fatalf("subscription %d/%s still active after %v", sub.Conn, sub.ID, d)
	}
	return end
}
