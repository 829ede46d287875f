package nogaps

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// outageFor is how long TestJetStreamRestartAndOutage stops JetStream: a minute, or
// NOGAPS_OUTAGE (a Go duration) to try other lengths.
func outageFor(t testing.TB) time.Duration {
	t.Helper()
	if v := os.Getenv("NOGAPS_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("NOGAPS_OUTAGE: %v", err)
		}
		return d
	}
	return time.Minute
}

// outageCase is one way of holding events while JetStream is down.
type outageCase struct {
	name       string
	spoolBytes int64         // BRIDGE_SPOOL_MAX_BYTES (0: memory only)
	buffer     int           // BRIDGE_BUFFER_EVENTS
	down       time.Duration // how long JetStream is stopped
}

// TestJetStreamRestartAndOutage: JetStream is restarted mid-stream, then stopped, while
// 100 events per second stream (alerts, DEVICE_CONFIG and an unknown entity). Every event
// the simulator put on the bridge's socket is in the stream exactly once, and so is every
// alert created. Two bounds are exercised, in parallel:
//
//   - spool: the default configuration (disk spool of 1 GiB): JetStream is down for a
//     minute (NOGAPS_OUTAGE to change), 6000 events, most of them held by the spool (its
//     peak, rhombus_bridge_spool_events, must reach half of them);
//   - memory: no spool (BRIDGE_SPOOL_MAX_BYTES=0), BRIDGE_BUFFER_EVENTS=10000: down for
//     30 s, 3000 events held by the in-memory queue, which must show them (queue peak).
//
// Each checks that nothing overflowed (no overflow gap) and that the socket was never
// dropped (one SUBSCRIBE), so "accepted from the socket" is exactly "reached the
// simulator's subscription queue". TestBufferOverflowBecomesGap covers what happens past
// the bounds.
func TestJetStreamRestartAndOutage(t *testing.T) {
	t.Parallel()
	for _, oc := range []outageCase{
		{name: "spool", spoolBytes: 1 << 30, buffer: 10000, down: outageFor(t)},
		{name: "memory", spoolBytes: 0, buffer: 10000, down: 30 * time.Second},
	} {
		t.Run(oc.name, func(t *testing.T) {
			t.Parallel()
			outageRun(t, oc)
		})
	}
}

func outageRun(t *testing.T, oc outageCase) {
	const rate = 100.0
	ns := natstest.Start(t)
	s := startSim(t, "ORG-BROKER")
	cfg := baseConfig(t, s, ns.URL(), "broker-"+oc.name)
	cfg.Bridge.BufferEvents, cfg.Bridge.SpoolMaxBytes = oc.buffer, oc.spoolBytes
	need := int(rate * (oc.down + 10*time.Second).Seconds())
	if oc.spoolBytes == 0 && need > oc.buffer {
		t.Fatalf("a %s outage at %.0f/s (%d events) does not fit BRIDGE_BUFFER_EVENTS=%d", oc.down, rate, need, oc.buffer)
	}
	b := startBridge(t, cfg)
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	e := newEmitter(s)
	stop := e.run(t, rate)

	time.Sleep(3 * time.Second) // the workload: events stream before, during and after each fault
	ns.Restart()
	time.Sleep(3 * time.Second)
	ns.Stop()
	peak, spooled := peakHeld(t, b, oc.down)
	ns.Restart()
	time.Sleep(2 * time.Second)
	stop()

	accepted, alerts, others, made := e.snapshot()
	c := newCollector(t, ns.URL())
	if !eventually(90*time.Second, func() bool { return c.has(accepted) && c.has(alerts) }) {
		t.Errorf("not every accepted event reached the stream within 90s")
	}
	c.mustSync(t)
	t.Logf("made %d events, %d accepted from the socket (%d non-alerts), %d alerts; queue peak %d, spool peak %d during a %s outage; stream %d messages; gaps %v",
		made, len(accepted), len(others), len(alerts), peak, spooled, oc.down, len(c.msgs), c.gapCauses())
	if r := c.check(accepted); !r.ok() {
		t.Errorf("accepted events not exactly once: %s", r)
	}
	if r := c.check(alerts); !r.ok() {
		t.Errorf("alerts not exactly once: %s", r)
	}
	if n := subscribes(s); n != 1 {
		t.Errorf("%d SUBSCRIBEs: the socket was dropped, so accepted ≠ reached the socket", n)
	}
	for cause := range c.gapCauses() {
		if strings.Contains(cause, "overflow") {
			t.Errorf("the queue overflowed (gap %q): the outage did not fit the bound", cause)
		}
	}
	held, where := peak, "the in-memory queue"
	if oc.spoolBytes > 0 {
		held, where = spooled, "the spool"
	}
	if held < int(rate*oc.down.Seconds())/2 {
		t.Errorf("peak %d in %s: it did not hold the outage (the bound under test was not exercised)", held, where)
	}
}

// peakHeld watches /status and /metrics for d and returns the deepest in-memory queue
// and the most events in the spool seen.
func peakHeld(t testing.TB, b *bridge, d time.Duration) (queue, spooled int) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		queue = max(queue, b.status(t).QueueDepth)
		spooled = max(spooled, int(b.metric(t, "rhombus_bridge_spool_events")))
	}
	return queue, spooled
}

// TestBufferOverflowBecomesGap: past the bounds (BRIDGE_BUFFER_EVENTS=200, and either no
// spool or a 64 KiB one; JetStream down for 8 s at 100 events/s) events taken from the
// socket cannot all be held. Nothing may be lost silently: every alert is still in the
// stream exactly once (backfill closes the overflow gap), no event is stored twice, an
// overflow gap was recorded (the bound was really passed), and non-alert events lost are
// declared by it (nonAlertEventsMayBeMissed).
func TestBufferOverflowBecomesGap(t *testing.T) {
	t.Parallel()
	for _, oc := range []outageCase{
		{name: "memory", spoolBytes: 0, buffer: 200, down: 8 * time.Second},
		{name: "spool_full", spoolBytes: 64 << 10, buffer: 200, down: 8 * time.Second},
	} {
		t.Run(oc.name, func(t *testing.T) {
			t.Parallel()
			overflowRun(t, oc)
		})
	}
}

func overflowRun(t *testing.T, oc outageCase) {
	ns := natstest.Start(t)
	s := startSim(t, "ORG-OVERFLOW")
	cfg := baseConfig(t, s, ns.URL(), "overflow-"+oc.name)
	cfg.Bridge.BufferEvents, cfg.Bridge.SpoolMaxBytes = oc.buffer, oc.spoolBytes
	startBridge(t, cfg)
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	e := newEmitter(s)
	stop := e.run(t, 100)
	time.Sleep(2 * time.Second) // the workload around the outage
	ns.Stop()
	time.Sleep(oc.down)
	ns.Restart()
	time.Sleep(2 * time.Second)
	stop()

	accepted, alerts, others, _ := e.snapshot()
	c := newCollector(t, ns.URL())
	if !eventually(90*time.Second, func() bool { return c.has(alerts) }) {
		t.Errorf("not every alert reached the stream within 90s")
	}
	c.mustSync(t)
	if r := c.check(alerts); !r.ok() {
		c.explainMissing(t, s)
		t.Errorf("alerts not exactly once: %s", r)
	}
	lost := 0
	for id := range others {
		if len(c.byID[id]) == 0 {
			lost++
		}
	}
	overflowGap := false
	for _, g := range c.gaps {
		overflowGap = overflowGap || (strings.Contains(g.Cause, "overflow") && g.NonAlertEventsMayBeMissed)
	}
	t.Logf("%d accepted, %d non-alerts of which %d not stored; alerts %d; gaps %v", len(accepted), len(others),
		lost, len(alerts), c.gapCauses())
	if !overflowGap {
		t.Errorf("no overflow gap recorded (%d non-alert events lost): the bound was not passed, or silently", lost)
	}
	if r := c.check(nil); r.duplicated > 0 {
		t.Errorf("events stored twice: %s", r)
	}
}
