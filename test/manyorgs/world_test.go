package manyorgs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

const (
	partnerKey = "partner-token"
	ttl        = 2 * time.Second // BRIDGE_LEASE_TTL (production default 10s), short so failover fits the test
)

// slack is extra time allowed on timing bounds for a loaded machine.
func slack() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("MANYORGS_SLACK")); err == nil {
		return d
	}
	return 3 * time.Second
}

// world is one scenario: JetStream, the simulated Rhombus (sim, in this process, or a
// feeder process), an org file, the replicas and a collector of the stream.
type world struct {
	t       testing.TB
	nats    *natstest.Server
	sim     *sim.Multi // nil when a feeder process plays Rhombus
	wsURL   string     // the simulator's RHOMBUS_WS_URL and RHOMBUS_API_URL
	apiURL  string
	orgs    []string
	dir     string
	orgFile string
	// secretsFile is WEBHOOK_SECRETS_FILE: every org's webhook secret is secretOf(org).
	secretsFile string
	reps        []*replica
	stream      *collector
	env         map[string]string // replaces the replicas' settings (see useKafka)
	// override replaces entries of the replicas' environment (a benchmark at production
	// settings rather than the tests' short ones).
	override map[string]string
}

// newWorld starts NATS and a simulator of n orgs in this process, and writes the org
// file listing them.
func newWorld(t testing.TB, n int) *world {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := sim.StartMulti(sim.MultiConfig{PartnerKey: partnerKey, Org: sim.Config{Heartbeat: time.Second}, Logger: quiet},
		"127.0.0.1:0", n, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	w := newBareWorld(t, m.Orgs(), m.WSURL(), m.URL())
	w.sim = m
	return w
}

// newBareWorld starts NATS and the collector and writes the org and secrets files for
// orgs, served by the simulator at wsURL and apiURL.
func newBareWorld(t testing.TB, orgs []string, wsURL, apiURL string) *world {
	t.Helper()
	w := &world{t: t, nats: natstest.Start(t), dir: t.TempDir(), orgs: orgs, wsURL: wsURL, apiURL: apiURL}
	w.orgFile = filepath.Join(w.dir, "orgs")
	w.writeOrgs(w.orgs)
	w.secretsFile = filepath.Join(w.dir, "secrets")
	var secrets strings.Builder
	for _, o := range w.orgs {
		fmt.Fprintf(&secrets, "%s %s\n", o, secretOf(o))
	}
	if err := os.WriteFile(w.secretsFile, []byte(secrets.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w.stream = startCollector(t, w.nats.URL())
	return w
}

func secretOf(org string) string { return "whsec-" + org }

// replicaEnv is a replica's environment: vars with the values of each over in their place.
func replicaEnv(vars map[string]string, over ...map[string]string) []string {
	for _, o := range over {
		maps.Copy(vars, o)
	}
	return bridgetest.ProcessEnv(vars)
}

// writeOrgs replaces the org file atomically, as a ConfigMap update does.
func (w *world) writeOrgs(orgs []string) {
	w.t.Helper()
	tmp := w.orgFile + ".tmp"
	if err := os.WriteFile(tmp, []byte("# partner clients\n"+strings.Join(orgs, "\n")+"\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, w.orgFile); err != nil {
		w.t.Fatal(err)
	}
}

// startReplicas starts k more bridge processes in partner mode.
func (w *world) startReplicas(k int) {
	w.t.Helper()
	var started []*replica
	for i := len(w.reps); i < len(w.reps)+k; i++ {
		r := &replica{t: w.t, id: fmt.Sprintf("replica-%d", i), http: bridgetest.FreeAddr(w.t), webhook: bridgetest.FreeAddr(w.t)}
		r.logPath = filepath.Join(w.dir, r.id+".log")
		r.env = replicaEnv(map[string]string{
			"RHOMBUS_API_KEY": partnerKey, "RHOMBUS_AUTH_SCHEME": "partner-api-token", "RHOMBUS_ORGS_FILE": w.orgFile,
			"RHOMBUS_WS_URL": w.wsURL, "RHOMBUS_API_URL": w.apiURL,
			"RHOMBUS_HEARTBEAT": "1s", "RHOMBUS_REST_RATE": "20",
			"BRIDGE_INSTANCE_ID": r.id, "BRIDGE_LEASE": "nats", "BRIDGE_SINKS": "nats",
			"BRIDGE_LEASE_TTL": ttl.String(), "BRIDGE_DATA_DIR": filepath.Join(w.dir, r.id+".data"),
			"BRIDGE_BACKFILL_OVERLAP": "5s", "BRIDGE_SHUTDOWN_TIMEOUT": "10s",
			"NATS_URL": w.nats.URL(), "HTTP_ADDR": r.http, "WEBHOOK_ADDR": r.webhook, "WEBHOOK_SECRETS_FILE": w.secretsFile,
			"LOG_FORMAT": "json", "LOG_LEVEL": "info", "HTTP_PPROF": strconv.FormatBool(os.Getenv("MANYORGS_PPROF_OUT") != ""),
		}, w.env, w.override)
		started = append(started, r)
		r.start()
	}
	w.reps = append(w.reps, started...)
	w.t.Cleanup(func() {
		for _, r := range started {
			r.stop()
		}
		for _, r := range started {
			r.showLog()
		}
	})
}

// generate starts a generator of rate events/s for each of orgs.
func (w *world) generate(orgs []string, rate float64) {
	w.t.Helper()
	for _, o := range orgs {
		if err := w.sim.Org(o).StartGenerator(sim.GenConfig{Rate: rate}); err != nil {
			w.t.Fatal(err)
		}
	}
}

// subscriptions is, per org, the simulator's live subscriptions to its topic.
func (w *world) subscriptions(orgs []string) map[string]int {
	out := make(map[string]int, len(orgs))
	for _, o := range orgs {
		if s := w.sim.Org(o); s != nil {
			out[o] = s.Stats().Subscriptions
		}
	}
	return out
}

// alerts is every policy alert the simulator created for orgs.
func (w *world) alerts(orgs []string) []sim.Alert {
	var out []sim.Alert
	for _, o := range orgs {
		out = append(out, w.sim.Org(o).Alerts()...)
	}
	return out
}

// collector reads the stream from its start for the whole test.
type collector struct {
	js   jetstream.JetStream
	mu   sync.Mutex
	ids  map[string]int
	last uint64
	n    int
	live []liveSample // the live events stored, in stream order
	// sent is, per message whose body carries the feeder's "sent:<unix ns>", that send
	// time and the time from it to the message's receipt here from the stream.
	sent []sample
}

// liveSample is one live event in the stream: its org, its time and its latency (when
// JetStream stored it − its time).
type liveSample struct {
	org string
	at  time.Time
	lag time.Duration
}

type sample struct {
	at   time.Time
	took time.Duration
}

func startCollector(t testing.TB, url string) *collector {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	c := &collector{js: js, ids: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The bridge creates the stream; create it here first with the same subjects so the
	// collector can start before any replica.
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "RHOMBUS", Subjects: []string{"rhombus.v1.>"},
		Duplicates: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		var ce struct {
			ID   string    `json:"id"`
			Time time.Time `json:"time"`
			Via  string    `json:"rhombusvia"`
			Org  string    `json:"rhombusorg"`
		}
		_ = json.Unmarshal(m.Data(), &ce)
		md, _ := m.Metadata()
		c.mu.Lock()
		c.ids[ce.ID]++
		c.n++
		if md != nil {
			c.last = md.Sequence.Stream
			if ce.Via == "websocket" && !ce.Time.IsZero() {
				c.live = append(c.live, liveSample{org: ce.Org, at: ce.Time, lag: md.Timestamp.Sub(ce.Time)})
			}
		}
		if sent, ok := sentAt(m.Data()); ok {
			c.sent = append(c.sent, sample{at: sent, took: now.Sub(sent)})
		}
		c.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return c
}

// lags is the latency of the live events of orgs whose time is in [from, to), sorted.
func (c *collector) lags(orgs []string, from, to time.Time) []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []time.Duration
	for _, s := range c.live {
		if !s.at.Before(from) && s.at.Before(to) && slices.Contains(orgs, s.org) {
			out = append(out, s.lag)
		}
	}
	slices.Sort(out)
	return out
}

// quantile is the q-quantile of sorted (0 when empty).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func (c *collector) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[id]
}

// checkAlerts waits up to d for every alert to be in the stream, then checks that no
// message id is in it twice.
func (c *collector) checkAlerts(t testing.TB, alerts []sim.Alert, d time.Duration) {
	t.Helper()
	if len(alerts) == 0 {
		t.Fatal("the simulator created no alert")
	}
	missing := func() []string {
		var out []string
		for _, a := range alerts {
			if c.count(event.AlertID(a.UUID)) == 0 {
				out = append(out, a.UUID)
			}
		}
		return out
	}
	deadline := time.Now().Add(d)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("%d of %d policy alerts missing from the stream after %v; first: %v", len(m), len(alerts), d, m[:min(5, len(m))])
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var twice []string
	for id, n := range c.ids {
		if n > 1 {
			twice = append(twice, id+"×"+strconv.Itoa(n))
		}
	}
	if len(twice) > 0 {
		t.Errorf("%d ids in the stream more than once: %v", len(twice), twice[:min(5, len(twice))])
	}
	t.Logf("%d policy alerts checked; %d messages in the stream", len(alerts), c.n)
}
