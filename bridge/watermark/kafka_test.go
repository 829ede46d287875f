package watermark

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

const stateTopic = "rhombus-bridge.state"

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// stateCluster is a kfake cluster whose brokers drop every connection while down is set.
func stateCluster(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, *atomic.Bool) {
	t.Helper()
	k, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	down := new(atomic.Bool)
	k.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		k.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true // closes the connection
		}
		return nil, nil, false
	})
	return k, down
}

// stateStore is one replica's store for org on k.
func stateStore(t *testing.T, k *kfake.Cluster, org, instance string, mod func(*kafka.Config)) *Kafka {
	t.Helper()
	kc := kafka.Config{Brokers: k.ListenAddrs(), DialTimeout: time.Second, MetadataTTL: 200 * time.Millisecond}
	if mod != nil {
		mod(&kc)
	}
	w, err := NewKafka(context.Background(), KafkaConfig{Client: kc, Topic: stateTopic, Key: "watermark." + org,
		Instance: instance, Timeout: 2 * time.Second, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func mustSave(ctx context.Context, t *testing.T, w *Kafka, ms int64) {
	t.Helper()
	if err := w.Save(ctx, ms); err != nil {
		t.Fatalf("save %d: %v", ms, err)
	}
}

func mustLoad(ctx context.Context, t *testing.T, w *Kafka, want int64) {
	t.Helper()
	got, err := w.Load(ctx)
	if err != nil || got != want {
		t.Fatalf("%s loads %d, %v; want %d", w.instance, got, err, want)
	}
}

// TestKafkaWatermarkShared: one replica saves, another (that never led) loads it; the
// last write wins, lower or not; other orgs' keys do not interfere; the topic is created
// compacted.
func TestKafkaWatermarkShared(t *testing.T) {
	k, _ := stateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := stateStore(t, k, "org-1", "a", nil)
	b := stateStore(t, k, "org-1", "b", nil)
	other := stateStore(t, k, "org-2", "a", nil)
	mustLoad(ctx, t, b, 0)
	mustSave(ctx, t, a, 1000)
	mustSave(ctx, t, other, 9999)
	mustLoad(ctx, t, b, 1000)
	mustSave(ctx, t, b, 2000)
	mustSave(ctx, t, a, 1500) // last write wins, even lower
	mustLoad(ctx, t, stateStore(t, k, "org-1", "c", nil), 1500)
	mustLoad(ctx, t, other, 9999)
	checkCompacted(ctx, t, k)
}

// TestKafkaWatermarkBeyondTail: the key's last record lies further back than the tail
// Load reads first (other orgs wrote since); a full scan finds it. A tombstone deletes it.
func TestKafkaWatermarkBeyondTail(t *testing.T) {
	k, _ := stateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mustSave(ctx, t, stateStore(t, k, "org-1", "a", nil), 4242)
	other := stateStore(t, k, "org-2", "a", nil)
	for i := range tailRecords + 50 {
		mustSave(ctx, t, other, int64(i+1))
	}
	b := stateStore(t, k, "org-1", "b", nil)
	mustLoad(ctx, t, b, 4242)
	mustLoad(ctx, t, other, tailRecords+50)
	res, err := b.cl.Produce(ctx, &kafkago.ProduceRequest{Topic: stateTopic, RequiredAcks: kafkago.RequireAll,
		Records: kafkago.NewRecordReader(kafkago.Record{Key: kafkago.NewBytes([]byte(b.key))})})
	if err != nil || res.Error != nil {
		t.Fatalf("tombstone: %v %v", err, res)
	}
	mustLoad(ctx, t, b, 0)
}

// TestKafkaWatermarkBrokerDown: with the brokers unreachable, Save and Load fail with an
// error naming the state topic (Load after its few retries), within their deadline; never
// a silent 0. Back up, a replica that started while they were down loads the watermark.
func TestKafkaWatermarkBrokerDown(t *testing.T) {
	k, down := stateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := stateStore(t, k, "org-1", "a", nil)
	mustSave(ctx, t, a, 1000)
	down.Store(true)
	b := stateStore(t, k, "org-1", "b", nil) // starts while the brokers are down: not fatal
	for _, w := range []*Kafka{a, b} {
		short, cancel := context.WithTimeout(ctx, 10*time.Second)
		start := time.Now()
		if err := w.Save(short, 2000); err == nil || !strings.Contains(err.Error(), stateTopic) {
			t.Fatalf("save with the broker down: %v", err)
		}
		ms, err := w.Load(short)
		cancel()
		if err == nil || !strings.Contains(err.Error(), stateTopic) {
			t.Fatalf("load with the broker down: %d, %v", ms, err)
		}
		t.Logf("broker down: errors after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	down.Store(false)
	mustLoad(ctx, t, b, 1000)
}

// TestKafkaWatermarkSASL: the store uses the sink's TLS/SASL settings.
func TestKafkaWatermarkSASL(t *testing.T) {
	k, _ := stateCluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "bridge", "s3cret"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sasl := func(pw string) func(*kafka.Config) {
		return func(c *kafka.Config) { c.SASLMechanism, c.Username, c.Password = "scram-sha-512", "bridge", pw }
	}
	mustSave(ctx, t, stateStore(t, k, "org-1", "a", sasl("s3cret")), 77)
	mustLoad(ctx, t, stateStore(t, k, "org-1", "b", sasl("s3cret")), 77)
	short, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	if ms, err := stateStore(t, k, "org-1", "c", sasl("wrong")).Load(short); err == nil {
		t.Fatalf("load with a wrong password: %d, nil", ms)
	}
}

// checkCompacted asserts the state topic was created with one partition, compacted.
func checkCompacted(ctx context.Context, t *testing.T, k *kfake.Cluster) {
	t.Helper()
	cl := &kafkago.Client{Addr: kafkago.TCP(k.ListenAddrs()...)}
	md, err := cl.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{stateTopic}})
	if err != nil || len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 1 {
		t.Fatalf("state topic metadata: %v %+v", err, md)
	}
	res, err := cl.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: stateTopic, ConfigNames: []string{"cleanup.policy"}}}})
	if err != nil || len(res.Resources) != 1 || len(res.Resources[0].ConfigEntries) != 1 ||
		res.Resources[0].ConfigEntries[0].ConfigValue != "compact" {
		t.Fatalf("state topic cleanup.policy: %v %+v", err, res)
	}
}
