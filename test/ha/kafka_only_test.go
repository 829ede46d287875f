package ha_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

const eventsTopic = "rhombus.events.v1"

// kafkaWorld is a Kafka-only deployment (BRIDGE_SINKS=kafka, BRIDGE_LEASE=kafka, the
// watermark on Kafka too, no NATS) of n replicas on kfake and the simulator.
type kafkaWorld struct {
	t     testing.TB
	sim   *sim.Server
	kafka *kfake.Cluster
	reps  []*replica
}

// newKafkaWorld starts kfake with opts (none: its defaults, which are Kafka's, e.g.
// group.min.session.timeout.ms 6000) and n replicas with BRIDGE_LEASE_TTL leaseTTL.
func newKafkaWorld(t testing.TB, n int, leaseTTL time.Duration, opts ...kfake.Opt) *kafkaWorld {
	t.Helper()
	s, err := sim.New(sim.Config{APIKey: apiKey, Heartbeat: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	k, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(6, eventsTopic),
		kfake.SeedTopics(1, leaseTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	w := &kafkaWorld{t: t, sim: s, kafka: k}
	dir := t.TempDir()
	for i := range n {
		r := &replica{t: t, id: fmt.Sprintf("replica-%d", i), http: bridgetest.FreeAddr(t)}
		r.logPath = fmt.Sprintf("%s/%s.log", dir, r.id)
		r.env = bridgetest.ProcessEnv(map[string]string{
			"RHOMBUS_API_KEY": apiKey, "RHOMBUS_ORG_UUID": s.OrgUUID(),
			"RHOMBUS_WS_URL": s.WSURL(), "RHOMBUS_API_URL": s.URL(),
			"RHOMBUS_HEARTBEAT": "1s", "RHOMBUS_REST_RATE": "100",
			"BRIDGE_INSTANCE_ID": r.id, "BRIDGE_LEASE": "kafka", "BRIDGE_SINKS": "kafka",
			"BRIDGE_LEASE_TTL": leaseTTL.String(), "BRIDGE_DATA_DIR": fmt.Sprintf("%s/%s.data", dir, r.id),
			"BRIDGE_SHUTDOWN_TIMEOUT": "10s", "KAFKA_BROKERS": k.ListenAddrs()[0], "KAFKA_LEASE_TOPIC": leaseTopic,
			"HTTP_ADDR": r.http, "WEBHOOK_ADDR": "127.0.0.1:0", "WEBHOOK_SECRET": "",
			"LOG_FORMAT": "json", "LOG_LEVEL": "info",
		})
		w.reps = append(w.reps, r)
	}
	t.Cleanup(w.cleanup) // registered after the servers: runs before they stop
	for _, r := range w.reps {
		r.start()
	}
	return w
}

func (w *kafkaWorld) cleanup() {
	for _, r := range w.reps {
		r.stop()
	}
	for _, r := range w.reps {
		r.keepLog(w.t.Name())
		if w.t.Failed() {
			w.t.Logf("---- %s log (last 40 lines) ----\n%s", r.id, strings.Join(r.tail(40), "\n"))
		}
	}
}

// leader waits up to d for exactly one subscribed leader among the running replicas
// other than not.
func (w *kafkaWorld) leader(d time.Duration, not *replica) *replica {
	w.t.Helper()
	c := &cluster{t: w.t, reps: w.reps}
	r, err := c.findLeader(d, not)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// failover does fault to the leader and returns it and the time to the next SUBSCRIBE.
func (w *kafkaWorld) failover(name string, bound time.Duration, fault func(*replica)) (*replica, time.Duration) {
	w.t.Helper()
	c := &cluster{t: w.t, sim: w.sim, reps: w.reps}
	return c.failover(name, bound, fault)
}

// topicIDs reads the whole events topic and lists where each ce_id is
// ("partition@offset HH:MM:SS.mmm rev N").
func (w *kafkaWorld) topicIDs() (map[string][]string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := &kafkago.Client{Addr: kafkago.TCP(w.kafka.ListenAddrs()...), Timeout: 10 * time.Second}
	ids, total := map[string][]string{}, 0
	for p := range 6 {
		for off := int64(0); ; {
			fr, err := cl.Fetch(ctx, &kafkago.FetchRequest{Topic: eventsTopic, Partition: p, Offset: off, MaxBytes: 4 << 20})
			if err == nil {
				err = fr.Error
			}
			if err != nil {
				return nil, 0, fmt.Errorf("fetch %d@%d: %w", p, off, err)
			}
			for {
				r, err := fr.Records.ReadRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return nil, 0, err
				}
				if r.Offset < off {
					continue
				}
				off = r.Offset + 1
				total++
				id, rev := "", ""
				for _, h := range r.Headers {
					switch h.Key {
					case "ce_id":
						id = string(h.Value)
					case "rhombus_lease_rev":
						rev = string(h.Value)
					}
				}
				ids[id] = append(ids[id], fmt.Sprintf("%d@%d %s rev %s", p, r.Offset, r.Time.Format("15:04:05.000"), rev))
			}
			if off >= fr.HighWatermark {
				break
			}
		}
	}
	return ids, total, nil
}

// checkTopic waits up to d for every alert the sim created to be on the topic, then
// fails on any alert missing and on any ce_id there more than once.
func (w *kafkaWorld) checkTopic(d time.Duration) {
	w.t.Helper()
	alerts := w.sim.Alerts()
	deadline := time.Now().Add(d)
	var (
		ids     map[string][]string
		total   int
		missing []string
		err     error
	)
	for {
		ids, total, err = w.topicIDs()
		missing = missing[:0]
		for _, a := range alerts {
			if err == nil && len(ids[event.AlertID(a.UUID)]) == 0 {
				missing = append(missing, a.UUID)
			}
		}
		if err == nil && len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		w.t.Fatal(err)
	}
	repeated := 0
	for id, where := range ids {
		if len(where) > 1 {
			if repeated < 5 {
				w.t.Errorf("ce_id %s is on the topic %d times: %v", id, len(where), where)
			}
			repeated += len(where) - 1
		}
	}
	if len(missing) > 0 {
		w.t.Errorf("%d of %d policy alerts missing from the topic; first: %v", len(missing), len(alerts), missing[:min(5, len(missing))])
	}
	w.t.Logf("topic: %d records, %d distinct ids, %d repeated; %d policy alerts created, %d missing",
		total, len(ids), repeated, len(alerts), len(missing))
}

// TestKafkaOnlyNoRepeatedIDs: Kafka-only HA at kfake's default group settings (Kafka's:
// group.min.session.timeout.ms 6000) with BRIDGE_LEASE_TTL=6s and two replicas, the
// simulator creating policy alerts at about 50 per second. The leader is killed (-9)
// twice, each time restarted as a standby (its spool replays what it had not marked
// delivered), and frozen (SIGSTOP) once for 2 × TTL. Kafka has no duplicate window, so
// every new term reads the ids already on the topic before it backfills: in the end every
// alert is on the topic and no ce_id is there twice.
func TestKafkaOnlyNoRepeatedIDs(t *testing.T) {
	const leaseTTL = 6 * time.Second
	w := newKafkaWorld(t, 2, leaseTTL)
	w.leader(30*time.Second, nil)
	if err := w.sim.StartGenerator(sim.GenConfig{Rate: alertRate}); err != nil {
		t.Fatal(err)
	}
	bound := leaseTTL + 2*time.Second + slack()
	var took []time.Duration
	for range 2 {
		time.Sleep(2 * time.Second)
		old, d := w.failover("kill -9", bound, func(r *replica) { r.signal(syscall.SIGKILL) })
		took = append(took, d)
		_ = old.wait(5 * time.Second)
		old.start()
		old.waitStatus(30*time.Second, "a standby after the restart", func(s status) bool { return !s.Leader })
	}
	time.Sleep(2 * time.Second)
	old, d := w.failover("SIGSTOP", bound, func(r *replica) { r.signal(syscall.SIGSTOP) })
	took = append(took, d)
	time.Sleep(2*leaseTTL - d)
	old.signal(syscall.SIGCONT)
	old.waitStatus(10*time.Second, "a standby after thawing", func(s status) bool { return !s.Leader })
	time.Sleep(2 * time.Second)
	w.sim.StopGenerators()
	w.checkTopic(30 * time.Second)
	t.Logf("failover (fault → next SUBSCRIBE) at kfake defaults, TTL %v: kill -9 %v, kill -9 %v, SIGSTOP %v",
		leaseTTL, took[0].Round(time.Millisecond), took[1].Round(time.Millisecond), took[2].Round(time.Millisecond))
}
