package lease

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// systemNATS is the NATS server this kind of machine runs (Debian's, older than 2.11).
const systemNATS = "nats://127.0.0.1:4222"

// TestNATSFailoverOnPre211Server runs the failover rounds against a real NATS server too
// old for KV limit markers (Debian's, on 127.0.0.1:4222 where this machine runs it): the
// lease still works, and a crashed leader's lease is taken over by the revision-age
// fallback within 2 × TTL + 1 s. Skipped where no such server is running.
func TestNATSFailoverOnPre211Server(t *testing.T) {
	nc, err := nats.Connect(systemNATS, nats.Timeout(time.Second))
	if err != nil {
		t.Skipf("no NATS server on %s: %v", systemNATS, err)
	}
	t.Cleanup(nc.Close) // after the bucket is deleted (cleanups run last-registered first)
	var major, minor int
	if _, err := fmt.Sscanf(nc.ConnectedServerVersion(), "%d.%d", &major, &minor); err != nil || major > 2 || minor >= 11 {
		t.Skipf("the NATS server on %s is %s, not older than 2.11", systemNATS, nc.ConnectedServerVersion())
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("lease_old_%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = js.DeleteKeyValue(context.Background(), bucket) })
	c := newCluster(t, natsTTL, func(name string) Backend {
		cn, err := nats.Connect(systemNATS, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cn.Close)
		cjs, _ := jetstream.New(cn)
		b, err := NewNATS(cjs, NATSConfig{Bucket: bucket, Key: "leader", Storage: jetstream.MemoryStorage})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	for range 3 {
		c.start()
	}
	for i := range 4 {
		_, r := c.leader(2*c.ttl + 2*time.Second)
		at := time.Now()
		if i%2 == 0 {
			r.stop(t)
			c.newLeaderAfter(at, time.Second) // a release is seen through the watch
		} else {
			r.crash(t)
			c.newLeaderAfter(at, 2*c.ttl+time.Second)
		}
		c.start()
	}
	c.checkTerms(20 * time.Millisecond)
}
