package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

func TestSASL(t *testing.T) {
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(strings.ToUpper(mech), "bridge", "s3cret"))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			good := newSink(t, c, func(cfg *kafka.Config) { cfg.SASLMechanism, cfg.Username, cfg.Password = mech, "bridge", "s3cret" })
			if err := good.Publish(ctx, sinktest.Events(t, 1, 1)[0]); err != nil {
				t.Fatalf("publish with %s: %v", mech, err)
			}
			bad := newSink(t, c, func(cfg *kafka.Config) { cfg.SASLMechanism, cfg.Username, cfg.Password = mech, "bridge", "wrong" })
			short, cancel2 := context.WithTimeout(ctx, time.Second)
			defer cancel2()
			if err := bad.Publish(short, sinktest.Events(t, 2, 1)[1]); err == nil {
				t.Fatal("publish with a wrong password succeeded")
			}
		})
	}
}

func TestConfigProblems(t *testing.T) {
	_, err := kafka.New(context.Background(), kafka.Config{Brokers: []string{"nohostport"}, SASLMechanism: "gssapi"})
	if err == nil || !strings.Contains(err.Error(), "gssapi") || !strings.Contains(err.Error(), "nohostport") {
		t.Fatalf("want every problem in one error, got %v", err)
	}
}
