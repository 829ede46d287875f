package ha_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// deploymentStatus is the part of /status the deployment tests read.
type deploymentStatus struct {
	Instance   string `json:"instance"`
	Deployment string `json:"deployment"`
	Leader     bool   `json:"leader"`
	Subscribed bool   `json:"subscribed"`
	Lease      struct {
		Holder string `json:"holder"`
	} `json:"lease"`
}

func readStatus(r *replica) (deploymentStatus, error) {
	var st deploymentStatus
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.http+"/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("%s: %w", r.id, err)
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// idCounter counts the CloudEvent ids that reached one stream or topic.
type idCounter struct {
	mu  sync.Mutex
	ids map[string]int
}

func (c *idCounter) add(body []byte) {
	var ce struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &ce)
	c.mu.Lock()
	c.ids[ce.ID]++
	c.mu.Unlock()
}

func (c *idCounter) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// checkAll waits up to d for every alert, then fails for each missing or duplicated one.
func (c *idCounter) checkAll(t *testing.T, where string, alerts []sim.Alert, d time.Duration) {
	t.Helper()
	missing := func() (n int) {
		for _, a := range alerts {
			if c.count(event.AlertID(a.UUID)) == 0 {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(d); missing() > 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a late second copy would show by now
	bad := 0
	for _, a := range alerts {
		if n := c.count(event.AlertID(a.UUID)); n != 1 {
			if bad < 5 {
				t.Errorf("%s: alert %s delivered %d times, want 1", where, a.UUID, n)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d alerts not delivered exactly once", where, bad, len(alerts))
	}
	t.Logf("%s: all %d alerts delivered exactly once", where, len(alerts))
}

// natsJS connects a JetStream client straight to the server.
func natsJS(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	return natstest.Connect(t, url)
}

// watchStream counts the ids in stream from its start for the rest of the test (the
// bridge has created the stream once a replica is up).
func watchStream(t *testing.T, url, stream string) *idCounter {
	t.Helper()
	js := natsJS(t, url)
	c := &idCounter{ids: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatalf("ordered consumer on %s: %v", stream, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { c.add(m.Data()) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return c
}

// watchTopic counts the ids in topic from its start for the rest of the test.
func watchTopic(t *testing.T, brokers []string, topic string) *idCounter {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	c := &idCounter{ids: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { c.add(r.Value) })
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return c
}

// kvWatermarks reads watermarks from the JetStream KV state bucket (0: none saved yet;
// -1: the read failed).
func kvWatermarks(t *testing.T, url string) func(key string) int64 {
	js := natsJS(t, url)
	return func(key string) int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kv, err := js.KeyValue(ctx, "rhombus_bridge_state")
		if err != nil {
			return -1
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0
		}
		if err != nil {
			return -1
		}
		ms, err := strconv.ParseInt(string(e.Value()), 10, 64)
		if err != nil {
			return -1
		}
		return ms
	}
}

// kafkaWatermarks reads watermarks from the Kafka state topic: the key's last record up to
// the partition's end (0: none saved yet; -1: the read failed).
func kafkaWatermarks(t *testing.T, brokers []string, topic string) func(key string) int64 {
	return func(key string) int64 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Error(err)
			return -1
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		end, err := endOffset(ctx, cl, topic)
		if err != nil {
			return -1
		}
		var ms int64
		for next := int64(0); next < end; {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return -1
			}
			fs.EachRecord(func(r *kgo.Record) {
				next = r.Offset + 1
				var v struct {
					Ms int64 `json:"ms"`
				}
				if string(r.Key) == key && json.Unmarshal(r.Value, &v) == nil {
					ms = v.Ms
				}
			})
		}
		return ms
	}
}

// endOffset is the end (high watermark) of partition 0 of topic.
func endOffset(ctx context.Context, cl *kgo.Client, topic string) (int64, error) {
	p := kmsg.NewListOffsetsRequestTopicPartition()
	p.Partition, p.Timestamp = 0, -1 // -1: the latest offset
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic, rt.Partitions = topic, []kmsg.ListOffsetsRequestTopicPartition{p}
	req := kmsg.NewPtrListOffsetsRequest()
	req.Topics = []kmsg.ListOffsetsRequestTopic{rt}
	res, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if len(res.Topics) != 1 || len(res.Topics[0].Partitions) != 1 {
		return 0, fmt.Errorf("list offsets of %s: %d topics in the answer", topic, len(res.Topics))
	}
	rp := res.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
		return 0, err
	}
	return rp.Offset, nil
}

// checkLeaseKeys checks that each deployment holds its own key in the NATS lease bucket.
func checkLeaseKeys(t *testing.T, url string, keys ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := natsJS(t, url).KeyValue(ctx, "rhombus_bridge_lease")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := kv.Get(ctx, k); err != nil {
			t.Errorf("lease key %s: %v", k, err)
		}
	}
}

// checkStreamLimits checks the limits the bridge gave the stream it created on an external
// server with NATS_STREAM_MAX_AGE and NATS_STREAM_MAX_BYTES unset: 168h, unlimited bytes.
func checkStreamLimits(t *testing.T, url, stream string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := natsJS(t, url).Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if c := st.CachedInfo().Config; c.MaxAge != 168*time.Hour || c.MaxBytes != -1 {
		t.Errorf("stream %s: MaxAge %v MaxBytes %d, want 168h -1", stream, c.MaxAge, c.MaxBytes)
	}
}
