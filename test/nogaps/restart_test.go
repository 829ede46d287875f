package nogaps

import (
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestProcessRestartBackfills: the bridge is stopped while the simulator keeps creating
// alerts (300 events/s) for four seconds, then a new process (new data directory, same
// NATS) starts. It resumes from the watermark in JetStream KV and backfills the time it
// was down: every alert is in the stream exactly once, the ones created while no bridge
// ran came through backfill, and a gap record covers the downtime.
func TestProcessRestartBackfills(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	s := startSim(t, "ORG-RESTART")
	first := startBridge(t, baseConfig(t, s, ns.URL(), "restart-1"))
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	stopGen := generate(t, s, 300)

	time.Sleep(3 * time.Second) // the workload before the restart
	if err := first.stop(); err != nil {
		t.Fatalf("first bridge: %v", err)
	}
	stoppedAt := time.Now()
	waitFor(t, "the first bridge's subscription to end", 10*time.Second, func() bool { return s.Stats().Subscriptions == 0 })
	time.Sleep(4 * time.Second) // the downtime: alerts only reach the REST history
	restartAt := time.Now()
	startBridge(t, baseConfig(t, s, ns.URL(), "restart-2"))
	time.Sleep(2 * time.Second)
	stopGen()

	checkDowntimeBackfilled(t, s, ns.URL(), "restart-2", stoppedAt, restartAt)
}

// checkDowntimeBackfilled checks a run in which no bridge ran from downAt until instance
// restarted at upAt: every alert exactly once, the alerts created meanwhile came through
// backfill (and there were enough of them to mean something), no backfill window ended
// before the feed was live again, and a startup gap record of instance covers the
// downtime with at least those alerts.
func checkDowntimeBackfilled(t *testing.T, s *sim.Server, natsURL, instance string, downAt, upAt time.Time) {
	t.Helper()
	alerts := s.Alerts()
	want := alertIDs(alerts)
	c := newCollector(t, natsURL)
	if !eventually(60*time.Second, func() bool { return c.has(want) }) {
		t.Errorf("not every alert reached the stream within 60s")
	}
	c.mustSync(t)
	r := c.check(want)
	t.Logf("stream %d messages; alerts %s; gaps %v", len(c.msgs), r, c.gapCauses())
	if !r.ok() {
		c.explainMissing(t, s)
		t.Errorf("alerts not exactly once: %s", r)
	}
	dark := 0
	for _, a := range alerts {
		if a.Live == 0 && a.Created.After(downAt) {
			dark++
			if cp := c.byID[event.AlertID(a.UUID)]; len(cp) > 0 && cp[0].Via != string(event.ViaBackfill) {
				t.Errorf("alert %s created while no bridge ran came via %q", a.UUID, cp[0].Via)
			}
		}
	}
	if dark < 100 {
		t.Errorf("only %d alerts created during the downtime: the test did not exercise the restart", dark)
	}
	if v := gapsBeforeSubscription(c.gaps, s.Subscriptions()); len(v) > 0 {
		t.Errorf("backfill windows that end before the feed was live again: %v", v)
	}
	for _, g := range c.gaps {
		if g.Instance == instance && strings.Contains(g.Cause, "startup") && g.StartMs <= downAt.UnixMilli() &&
			g.EndMs >= upAt.UnixMilli() && g.AlertsRecovered >= dark {
			return
		}
	}
	t.Errorf("no startup gap record of %s covers the downtime with ≥ %d alerts: %+v", instance, dark, c.gaps)
}
