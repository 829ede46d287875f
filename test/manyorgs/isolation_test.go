package manyorgs_test

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// isolationWindow is the length of each latency window of TestOrgFaultIsolation.
const isolationWindow = 15 * time.Second

// p99Floor is the absolute noise allowed on top of the baseline p99 (MANYORGS_P99_FLOOR,
// default 100ms). On a loaded 2-core machine under -race (the simulator and JetStream
// run in the test process) the p99 of a millisecond-scale latency moves by tens of
// milliseconds between two quiet windows (16 → 75 ms seen). Every way one org's trouble
// could reach another's events works in seconds: a Retry-After (at least 1 s), a
// refused handshake's backoff (at least 1 s), a shared lock or budget held through
// them; 100 ms is well below all of those.
func p99Floor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("MANYORGS_P99_FLOOR")); err == nil {
		return d
	}
	return 100 * time.Millisecond
}

// TestOrgFaultIsolation: one replica serves 20 orgs at 5 ev/s each. The healthy orgs'
// live latency (event time → stored in JetStream) is measured over a baseline window;
// then org A's key is revoked (401 on its handshake and REST) and org B's REST answers
// 429 while its socket is dropped every 3 s (so it backfills against the 429s), and the
// healthy orgs' latency is measured again over a window as long. Their p99 under the
// faults must stay within max(2 × baseline, baseline + p99Floor), and as many of their
// events must arrive. A and B are reported in /status; once the faults end every alert
// of every org, A's and B's included, is in the stream exactly once.
func TestOrgFaultIsolation(t *testing.T) {
	const n, rate = 20, 5
	w := newWorld(t, n)
	w.startReplicas(1)
	waitFor(t, "every org subscribed", 60*time.Second, w.balanced(w.reps, n))
	w.generate(w.orgs, rate)
	orgA, orgB, healthy := w.orgs[0], w.orgs[1], w.orgs[2:]
	time.Sleep(3 * time.Second) // start-up backfill and camera names are done
	base := w.measure(healthy, isolationWindow)
	before := orgEntry(t, w.reps[0], orgB)

	w.sim.Revoke(orgA)
	w.sim.Org(orgB).REST429(-1, 2*time.Second)
	stopFlap := flap(w.sim.Org(orgB), 3*time.Second)
	fault := w.measure(healthy, isolationWindow)
	checkFaultsReported(t, w.reps[0], orgA, orgB, before)
	stopFlap()
	w.sim.Org(orgB).ClearFaults()
	w.sim.Restore(orgA)

	t.Logf("healthy orgs (%d at %d ev/s), live latency event time → stored: baseline %s; A revoked, B 429 + flapping %s",
		len(healthy), rate, base, fault)
	if bound := max(2*base.p99, base.p99+p99Floor()); fault.p99 > bound {
		t.Errorf("healthy orgs' p99 under the faults %v exceeds max(2 × %v, %v + %v) = %v",
			fault.p99, base.p99, base.p99, p99Floor(), bound)
	}
	if fault.n < base.n*9/10 {
		t.Errorf("healthy orgs stored %d live events under the faults, %d before: some were held back", fault.n, base.n)
	}
	for _, o := range w.orgs {
		_ = w.sim.Org(o).StopGenerators()
	}
	w.stream.checkAlerts(t, w.alerts(w.orgs), 90*time.Second)
	if after := orgEntry(t, w.reps[0], orgB); after.Backfilled <= before.Backfilled {
		t.Errorf("org B backfilled nothing once its 429s ended (%d before, %d after)", before.Backfilled, after.Backfilled)
	}
}

// latency sums up one window of live events.
type latency struct {
	n             int
	p50, p99, max time.Duration
}

func (l latency) String() string {
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", l.n, l.p50, l.p99, l.max)
}

// measure is the latency of orgs' live events whose time falls in the next d; it waits
// a further 2 s for the late ones.
func (w *world) measure(orgs []string, d time.Duration) latency {
	from := time.Now()
	time.Sleep(d)
	to := time.Now()
	time.Sleep(2 * time.Second)
	lags := w.stream.lags(orgs, from, to)
	return latency{n: len(lags), p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: quantile(lags, 1)}
}

// flap drops s's connections every period, refusing the next handshake (503) so that
// each drop costs a second or two of events that only backfill recovers, until the
// returned func is called.
func flap(s *sim.Server, period time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.RefuseHandshakes(503, 1)
				s.DropConnections()
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// checkFaultsReported waits for /status to report A unsubscribed with the 401 and B
// reconnecting (its socket flapped) since before.
func checkFaultsReported(t *testing.T, r *replica, orgA, orgB string, before orgStatus) {
	t.Helper()
	waitFor(t, "the faulty orgs reported in /status", 15*time.Second, func() string {
		a, b := orgEntry(t, r, orgA), orgEntry(t, r, orgB)
		switch {
		case a.Subscribed || !strings.Contains(a.FeedError, "401"):
			return fmt.Sprintf("org A: subscribed %v, feedError %q", a.Subscribed, a.FeedError)
		case b.Reconnects <= before.Reconnects:
			return fmt.Sprintf("org B: %d reconnects, as before the faults", b.Reconnects)
		}
		return ""
	})
}

// orgEntry is org's entry in r's /status.
func orgEntry(t *testing.T, r *replica, org string) orgStatus {
	t.Helper()
	st, err := r.status()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range st.Orgs {
		if o.OrgUUID == org {
			return o
		}
	}
	t.Fatalf("%s does not report org %s", r.id, org)
	return orgStatus{}
}
