package lease

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

// saslBackend builds a Kafka backend on k whose security comes from the sink's helper,
// as the app builds it.
func saslBackend(t *testing.T, k *kfake.Cluster, mech, password string) *Kafka {
	t.Helper()
	kc := kafka.Config{SASLMechanism: mech, Username: "bridge", Password: password}
	tc, m, err := kc.Security()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKafka(KafkaConfig{Brokers: k.ListenAddrs(), GroupID: "lease-sasl", Topic: "lease-sasl", TLS: tc, SASL: m})
	if err != nil {
		t.Fatalf("NewKafka with SASL %s: %v", mech, err)
	}
	if err := b.Prepare(context.Background(), "replica-"+password, kafkaTTL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

// TestKafkaSASL: against a broker requiring SASL, a replica acquires and renews (the
// heartbeat connection authenticates too), a standby takes over on release, and a wrong
// password is an error, not a hang.
func TestKafkaSASL(t *testing.T) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			// group.min.session.timeout.ms lowered on the brokers, as in startKfake
			k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.BrokerConfigs(map[string]string{minSessionConfig: "100"}),
				kfake.EnableSASL(), kfake.Superuser(strings.ToUpper(mech), "bridge", "s3cret"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(k.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			leader := saslBackend(t, k, mech, "s3cret")
			if _, err := leader.Acquire(ctx); err != nil {
				t.Fatalf("acquire: %v", err)
			}
			if err := leader.Renew(ctx); err != nil {
				t.Fatalf("renew (heartbeat over SASL): %v", err)
			}
			checkStandbyTakesOver(ctx, t, leader, saslBackend(t, k, mech, "s3cret"))
			bad := saslBackend(t, k, mech, "wrong")
			short, cancel2 := context.WithTimeout(ctx, 3*time.Second)
			defer cancel2()
			if _, err := bad.Acquire(short); err == nil || short.Err() != nil {
				t.Fatalf("acquire with a wrong password: want a prompt error, got %v (ctx %v)", err, short.Err())
			}
		})
	}
}

// checkStandbyTakesOver starts standby, which must wait (heart-beating over SASL) until
// leader releases, then lead. CI once saw a standby's group sync end in an EOF: the
// campaign is retried as Lease.Run retries it.
func checkStandbyTakesOver(ctx context.Context, t *testing.T, leader, standby *Kafka) {
	t.Helper()
	got := make(chan error, 1)
	go func() { // a failed campaign (a group round cut short) is retried, as Lease.Run does
		for {
			_, err := standby.Acquire(ctx)
			if err == nil || ctx.Err() != nil {
				got <- err
				return
			}
			time.Sleep(kafkaTTL / 10)
		}
	}()
	time.Sleep(3 * leader.renewInterval(kafkaTTL))
	if err := leader.Renew(ctx); err != nil {
		t.Fatalf("renew with a standby: %v", err)
	}
	select {
	case err := <-got:
		t.Fatalf("standby acquired while the leader held the lease: %v", err)
	default:
	}
	if err := leader.Release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("standby acquire: %v", err)
	}
	if err := standby.Renew(ctx); err != nil {
		t.Fatalf("new leader renew: %v", err)
	}
}
