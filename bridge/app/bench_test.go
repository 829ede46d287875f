package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// benchBridge starts simulator + bridge against ns; acked counts acknowledged events and
// lat (if not nil) collects their latencies from frame-in to PubAck.
func benchBridge(b *testing.B, ns *natstest.Server, acked *atomic.Int64, lat *latencies, spool bool) *sim.Server {
	return benchBridgeWith(b, ns, acked, lat, spool, func(*config.Config) {})
}

// benchBridgeWith is benchBridge with mod applied to the configuration.
func benchBridgeWith(b *testing.B, ns *natstest.Server, acked *atomic.Int64, lat *latencies, spool bool,
	mod func(*config.Config)) *sim.Server {
	s := startSim(b, sim.Config{OrgUUID: "ORG-BENCH", QueueSize: 1 << 16, Heartbeat: 10 * time.Second})
	cfg := testConfig(b, s, ns.URL())
	mod(&cfg)
	cfg.Rhombus.Enrich = false
	cfg.Rhombus.Heartbeat = 10 * time.Second
	cfg.Bridge.BufferEvents = 50000 // the producer outruns the broker: hold a whole round
	if !spool {
		cfg.Bridge.SpoolMaxBytes = 0
	}
	a, err := app.New(cfg, app.Options{Logger: quiet(), OnAcked: func(_ event.Event, d time.Duration) {
		acked.Add(1)
		lat.add(d)
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := s.WaitSubscriptions(wctx, 1); err != nil {
		b.Fatal(err)
	}
	return s
}

func alertPayload(i int) []byte {
	return fmt.Appendf(nil, `{"entity":"POLICY_ALERT","entityUuid":"bench-%d","type":"CREATE","deviceUuid":"cam-%03d","timestampMs":%d,"durationSec":4.5,"policyAlertTriggers":["PERSON_DETECTED","LOITERING"],"textDescription":"Person detected near entrance %d","locationUuid":"loc-1"}`,
		i, i%1000, time.Now().UnixMilli(), i)
}

// BenchmarkThroughputVsRawPublish measures events/s from STOMP frames in to PubAcks
// against raw PublishMsgAsync of same-size messages to the same JetStream server, in the
// same run. Reported: bridge-ev/s, raw-ev/s and their ratio (goal ≥ 0.8).
func BenchmarkThroughputVsRawPublish(b *testing.B) {
	b.Run("spool", func(b *testing.B) { benchThroughput(b, true) })
	b.Run("memory", func(b *testing.B) { benchThroughput(b, false) })
}

func benchThroughput(b *testing.B, spool bool) {
	const n = 20000
	ns := natstest.Start(b)
	var acked atomic.Int64
	s := benchBridge(b, ns, &acked, nil, spool)
	probe, _ := event.ParseChange("ORG-BENCH", alertPayload(0), event.ViaWebSocket)
	var bridgeDur, rawDur time.Duration
	offset := 0
	for b.Loop() {
		rawDur += rawPublish(b, ns.URL(), n, len(probe.Body))
		start := time.Now()
		base := acked.Load()
		for i := 0; i < n; i++ {
			s.Emit(alertPayload(offset + i))
		}
		offset += n
		waitAcked(b, &acked, base+n)
		bridgeDur += time.Since(start)
	}
	iters := float64(b.N)
	br, raw := iters*n/bridgeDur.Seconds(), iters*n/rawDur.Seconds()
	b.ReportMetric(br, "bridge-ev/s")
	b.ReportMetric(raw, "raw-ev/s")
	b.ReportMetric(br/raw, "ratio")
}

// rawPublish sends n messages of size bytes with distinct Nats-Msg-Ids asynchronously
// and waits for every PubAck: the baseline.
func rawPublish(b *testing.B, url string, n, size int) time.Duration {
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	body := make([]byte, size)
	prefix := fmt.Sprint(time.Now().UnixNano())
	start := time.Now()
	for i := 0; i < n; i++ {
		m := nats.NewMsg(fmt.Sprintf("rhombus.v1.ORG-BENCH.policy_alert.create.cam-%03d", i%1000))
		m.Data = body
		m.Header.Set(jetstream.MsgIDHeader, prefix+fmt.Sprint(i))
		if _, err := js.PublishMsgAsync(m, jetstream.WithStallWait(10*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		b.Fatal("raw publishes not acknowledged")
	}
	return time.Since(start)
}

// BenchmarkLatencyAt1000PerSecond emits 1000 events/s for 5 s and reports the
// frame-in → PubAck latency distribution (goal: p99 ≤ 5 ms).
func BenchmarkLatencyAt1000PerSecond(b *testing.B) {
	ns := natstest.Start(b)
	var acked atomic.Int64
	lat := &latencies{}
	s := benchBridge(b, ns, &acked, lat, true)
	for b.Loop() {
		lat.reset()
		tick := time.NewTicker(time.Millisecond)
		base := acked.Load()
		for i := 0; i < 5000; i++ {
			<-tick.C
			s.Emit(alertPayload(i + int(base)))
		}
		tick.Stop()
		waitAcked(b, &acked, base+5000)
	}
	p50, p99, max := lat.quantiles()
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(max.Microseconds())/1000, "max-ms")
}

func waitAcked(b *testing.B, acked *atomic.Int64, want int64) {
	deadline := time.Now().Add(60 * time.Second)
	for acked.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d events acknowledged after 60s", acked.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) reset() {
	l.mu.Lock()
	l.d = l.d[:0]
	l.mu.Unlock()
}

func (l *latencies) quantiles() (p50, p99, max time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100], s[len(s)-1]
}

// BenchmarkFanOutEndToEnd measures the whole bridge with BRIDGE_SINKS=nats,kafka (each
// sink delivered to on its own, an event counted once both acknowledged) against the same
// bridge with NATS alone, in the same run: 20,000 STOMP frames in, kfake with 3 brokers.
func BenchmarkFanOutEndToEnd(b *testing.B) {
	rates := map[string]float64{}
	for _, sinksOn := range []string{"nats", "nats,kafka"} {
		b.Run("sinks="+sinksOn, func(b *testing.B) {
			rates[sinksOn] = benchSinks(b, sinksOn == "nats,kafka")
		})
	}
	if rates["nats"] > 0 {
		b.Logf("nats,kafka / nats alone: %.2f", rates["nats,kafka"]/rates["nats"])
	}
}

func benchSinks(b *testing.B, withKafka bool) float64 {
	const n = 20000
	ns := natstest.Start(b)
	var acked atomic.Int64
	mod := func(cfg *config.Config) {}
	if withKafka {
		kc, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(6, "rhombus.events.v1"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(kc.Close)
		mod = func(cfg *config.Config) {
			cfg.Bridge.Sinks = []string{"nats", "kafka"}
			cfg.Kafka.Brokers = kc.ListenAddrs()
		}
	}
	s := benchBridgeWith(b, ns, &acked, nil, false, mod)
	var took time.Duration
	offset := 0
	for b.Loop() {
		start, base := time.Now(), acked.Load()
		for i := 0; i < n; i++ {
			s.Emit(alertPayload(offset + i))
		}
		offset += n
		waitAcked(b, &acked, base+n)
		took += time.Since(start)
	}
	rate := float64(n*b.N) / took.Seconds()
	b.ReportMetric(rate, "bridge-ev/s")
	return rate
}
