package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestCheckKafkaLeaseTTL: `check` with BRIDGE_LEASE=kafka asks the brokers (kfake at its
// default group settings, as Kafka ships) for their minimum session timeout and warns,
// without failing, when BRIDGE_LEASE_TTL is below it; it warns too, within its bound,
// when the brokers cannot be reached.
func TestCheckKafkaLeaseTTL(t *testing.T) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	closed := func() string { // a port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}()
	for _, tc := range []struct{ name, brokers, ttl, want string }{
		{"below the minimum", k.ListenAddrs()[0], "2s", "WARNING: the Kafka lease cannot be acquired: BRIDGE_LEASE_TTL=2s is below the Kafka brokers' group.min.session.timeout.ms (6000 ms)"},
		{"allowed", k.ListenAddrs()[0], "10s", "Kafka brokers allow lease TTLs from 6s to 5m0s: BRIDGE_LEASE_TTL=10s OK"},
		{"unreachable", closed, "10s", "WARNING: could not read group.min.session.timeout.ms from KAFKA_BROKERS"},
		{"silent", holdPort(t), "10s", "WARNING: could not read group.min.session.timeout.ms from KAFKA_BROKERS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RHOMBUS_API_KEY", "k")
			t.Setenv("BRIDGE_SINKS", "kafka")
			t.Setenv("BRIDGE_LEASE", "kafka")
			t.Setenv("KAFKA_BROKERS", tc.brokers)
			t.Setenv("BRIDGE_LEASE_TTL", tc.ttl)
			var out, errOut syncBuffer
			began := time.Now()
			if code := run(context.Background(), []string{"check"}, &out, &errOut); code != 0 {
				t.Fatalf("check exited %d: %s%s", code, out.String(), errOut.String())
			}
			if d := time.Since(began); d > kafkaCheckTimeout+2*time.Second {
				t.Errorf("check took %v", d)
			}
			if !strings.Contains(out.String(), tc.want) {
				t.Errorf("check output lacks %q:\n%s", tc.want, out.String())
			}
		})
	}
}
