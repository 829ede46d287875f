package ha_test

import (
	"bufio"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
)

// statusLag bounds how long after its lease term ended a thawed leader may still say
// leader:true on /status.
const statusLag = 100 * time.Millisecond

// TestThawAbandonsAtOnce: the NATS-lease leader is frozen (SIGSTOP) for 3 × TTL while
// the simulator keeps its connection open (IgnoreClientSilence: a server whose
// heart-beat tolerance outlasts the pause, as RabbitMQ's 60 s default does; with the
// simulator's default the socket would already be gone and there would be nothing to
// abort) and no longer answers DISCONNECT for it (IgnoreDisconnect: so a polite
// disconnect waits for its receipt's timeout, as seen against the real service). A
// standby takes over during the freeze. Thawed, the old leader sees at once that its
// term lapsed: its subscription must end within 1 s of SIGCONT (the socket is aborted,
// no polite DISCONNECT awaiting a receipt), and /status must say leader:false no later
// than 100 ms after its "lease term ended" line.
func TestThawAbandonsAtOnce(t *testing.T) {
	c := newCluster(t, "nats")
	c.sim.IgnoreClientSilence(true)
	c.sim.IgnoreDisconnect(true)
	c.generate()
	c.soak(2 * time.Second) // the leader's next heart-beats switch its connection to the tolerance
	old := c.leader(10 * time.Second)
	oldRev := mustStatus(t, old).Lease.Revision
	active := c.activeSubscriptions()
	if len(active) != 1 {
		t.Fatalf("want one active subscription before the freeze, got %d", len(active))
	}
	frozenAt := time.Now()
	old.signal(syscall.SIGSTOP)
	succAt, err := c.nextSubscribe(frozenAt, ttl+time.Second+slack())
	if err != nil {
		t.Fatalf("no standby took over during the freeze: %v", err)
	}
	time.Sleep(time.Until(frozenAt.Add(3 * ttl)))
	if sp := c.span(active[0]); !sp.End.IsZero() {
		t.Fatalf("the simulator ended the frozen leader's subscription at %v: nothing left to test", sp.End.Sub(frozenAt))
	}
	thawAt := time.Now()
	old.signal(syscall.SIGCONT)
	lastTrue, falseAt := pollNotLeader(t, old, 10*time.Second)
	end := c.subscriptionEnd(active[0], 10*time.Second)
	termEnded := logTime(t, old, "lease term ended", oldRev, 10*time.Second)
	afterThaw, whole := end.Sub(thawAt), end.Sub(succAt)
	// A request sent after the flip cannot be answered leader:true, however slowly it is
	// answered: the lag is bounded by when the last leader:true was asked.
	lag := time.Duration(0)
	if !lastTrue.IsZero() {
		lag = lastTrue.Sub(termEnded)
	}
	t.Logf("thawed %s: subscription ended %v after SIGCONT (overlap with the successor %v, %v of it frozen); "+
		"/status leader:false answered %v after SIGCONT (%v after \"lease term ended\"), the last leader:true asked %v after it",
		old.id, afterThaw.Round(time.Millisecond), whole.Round(time.Millisecond), thawAt.Sub(succAt).Round(time.Millisecond),
		falseAt.Sub(thawAt).Round(time.Millisecond), falseAt.Sub(termEnded).Round(time.Millisecond), lag.Round(time.Millisecond))
	if afterThaw > maxOverlap {
		t.Errorf("the thawed leader kept its subscription %v after SIGCONT; want ≤ %v", afterThaw, maxOverlap)
	}
	if lag > statusLag {
		t.Errorf("/status said leader:true until %v after the lease term ended; want ≤ %v", lag, statusLag)
	}
	c.sim.StopGenerators()
	c.stream.checkAlerts(t, c.sim.Alerts(), 30*time.Second)
}

// span returns the simulator's current record of sub.
func (c *cluster) span(sub sim.Subscription) sim.Subscription {
	for _, s := range c.sim.Subscriptions() {
		if s.Conn == sub.Conn && s.ID == sub.ID {
			return s
		}
	}
	c.t.Fatalf("subscription %d/%s unknown", sub.Conn, sub.ID)
	return sim.Subscription{}
}

// pollNotLeader asks r's /status in a tight loop until it says leader:false, and
// returns when the last request answered leader:true was sent (zero: none) and when the
// first leader:false arrived.
func pollNotLeader(t *testing.T, r *replica, d time.Duration) (lastTrue, falseAt time.Time) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		sent := time.Now()
		st, err := r.status(time.Second)
		switch {
		case err != nil:
		case !st.Leader:
			return lastTrue, time.Now()
		default:
			lastTrue = sent
		}
	}
	t.Fatalf("%s still says leader:true %v after the thaw", r.id, d)
	return
}

// logTime waits up to d for r's JSON log to hold a line with msg and lease_revision rev,
// and returns its time.
func logTime(t *testing.T, r *replica, msg string, rev uint64, d time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if at, ok := findLog(r.logPath, msg, rev); ok {
			return at
		}
	}
	t.Fatalf("%s: no %q line for lease revision %d within %v", r.id, msg, rev, d)
	return time.Time{}
}

func findLog(path, msg string, rev uint64) (time.Time, bool) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Time time.Time `json:"time"`
			Msg  string    `json:"msg"`
			Rev  uint64    `json:"lease_revision"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == msg && l.Rev == rev {
			return l.Time, true
		}
	}
	return time.Time{}, false
}
