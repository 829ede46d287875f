//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/result"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
)

// target is a process under measurement and the stream it publishes into; onBurst, when
// set, is called as the burst starts and the function it returns when it ends.
type target struct {
	p        *proc
	stream   string
	onBurst  func() func() error
	onSteady func() func() error // the same for the steady window
	// The bridge's HTTP (ops) and webhook receiver addresses.
	httpAddr, webhook string
}

func (h *harness) measure(ctx context.Context, o options) (*result.Results, error) {
	natsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	nc, js, err := h.startNATS(natsAddr)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	r := &result.Results{Burst: o.burst, Rate: o.rate, Steady: o.steady, LatencyRate: o.latencyRate, BodyBytes: bodySize(),
		GOMAXPROCS: o.gomaxprocs}
	if r.RawPerSec, err = rawBaseline(ctx, js, o.burst, r.BodyBytes); err != nil {
		return nil, err
	}
	feeder, fa, err := h.startFeeder()
	if err != nil {
		return nil, err
	}
	natsURL := "nats://" + natsAddr
	if r.Relay, err = h.measureRelay(ctx, js, feeder, o, fa, natsURL); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	t, err := h.startBridge(ctx, js, feeder, o, fa, natsURL)
	if err != nil {
		return nil, err
	}
	if r.Bridge, err = measureTarget(ctx, js, feeder, t, o); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if o.webhooks > 0 {
		r.Webhooks, r.WebhookSenders = o.webhooks, webhookSenders
		if r.BridgeWebhook, r.RefWebhook, err = h.measureWebhooks(ctx, js, o, t, fa, natsURL); err != nil {
			return nil, fmt.Errorf("webhooks: %w", err)
		}
	}
	return r, nil
}

// feederAddrs are the feeder's WebSocket and REST URLs and its org.
type feederAddrs struct{ ws, api, org string }

func (h *harness) startFeeder() (*proc, feederAddrs, error) {
	feeder, err := start("feeder", h.bin("feeder"), nil, h.dir, true)
	if err != nil {
		return nil, feederAddrs{}, err
	}
	h.add(feeder)
	line, err := feeder.line(30 * time.Second)
	f := strings.Fields(line)
	if err != nil || len(f) != 4 || f[0] != "addr" {
		return nil, feederAddrs{}, fmt.Errorf("feeder said %q: %v", line, err)
	}
	return feeder, feederAddrs{ws: f[1], api: f[2], org: f[3]}, nil
}

// startBridge runs the bridge at its defaults (spool, enrichment) but for the lease (none:
// one process) and waits for its subscription and its stream.
func (h *harness) startBridge(ctx context.Context, js jetstream.JetStream, feeder *proc, o options, fa feederAddrs, natsURL string) (target, error) {
	httpAddr, err := freeAddr()
	if err != nil {
		return target{}, err
	}
	webhookAddr, err := freeAddr()
	if err != nil {
		return target{}, err
	}
	vars := map[string]string{
		"RHOMBUS_API_KEY": "bench-key", "RHOMBUS_ORG_UUID": fa.org, "RHOMBUS_WS_URL": fa.ws, "RHOMBUS_API_URL": fa.api,
		"BRIDGE_INSTANCE_ID": "blackbox", "BRIDGE_LEASE": "none", "BRIDGE_SINKS": "nats",
		"BRIDGE_DATA_DIR": filepath.Join(h.dir, "data"), "NATS_URL": natsURL,
		"HTTP_ADDR": httpAddr, "HTTP_PPROF": strconv.FormatBool(o.profile != ""), "WEBHOOK_ADDR": webhookAddr, "WEBHOOK_SECRET": webhookSecret,
		"LOG_FORMAT": "json", "LOG_LEVEL": "warn",
	}
	if o.gomaxprocs > 0 {
		vars["GOMAXPROCS"] = strconv.Itoa(o.gomaxprocs)
	}
	env := bridgetest.ProcessEnv(vars)
	bridge, err := start("rhombus-bridge", h.bin("rhombus-bridge"), env, h.dir, false)
	if err != nil {
		return target{}, err
	}
	h.add(bridge)
	if _, err := feeder.command(time.Minute, "wait 1"); err != nil {
		return target{}, fmt.Errorf("bridge never subscribed (see %s): %w", filepath.Join(h.dir, "rhombus-bridge.log"), err)
	}
	t := target{p: bridge, stream: "RHOMBUS", httpAddr: httpAddr, webhook: webhookAddr}
	if o.profile != "" {
		t.onBurst = func() func() error { return cpuProfile(httpAddr, o.profile, 2*time.Second) }
		t.onSteady = func() func() error { return cpuProfile(httpAddr, o.profile+".steady", 10*time.Second) }
	}
	return t, waitStream(ctx, js, "RHOMBUS")
}

// measureRelay runs the reference relay through the same phases, then stops it.
func (h *harness) measureRelay(ctx context.Context, js jetstream.JetStream, feeder *proc, o options, fa feederAddrs, natsURL string) (result.Figures, error) {
	if err := createStream(ctx, js, "RELAY", "relay.>"); err != nil {
		return result.Figures{}, err
	}
	relay, err := start("relay", h.bin("relay"), nil, h.dir, true, fa.ws, fa.org, natsURL, "relay."+fa.org)
	if err != nil {
		return result.Figures{}, err
	}
	defer func() { relay.stop(); _, _ = feeder.command(time.Minute, "wait 0") }()
	if line, err := relay.line(30 * time.Second); err != nil || line != "subscribed" {
		return result.Figures{}, fmt.Errorf("relay said %q: %v", line, err)
	}
	if _, err := feeder.command(time.Minute, "wait 1"); err != nil {
		return result.Figures{}, err
	}
	return measureTarget(ctx, js, feeder, target{p: relay, stream: "RELAY"}, o)
}

// measureTarget runs the steady window, the latency window and the burst against t.
func measureTarget(ctx context.Context, js jetstream.JetStream, feeder *proc, t target, o options) (result.Figures, error) {
	var f result.Figures
	done := func() error { return nil }
	if t.onSteady != nil {
		done = t.onSteady()
	}
	cpu, _, err := window(ctx, js, feeder, t, fmt.Sprintf("rate %d %s", o.rate, o.steady), o.steady)
	if perr := done(); err == nil && perr != nil {
		err = perr
	}
	if err != nil {
		return f, fmt.Errorf("steady: %w", err)
	}
	f.SteadyCPUus = cpu
	if f.SteadyRSSMiB, err = t.p.hwm(); err != nil {
		return f, err
	}
	if f.LatencyP50ms, f.LatencyP99ms, err = latency(ctx, js, feeder, t, o); err != nil {
		return f, err
	}
	done = func() error { return nil }
	if t.onBurst != nil {
		done = t.onBurst()
	}
	cpu, el, err := window(ctx, js, feeder, t, fmt.Sprintf("burst %d", o.burst), 0)
	if perr := done(); err == nil && perr != nil {
		err = perr
	}
	if err != nil {
		return f, fmt.Errorf("burst: %w", err)
	}
	f.BurstCPUus, f.BurstPerSec = cpu, float64(o.burst)/el.Seconds()
	f.PeakRSSMiB, err = t.p.hwm()
	return f, err
}

// window sends one feeder command and waits until every event it emitted is stored; it
// returns the process's CPU per stored event and the time from command to last stored.
func window(ctx context.Context, js jetstream.JetStream, feeder *proc, t target, cmd string, d time.Duration) (float64, time.Duration, error) {
	base, err := stored(ctx, js, t.stream)
	if err != nil {
		return 0, 0, err
	}
	c0, err := t.p.cpu()
	if err != nil {
		return 0, 0, err
	}
	t0 := time.Now()
	line, err := feeder.command(d+2*time.Minute, "%s", cmd)
	n, perr := strconv.Atoi(strings.TrimPrefix(line, "ok "))
	if err != nil || perr != nil || n == 0 {
		return 0, 0, fmt.Errorf("feeder said %q to %q: %v", line, cmd, err)
	}
	if err := waitStored(ctx, js, t.stream, base+uint64(n), 3*time.Minute); err != nil {
		return 0, 0, err
	}
	el := time.Since(t0)
	c1, err := t.p.cpu()
	return float64((c1 - c0).Microseconds()) / float64(n), el, err
}

// latency follows t's stream while the feeder sends at the latency rate.
func latency(ctx context.Context, js jetstream.JetStream, feeder *proc, t target, o options) (p50, p99 float64, err error) {
	l, err := followLatency(ctx, js, t.stream)
	if err != nil {
		return 0, 0, err
	}
	line, err := feeder.command(o.latencyDur+2*time.Minute, "rate %d %s", o.latencyRate, o.latencyDur)
	n, perr := strconv.Atoi(strings.TrimPrefix(line, "ok "))
	if err != nil || perr != nil {
		l.cc.Stop()
		return 0, 0, fmt.Errorf("feeder said %q: %v", line, err)
	}
	a, b, err := l.collect(n, time.Minute)
	return ms(a), ms(b), err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// waitStream waits until the bridge has created its stream.
func waitStream(ctx context.Context, js jetstream.JetStream, name string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := js.Stream(ctx, name)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream %s: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bodySize is the length of the CloudEvent the bridge publishes for one feeder alert, the
// size of the raw baseline's messages.
func bodySize() int {
	a := sim.Alert{UUID: "bench-000000000001", DeviceUUID: "0123456789abcdefABCDEF", LocationUUID: "0123456789abcdefABCDEF",
		TimestampMs: time.Now().UnixMilli(), DurationSec: 5, Triggers: []string{"PERSON_DETECTED", "LOITERING"},
		TextDescription: "sent:" + strconv.FormatInt(time.Now().UnixNano(), 10)}
	ev, err := event.ParseChange("00000000-0000-0000-0000-000000000000", a.Payload(), event.ViaWebSocket)
	if err != nil {
		return 1024
	}
	return len(ev.WithDeviceName("Camera 01").Body)
}

// cpuProfile starts taking a 10 s CPU profile from the bridge's /debug/pprof, and a heap
// profile heapAfter into it, and returns the function that waits for both and writes them
// to path and path.heap (and path.heap.txt, with the runtime's memory statistics).
func cpuProfile(httpAddr, path string, heapAfter time.Duration) func() error {
	errc := make(chan error, 2)
	go func() { errc <- fetchProfile(httpAddr, "profile?seconds=10", path) }()
	go func() {
		time.Sleep(heapAfter)
		errc <- errors.Join(fetchProfile(httpAddr, "heap", path+".heap"),
			fetchProfile(httpAddr, "heap?debug=1", path+".heap.txt"))
	}()
	return func() error { return errors.Join(<-errc, <-errc) }
}

// fetchProfile writes the bridge's /debug/pprof/{which} to path.
func fetchProfile(httpAddr, which, path string) error {
	resp, err := http.Get("http://" + httpAddr + "/debug/pprof/" + which)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("profile %s: HTTP %d: %.200s", which, resp.StatusCode, b)
	}
	if err == nil {
		err = os.WriteFile(path, b, 0o644)
	}
	return err
}
