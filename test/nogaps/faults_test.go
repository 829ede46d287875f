package nogaps

import (
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// faultKind is one way the Rhombus side fails.
type faultKind struct {
	name   string
	inject func(s *sim.Server)
}

// retryAfter is the Retry-After the simulator sends with its 429s.
const retryAfter = 2 * time.Second

// faultKinds are the faults of issue 4, each injected while events stream. The REST
// faults need a backfill to hit, so they come with an abrupt close.
var faultKinds = []faultKind{
	{"abrupt_close", func(s *sim.Server) { s.DropConnections() }},
	{"tcp_reset", func(s *sim.Server) { s.ResetConnections() }},
	{"close_frame", func(s *sim.Server) { s.CloseFrame() }},
	{"error_frame", func(s *sim.Server) { s.SendError("simulated broker failure") }},
	{"half_open", func(s *sim.Server) { s.GoSilent(true) }},
	{"refused_handshakes", func(s *sim.Server) { s.RefuseHandshakes(503, 3); s.DropConnections() }},
	{"rest_429", func(s *sim.Server) { s.REST429(2, retryAfter); s.DropConnections() }},
	{"rest_503", func(s *sim.Server) { s.REST5xx(3); s.DropConnections() }},
}

// TestEveryFaultNoGaps injects every fault kind twice while the generator streams 300
// events per second: once after the subscription was healthy (the reconnect is
// immediate) and once right after recovering from the previous one (the reconnect backs
// off). At the end every policy alert in the simulator's REST history is in the stream
// exactly once, every alert that could not go live came through backfill, no REST call
// came before a Retry-After elapsed, and every fault left a gap record.
//
// Enrichment is off here, so backfill is the only REST caller and the Retry-After check
// is exact (no call of another goroutine can be legitimately in flight).
func TestEveryFaultNoGaps(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	s := startSim(t, "ORG-FAULTS")
	cfg := baseConfig(t, s, ns.URL(), "faults-1")
	cfg.Rhombus.Enrich = false
	b := startBridge(t, cfg)
	waitFor(t, "first subscription", 20*time.Second, func() bool { return s.Stats().Subscriptions == 1 })
	stopGen := generate(t, s, 300)

	rounds := 0
	for _, k := range faultKinds {
		for _, flapping := range []bool{false, true} {
			if !flapping {
				waitSettled(t, s)
			}
			d := faultRound(t, s, b, k)
			rounds++
			t.Logf("%-18s flapping=%-5v resubscribed after %v", k.name, flapping, d.Round(time.Millisecond))
		}
	}
	stopGen()

	alerts := s.Alerts()
	want := alertIDs(alerts)
	c := newCollector(t, ns.URL())
	if !eventually(60*time.Second, func() bool { return c.has(want) }) {
		t.Errorf("not every alert reached the stream within 60s")
	}
	waitFor(t, "no open gap", 30*time.Second, func() bool { return b.status(t).settled(0) })
	c.mustSync(t)

	r := c.check(want)
	t.Logf("stream: %d messages; alerts: %s; gap records by cause: %v", len(c.msgs), r, c.gapCauses())
	if !r.ok() {
		c.explainMissing(t, s)
		t.Errorf("alerts not exactly once: %s", r)
	}
	checkDarkAlertsBackfilled(t, c, alerts)
	if v := gapsBeforeSubscription(c.gaps, s.Subscriptions()); len(v) > 0 {
		t.Errorf("backfill windows that end before the feed was live again (alerts in between are lost): %v", v)
	}
	if len(c.gaps) < rounds {
		t.Errorf("%d gap records for %d faults", len(c.gaps), rounds)
	}
	if v := retryAfterViolations(s.Calls()); len(v) > 0 {
		t.Errorf("REST calls before Retry-After elapsed: %v", v)
	}
	if n := len(calls429(s.Calls())); n != 4 {
		t.Errorf("%d 429 answers, want 4 (two rounds of two): the 429 fault did not hit backfill", n)
	}
}

// waitSettled waits until the current subscription has stood for a second, so a round
// starts from a subscription the server accepted and delivered on, not from one still
// being set up (every reconnect after an accepted subscription is immediate, within the
// feed's reconnect budget).
func waitSettled(t testing.TB, s *sim.Server) {
	t.Helper()
	waitFor(t, "a settled subscription", 30*time.Second, func() bool {
		ts := s.SubscribeTimes()
		return s.Stats().Subscriptions == 1 && time.Since(ts[len(ts)-1]) > time.Second
	})
}

// faultRound injects one fault and waits until the bridge subscribed again and closed
// the gap; it returns the time from the fault to the next SUBSCRIBE.
func faultRound(t testing.TB, s *sim.Server, b *bridge, k faultKind) time.Duration {
	t.Helper()
	before, subs := b.status(t).Gaps, subscribes(s)
	at := time.Now()
	k.inject(s)
	waitFor(t, k.name+": resubscribed", 60*time.Second, func() bool { return subscribes(s) > subs })
	ts := s.SubscribeTimes()
	d := ts[subs].Sub(at)
	waitFor(t, k.name+": gap closed", 90*time.Second, func() bool { return b.status(t).settled(before) })
	return d
}

// checkDarkAlertsBackfilled: an alert no subscription received live (created while the
// bridge was disconnected or its connection silent) can only have come through backfill;
// there must be some, or the test proved nothing about backfill.
func checkDarkAlertsBackfilled(t testing.TB, c *collector, alerts []sim.Alert) {
	t.Helper()
	dark := 0
	for _, a := range alerts {
		if a.Live > 0 {
			continue
		}
		dark++
		if cp := c.byID[event.AlertID(a.UUID)]; len(cp) > 0 && cp[0].Via != string(event.ViaBackfill) {
			t.Errorf("alert %s was never live but came via %q", a.UUID, cp[0].Via)
		}
	}
	t.Logf("%d of %d alerts were created while no healthy subscription could carry them", dark, len(alerts))
	if dark == 0 {
		t.Fatal("no alert was created while disconnected: backfill was not exercised")
	}
}

// calls429 returns the 429 answers.
func calls429(calls []sim.Call) []sim.Call {
	var out []sim.Call
	for _, c := range calls {
		if c.Status == 429 {
			out = append(out, c)
		}
	}
	return out
}

// retryAfterViolations lists calls made before a Retry-After elapsed. The simulator
// stamps a call before its answer leaves (the handler records it, then net/http flushes),
// so a client that honours Retry-After from the moment it reads the answer can never make
// a call stamped earlier than stamp(429) + Retry-After.
func retryAfterViolations(calls []sim.Call) []string {
	var out []string
	for i, c := range calls {
		if c.Status != 429 {
			continue
		}
		until := c.Time.Add(retryAfter)
		for _, next := range calls[i+1:] {
			if next.Time.Before(until) {
				out = append(out, next.Path+" "+next.Time.Sub(c.Time).String()+" after a 429")
			}
		}
	}
	return out
}

// TestRetryAfterCheckCanFail: the checker above finds an early call.
func TestRetryAfterCheckCanFail(t *testing.T) {
	t0 := time.Now()
	calls := []sim.Call{{Path: "/a", Time: t0, Status: 429}, {Path: "/a", Time: t0.Add(retryAfter - time.Millisecond), Status: 200},
		{Path: "/a", Time: t0.Add(retryAfter), Status: 200}}
	if v := retryAfterViolations(calls); len(v) != 1 {
		t.Fatalf("violations %v, want exactly the early call", v)
	}
}
