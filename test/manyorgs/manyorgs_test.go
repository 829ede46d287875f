package manyorgs_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/shard"
)

func orgCount() int {
	if n, err := strconv.Atoi(os.Getenv("MANYORGS_N")); err == nil && n > 0 {
		return n
	}
	return 60
}

// balanced reports "" once every org has exactly one subscription at the simulator and
// the live replicas' /status together lead every org once, none more than the bound.
func (w *world) balanced(reps []*replica, bound int) func() string {
	return func() string {
		for o, n := range w.subscriptions(w.orgs) {
			if n != 1 {
				return fmt.Sprintf("org %s has %d subscriptions", o, n)
			}
		}
		seen := map[string]string{}
		for _, r := range reps {
			st, err := r.status()
			if err != nil {
				return err.Error()
			}
			led := st.led()
			if len(led) > bound {
				return fmt.Sprintf("%s leads %d orgs, more than %d", r.id, len(led), bound)
			}
			for _, o := range led {
				if prev, ok := seen[o]; ok {
					return fmt.Sprintf("org %s led by %s and %s", o, prev, r.id)
				}
				seen[o] = r.id
			}
		}
		if len(seen) != len(w.orgs) {
			return fmt.Sprintf("%d of %d orgs led", len(seen), len(w.orgs))
		}
		return ""
	}
}

// TestShardKill9: 3 replicas share N orgs, each at most ⌈N/3⌉+1; kill -9 of the busiest
// one: its orgs are subscribed elsewhere within TTL + 1 s, no alert lost, no id twice.
func TestShardKill9(t *testing.T) {
	n := orgCount()
	w := newWorld(t, n)
	w.startReplicas(3)
	survivors := w.kill9Busiest(t, ttl)
	checkOrgsCommand(t, w, survivors)
	w.checkDelivered(t, w.stream)
}

// kill9Busiest waits for 3 replicas to share the orgs, starts ~5 events/s per org, kills
// the busiest replica with SIGKILL and checks its orgs are subscribed elsewhere within
// leaseTTL + 1 s, then waits for the survivors (returned) to share the orgs.
func (w *world) kill9Busiest(t *testing.T, leaseTTL time.Duration) []*replica {
	n := len(w.orgs)
	waitFor(t, "3 replicas share the orgs", 60*time.Second, w.balanced(w.reps, shard.FairShare(n, 3)+1))
	w.generate(w.orgs, 5) // ~5 events/s per org, as the acceptance
	victim, victimOrgs, killed := killBusiest(t, w)
	survivors := slices.DeleteFunc(slices.Clone(w.reps), func(r *replica) bool { return r == victim })
	limit := leaseTTL + time.Second + slack()
	took := awaitFailover(t, w, victimOrgs, killed, limit+10*time.Second)
	worst := took[len(took)-1]
	t.Logf("failover of %d orgs after kill -9 of %s: max over orgs %v (TTL %v)", len(victimOrgs), victim.id,
		worst.Round(time.Millisecond), leaseTTL)
	if worst > limit {
		t.Errorf("failover took %v, more than TTL + 1s + slack (%v)", worst, limit)
	}
	waitFor(t, "2 replicas share the orgs", 30*time.Second, w.balanced(survivors, shard.FairShare(n, 2)+1))
	return survivors
}

// checkDelivered lets alerts flow under the new shard for 2 s, checks no org had two
// subscriptions for more than a second, stops the generators and checks every alert is
// in stream exactly once.
func (w *world) checkDelivered(t *testing.T, stream *collector) {
	time.Sleep(2 * time.Second)
	for _, o := range w.orgs {
		if ov := w.sim.Org(o).LongestOverlap(); ov > time.Second {
			t.Errorf("org %s had two subscriptions for %v", o, ov)
		}
	}
	for _, o := range w.orgs {
		_ = w.sim.Org(o).StopGenerators()
	}
	stream.checkAlerts(t, w.alerts(w.orgs), 30*time.Second)
}

// killBusiest kills -9 the replica leading the most orgs, once alerts have flowed under
// the settled shard for 2 s; it returns that replica, its orgs and when it was killed.
func killBusiest(t *testing.T, w *world) (*replica, []string, time.Time) {
	t.Helper()
	var victim *replica
	var victimOrgs []string
	for _, r := range w.reps {
		st, err := r.status()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s leads %d orgs", r.id, len(st.led()))
		if led := st.led(); len(led) > len(victimOrgs) {
			victim, victimOrgs = r, led
		}
	}
	time.Sleep(2 * time.Second) // alerts flow under the settled shard
	killed := time.Now()
	victim.kill()
	t.Logf("killed %s at %s", victim.id, killed.UTC().Format(time.RFC3339Nano))
	return victim, victimOrgs, killed
}

// awaitFailover waits up to d until every one of orgs is subscribed again after killed,
// and returns, sorted, how long each took.
func awaitFailover(t *testing.T, w *world, orgs []string, killed time.Time, d time.Duration) []time.Duration {
	t.Helper()
	waitFor(t, "the dead replica's orgs subscribed elsewhere", d, func() string {
		for _, o := range orgs {
			if !subscribedAfter(w, o, killed) {
				return "org " + o + " not subscribed again"
			}
		}
		return ""
	})
	took := make([]time.Duration, len(orgs))
	for i, o := range orgs {
		took[i] = firstSubscribeAfter(w, o, killed).Sub(killed)
	}
	slices.Sort(took)
	return took
}

func subscribedAfter(w *world, org string, at time.Time) bool {
	return !firstSubscribeAfter(w, org, at).IsZero() && w.sim.Org(org).Stats().Subscriptions == 1
}

func firstSubscribeAfter(w *world, org string, at time.Time) time.Time {
	for _, st := range w.sim.Org(org).SubscribeTimes() {
		if st.After(at) {
			return st
		}
	}
	return time.Time{}
}

// checkOrgsCommand runs `rhombus-bridge orgs` as an operator would, with a survivor's
// environment, and checks it names the live replicas and a leader for every org.
func checkOrgsCommand(t *testing.T, w *world, live []*replica) {
	t.Helper()
	cmd := exec.Command(bridgeBin, "orgs")
	cmd.Env = live[0].env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("rhombus-bridge orgs: %v\n%s", err, out)
	}
	text := string(out)
	for _, o := range w.orgs {
		if !strings.Contains(text, o+"  replica-") {
			t.Errorf("rhombus-bridge orgs shows no leader for %s:\n%s", o, text)
			break
		}
	}
	if want := fmt.Sprintf("%d orgs, 0 unled; 2 live replicas", len(w.orgs)); !strings.Contains(text, want) {
		t.Errorf("rhombus-bridge orgs lacks %q:\n%s", want, text)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	t.Logf("rhombus-bridge orgs: %s", lines[len(lines)-1])
}

// TestReplicaJoins: 2 replicas share 30 orgs; a third joins and orgs move to it, one at
// a time, until none leads more than ⌈30/3⌉ + 1, without an alert lost or an id twice.
func TestReplicaJoins(t *testing.T) {
	w := newWorld(t, 30)
	w.joinThird(t)
	w.checkDelivered(t, w.stream)
}

// joinThird starts 2 replicas, waits for them to share the orgs, starts ~2 events/s per
// org and a third replica, and waits until it leads orgs and none leads more than
// ⌈orgs/3⌉ + 1.
func (w *world) joinThird(t *testing.T) {
	n := len(w.orgs)
	w.startReplicas(2)
	waitFor(t, "2 replicas share the orgs", 60*time.Second, w.balanced(w.reps, shard.FairShare(n, 2)+1))
	w.generate(w.orgs, 2)
	time.Sleep(time.Second)
	joined := time.Now()
	w.startReplicas(1)
	waitFor(t, "3 replicas share the orgs", 60*time.Second, func() string {
		if why := w.balanced(w.reps, shard.FairShare(n, 3)+1)(); why != "" {
			return why
		}
		st, err := w.reps[2].status()
		if err != nil || len(st.led()) == 0 {
			return "the new replica leads nothing yet"
		}
		return ""
	})
	st, _ := w.reps[2].status()
	t.Logf("replica joined: it leads %d orgs after %v", len(st.led()), time.Since(joined).Round(time.Millisecond))
}
