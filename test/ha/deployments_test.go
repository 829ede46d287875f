package ha_test

import (
	"encoding/json"
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

// TestTwoDeploymentsOneNATS: production (the defaults: stream RHOMBUS, deployment
// "rhombus", today's KV keys) and a second deployment of the same org (NATS_STREAM=CTR,
// prefix ctr, deployment "ctr") share one NATS server, two replicas each. Each deployment
// has exactly one leader, both subscribe, both streams get every alert of a burst exactly
// once, and each keeps its own watermark: with ctr stopped, production's progress leaves
// ctr's watermark where it was.
func TestTwoDeploymentsOneNATS(t *testing.T) {
	ns := natstest.Start(t)
	s := deploymentsSim(t)
	nats := func(stream, prefix string) map[string]string {
		return map[string]string{"NATS_URL": ns.URL(), "NATS_STREAM": stream, "NATS_SUBJECT_PREFIX": prefix,
			"BRIDGE_SINKS": "nats", "BRIDGE_LEASE": "nats"}
	}
	prod := startDeployment(t, s, "rhombus", nats("RHOMBUS", "rhombus"))
	ctr := startDeployment(t, s, "ctr", nats("CTR", "ctr"))
	prod.oneLeader(t, 30*time.Second) // each has created its stream
	ctr.oneLeader(t, 30*time.Second)
	prodIDs, ctrIDs := watchStream(t, ns.URL(), "RHOMBUS"), watchStream(t, ns.URL(), "CTR")
	marks := kvWatermarks(t, ns.URL())
	runTwoDeployments(t, s, twoDeployments{prod: prod, other: ctr, prodIDs: prodIDs, otherIDs: ctrIDs,
		prodKey: "watermark." + s.OrgUUID(), otherKey: "watermark.ctr." + s.OrgUUID(), marks: marks})
	checkLeaseKeys(t, ns.URL(), "leader."+s.OrgUUID(), "leader.ctr."+s.OrgUUID())
	checkStreamLimits(t, ns.URL(), "CTR")
}

// TestTwoDeploymentsOneKafka: the same on one Kafka cluster without NATS (Kafka sink,
// Kafka lease, the watermark on the state topic): production on the default topic and a
// second deployment on KAFKA_TOPIC=ctr.events (deployment "ctr_events").
func TestTwoDeploymentsOneKafka(t *testing.T) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, leaseTopic),
		kfake.SeedTopics(6, "rhombus.events.v1", "ctr.events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	s := deploymentsSim(t)
	kafka := func(topic string) map[string]string {
		return map[string]string{"KAFKA_BROKERS": k.ListenAddrs()[0], "KAFKA_TOPIC": topic,
			"BRIDGE_SINKS": "kafka", "BRIDGE_LEASE": "kafka"}
	}
	prod := startDeployment(t, s, "rhombus", kafka("rhombus.events.v1"))
	ctr := startDeployment(t, s, "ctr_events", kafka("ctr.events"))
	prodIDs, ctrIDs := watchTopic(t, k.ListenAddrs(), "rhombus.events.v1"), watchTopic(t, k.ListenAddrs(), "ctr.events")
	runTwoDeployments(t, s, twoDeployments{prod: prod, other: ctr, prodIDs: prodIDs, otherIDs: ctrIDs,
		prodKey: "watermark." + s.OrgUUID(), otherKey: "watermark.ctr_events." + s.OrgUUID(),
		marks: kafkaWatermarks(t, k.ListenAddrs(), "rhombus-bridge.state")})
}

// twoDeployments is one scenario: two deployments, what each delivered, and where their
// watermarks are stored.
type twoDeployments struct {
	prod, other       *deployment
	prodIDs, otherIDs *idCounter
	prodKey, otherKey string
	marks             func(key string) int64 // the stored watermark (0: none)
}

// runTwoDeployments checks one leader each, a burst delivered whole to both, then the
// watermarks' independence.
func runTwoDeployments(t *testing.T, s *sim.Server, d twoDeployments) {
	t.Helper()
	d.prod.oneLeader(t, 30*time.Second)
	d.other.oneLeader(t, 30*time.Second)
	d.prod.checkStartLine(t)
	d.other.checkStartLine(t)
	burst := createAlerts(s, 100)
	for _, a := range burst {
		if a.Live != 2 {
			t.Fatalf("alert %s reached %d subscriptions, want 2 (one per deployment)", a.UUID, a.Live)
		}
	}
	d.prodIDs.checkAll(t, "production", burst, 30*time.Second)
	d.otherIDs.checkAll(t, "second deployment", burst, 30*time.Second)
	last := burst[len(burst)-1].TimestampMs
	waitMark(t, d.marks, d.prodKey, last)
	otherMark := waitMark(t, d.marks, d.otherKey, last)
	d.prod.oneLeader(t, 10*time.Second) // still one each after the burst
	d.other.oneLeader(t, 10*time.Second)

	d.other.stopAll() // SIGKILL: nothing of the second deployment runs or writes any more
	more := createAlerts(s, 20)
	d.prodIDs.checkAll(t, "production after the second deployment stopped", more, 30*time.Second)
	waitMark(t, d.marks, d.prodKey, more[len(more)-1].TimestampMs)
	if got := readMark(t, d.marks, d.otherKey); got != otherMark {
		t.Errorf("the stopped deployment's watermark %s moved from %d to %d", d.otherKey, otherMark, got)
	}
	t.Logf("watermarks: %s = %d, %s = %d (frozen since the stop)", d.prodKey, d.marks(d.prodKey), d.otherKey, otherMark)
}

func deploymentsSim(t *testing.T) *sim.Server {
	t.Helper()
	s, err := sim.New(sim.Config{APIKey: apiKey, Heartbeat: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func createAlerts(s *sim.Server, n int) []sim.Alert {
	out := make([]sim.Alert, 0, n)
	for range n {
		out = append(out, s.CreateAlert(sim.Alert{}))
	}
	return out
}

// waitMark waits until the stored watermark under key reaches at least ms, and returns it.
func waitMark(t *testing.T, marks func(string) int64, key string, ms int64) int64 {
	t.Helper()
	var got int64
	bridgetest.WaitFor(t, fmt.Sprintf("watermark %s ≥ %d", key, ms), 30*time.Second, func() bool {
		got = marks(key)
		return got >= ms
	})
	return got
}

// readMark reads the stored watermark under key, retrying a failed read for up to 30 s.
func readMark(t *testing.T, marks func(string) int64, key string) int64 {
	t.Helper()
	got := int64(-1)
	bridgetest.WaitFor(t, "a read of watermark "+key, 30*time.Second, func() bool {
		got = marks(key)
		return got >= 0
	})
	return got
}

// deployment is two replicas of one deployment.
type deployment struct {
	name string // BRIDGE_DEPLOYMENT as /status must show it
	reps []*replica
}

// startDeployment starts two replicas against the simulator with vars on top of the
// common settings. The lease TTL is the default (10s; with Kafka, the session timeout,
// above group.min.session.timeout.ms's default 6s, as in kfake).
func startDeployment(t *testing.T, s *sim.Server, name string, vars map[string]string) *deployment {
	t.Helper()
	d := &deployment{name: name}
	dir := t.TempDir()
	for i := range 2 {
		r := &replica{t: t, id: fmt.Sprintf("%s-%d", name, i), http: bridgetest.FreeAddr(t)}
		r.logPath = fmt.Sprintf("%s/%s.log", dir, r.id)
		env := map[string]string{
			"RHOMBUS_API_KEY": apiKey, "RHOMBUS_ORG_UUID": s.OrgUUID(),
			"RHOMBUS_WS_URL": s.WSURL(), "RHOMBUS_API_URL": s.URL(),
			"RHOMBUS_HEARTBEAT": "1s", "RHOMBUS_REST_RATE": "100",
			"BRIDGE_INSTANCE_ID": r.id,
			"BRIDGE_DATA_DIR":    fmt.Sprintf("%s/%s.data", dir, r.id), "BRIDGE_SHUTDOWN_TIMEOUT": "10s",
			"HTTP_ADDR": r.http, "WEBHOOK_ADDR": "127.0.0.1:0", "LOG_FORMAT": "json", "LOG_LEVEL": "info",
		}
		for k, v := range vars {
			env[k] = v
		}
		r.env = bridgetest.ProcessEnv(env)
		d.reps = append(d.reps, r)
	}
	t.Cleanup(func() {
		d.stopAll()
		for _, r := range d.reps {
			r.keepLog(t.Name())
			if t.Failed() {
				t.Logf("---- %s log (last 40 lines) ----\n%s", r.id, strings.Join(r.tail(40), "\n"))
			}
		}
	})
	for _, r := range d.reps {
		r.start()
	}
	return d
}

func (d *deployment) stopAll() {
	for _, r := range d.reps {
		r.stop()
	}
}

// oneLeader waits up to wait for the deployment to have exactly one subscribed leader,
// the other replica standing by behind that same leader, both naming the deployment.
func (d *deployment) oneLeader(t *testing.T, wait time.Duration) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = d.hasOneLeader(); ok {
			return
		}
	}
	t.Fatalf("deployment %s: not exactly one leader within %v; last: %s", d.name, wait, last)
}

// hasOneLeader reports whether the deployment has one leader now, and what it saw.
func (d *deployment) hasOneLeader() (bool, string) {
	var leaders []string
	var sts []deploymentStatus
	for _, r := range d.reps {
		st, err := readStatus(r)
		if err != nil {
			return false, err.Error()
		}
		if st.Leader && st.Subscribed {
			leaders = append(leaders, st.Instance)
		}
		sts = append(sts, st)
	}
	seen := fmt.Sprintf("%+v", sts)
	if len(leaders) != 1 {
		return false, seen
	}
	for _, st := range sts {
		if st.Deployment != d.name || st.Lease.Holder != leaders[0] || (st.Instance != leaders[0] && st.Leader) {
			return false, seen
		}
	}
	return true, seen
}

// checkStartLine checks that each replica's start-up line names the deployment.
func (d *deployment) checkStartLine(t *testing.T) {
	t.Helper()
	for _, r := range d.reps {
		b, err := os.ReadFile(r.logPath)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			var rec struct {
				Msg        string `json:"msg"`
				Deployment string `json:"deployment"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "starting rhombus-bridge" {
				found = rec.Deployment == d.name
				break
			}
		}
		if !found {
			t.Errorf("%s: no start-up line with deployment %q", r.id, d.name)
		}
	}
}
