package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/sinktest"
)

const topic = "rhombus.events.v1"

// cluster is a kfake cluster with a switch that makes every broker drop connections.
type cluster struct {
	*kfake.Cluster
	down     atomic.Bool  // every broker drops connections
	downNode atomic.Int32 // this broker drops connections (-1: none)
}

func newCluster(t testing.TB, opts ...kfake.Opt) *cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(6, topic)}, opts...)
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{Cluster: kc}
	c.downNode.Store(-1)
	kc.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		if c.down.Load() || c.downNode.Load() == kc.CurrentNode() {
			kc.KeepControl()
			return nil, errors.New("broker down"), true // closes the connection
		}
		return nil, nil, false
	})
	t.Cleanup(kc.Close)
	return c
}

// newSink builds a sink on c with short timeouts for tests.
func newSink(t testing.TB, c *cluster, mod func(*kafka.Config)) *kafka.Sink {
	t.Helper()
	cfg := kafka.Config{Brokers: c.ListenAddrs(), Topic: topic, WriteTimeout: 2 * time.Second,
		MetadataTTL: 200 * time.Millisecond, DialTimeout: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := kafka.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// stored is one record with its partition and offset.
type stored struct {
	sinktest.Record
	Partition int
	Offset    int64
}

// readAll reads every record of the topic, partition by partition in offset order.
func readAll(ctx context.Context, brokers []string) ([]stored, error) {
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 5 * time.Second}
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata: %+v", md.Topics)
	}
	ps := make([]int, 0, 6)
	for _, p := range md.Topics[0].Partitions {
		ps = append(ps, p.ID)
	}
	sort.Ints(ps)
	var out []stored
	for _, p := range ps {
		recs, err := readPartition(ctx, client, p)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

func readPartition(ctx context.Context, client *kafkago.Client, p int) ([]stored, error) {
	var out []stored
	for off := int64(0); ; {
		fr, err := client.Fetch(ctx, &kafkago.FetchRequest{Topic: topic, Partition: p, Offset: off, MaxBytes: 4 << 20})
		if err == nil {
			err = fr.Error
		}
		if err != nil {
			return nil, fmt.Errorf("fetch %d@%d: %w", p, off, err)
		}
		for {
			r, err := fr.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			if r.Offset < off {
				continue
			}
			out = append(out, toStored(p, r))
			off = r.Offset + 1
		}
		if off >= fr.HighWatermark {
			return out, nil
		}
	}
}

func toStored(p int, r *kafkago.Record) stored {
	h := make(map[string]string, len(r.Headers))
	for _, x := range r.Headers {
		h[x.Key] = string(x.Value)
	}
	key, _ := readBytes(r.Key)
	val, _ := readBytes(r.Value)
	return stored{Record: sinktest.Record{ID: h["ce_id"], Key: string(key), Where: fmt.Sprintf("partition %d", p),
		Body: val, Headers: h}, Partition: p, Offset: r.Offset}
}

func readBytes(b kafkago.Bytes) ([]byte, error) {
	if b == nil {
		return nil, nil
	}
	defer b.Close()
	return io.ReadAll(b)
}

func records(s []stored) []sinktest.Record {
	out := make([]sinktest.Record, len(s))
	for i := range s {
		out[i] = s[i].Record
	}
	return out
}
