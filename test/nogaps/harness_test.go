package nogaps

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

const apiKey = "nogaps-key"

// logger is silent unless TEST_LOG is set.

// startSim runs a simulator offering 1 s STOMP heart-beats (half-open detection) with a
// queue deep enough that the bridge is never dropped as a slow consumer.
func startSim(t testing.TB, org string) *sim.Server {
	return bridgetest.StartSim(t, sim.Config{APIKey: apiKey, OrgUUID: org, QueueSize: 1 << 16})
}

// baseConfig points the bridge at the simulator and a NATS server: RHOMBUS_HEARTBEAT=1s,
// BRIDGE_BACKFILL_OVERLAP=3s, no lease, enrichment as configured by default.
func baseConfig(t testing.TB, s *sim.Server, natsURL, instance string) config.Config {
	cfg := bridgetest.Config(t, s, natsURL)
	cfg.Rhombus.APIKey = apiKey
	cfg.Rhombus.RESTRate = 50
	cfg.Bridge.InstanceID = instance
	return cfg
}

// bridge is one running App.
type bridge struct {
	info app.Info
	stop func() error // idempotent
}

func startBridge(t testing.TB, cfg config.Config) *bridge {
	t.Helper()
	a := bridgetest.Start(t, cfg, app.Options{Version: "nogaps"})
	return &bridge{info: a.Info, stop: a.Stop}
}

// status is the part of /status the tests read.
type status struct {
	Subscribed bool            `json:"subscribed"`
	Gaps       int64           `json:"gaps"`
	Backfilled int64           `json:"backfilled"`
	OpenGap    json.RawMessage `json:"openGap"`
	QueueDepth int             `json:"queueDepth"`
}

func (b *bridge) status(t testing.TB) status {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + b.info.OpsAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// metric returns the value of an unlabelled metric on /metrics (0 when absent).
func (b *bridge) metric(t testing.TB, name string) float64 {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + b.info.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// settled reports whether the bridge is subscribed with no open gap and more than
// gaps gaps closed.
func (st status) settled(gaps int64) bool {
	return st.Subscribed && st.Gaps > gaps && (len(st.OpenGap) == 0 || string(st.OpenGap) == "null")
}

// waitFor polls cond every 20 ms until it holds, or fails the test after d.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	bridgetest.WaitFor(t, what, d, cond)
}

// eventually polls cond every 20 ms until it holds (true) or d passed (false).
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// subscribes is how many SUBSCRIBE frames the simulator accepted so far.
func subscribes(s *sim.Server) int { return len(s.SubscribeTimes()) }

// generate runs the simulator's generator at rate events/s until the returned stop is
// called; stop waits for it to end.
func generate(t testing.TB, s *sim.Server, rate float64) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := s.RunGenerator(ctx, sim.GenConfig{Rate: rate}); err != nil {
			t.Errorf("generator: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}
