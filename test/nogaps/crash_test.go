package nogaps

import (
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestProcessCrashBackfills is TestProcessRestartBackfills with a crash: the built
// binary is killed with SIGKILL mid-stream (300 events/s, right after a burst of 300
// alerts, so that events are in flight: read from the socket, in the queue or the spool,
// published but not acknowledged), alerts keep being created for four seconds while it is
// down, and the binary is started again on the same BRIDGE_DATA_DIR and instance id. It
// resumes from the watermark and backfills: every alert created during the run is in the
// stream exactly once, the ones created while it was down came through backfill, and a
// startup gap record of the restarted process covers the downtime.
func TestProcessCrashBackfills(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	s := startSim(t, "ORG-CRASH")
	p := newProc(t, s, ns.URL(), "crash-1", t.TempDir())
	p.start()
	waitFor(t, "first subscription", 30*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	stopGen := generate(t, s, 300)

	time.Sleep(3 * time.Second) // the workload before the crash
	for range 300 {             // a burst, so that the kill catches events in flight
		s.CreateAlert(sim.Alert{})
	}
	if err := p.kill(); err == nil {
		t.Fatal("the bridge exited cleanly after SIGKILL")
	}
	killedAt := time.Now()
	waitFor(t, "the killed bridge's subscription to end", 10*time.Second, func() bool { return s.Stats().Subscriptions == 0 })
	time.Sleep(4 * time.Second) // the downtime: alerts only reach the REST history
	restartAt := time.Now()
	p.start()
	waitFor(t, "the restarted bridge's subscription", 30*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	time.Sleep(2 * time.Second)
	stopGen()

	checkDowntimeBackfilled(t, s, ns.URL(), "crash-1", killedAt, restartAt)
}
