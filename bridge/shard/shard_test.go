package shard

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

func TestFairShare(t *testing.T) {
	for _, tc := range []struct{ orgs, replicas, want int }{{60, 3, 20}, {61, 3, 21}, {5, 0, 5}, {0, 2, 0}, {2, 3, 1}} {
		if got := FairShare(tc.orgs, tc.replicas); got != tc.want {
			t.Errorf("FairShare(%d, %d) = %d, want %d", tc.orgs, tc.replicas, got, tc.want)
		}
	}
	a, b := rank("a", []string{"o1", "o2", "o3", "o4"}), rank("b", []string{"o1", "o2", "o3", "o4"})
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Errorf("two replicas rank the orgs alike: %v", a)
	}
}

// ttl is the lease TTL of these tests (production default 10s), short so a departure is
// seen within the test's bounds.
const ttl = 2 * time.Second

// tracker records which replica leads which org, and any moment two led one org at once.
type tracker struct {
	mu      sync.Mutex
	leaders map[string]map[string]bool
	overlap []string
}

func (tr *tracker) set(org, inst string, on bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.leaders[org] == nil {
		tr.leaders[org] = map[string]bool{}
	}
	if on && len(tr.leaders[org]) > 0 {
		tr.overlap = append(tr.overlap, fmt.Sprintf("%s led by %s and %v", org, inst, tr.leaders[org]))
	}
	if on {
		tr.leaders[org][inst] = true
	} else {
		delete(tr.leaders[org], inst)
	}
}

// counts returns, per replica, how many orgs it leads, and the orgs led by nobody.
func (tr *tracker) counts(orgs []string) (map[string]int, []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	per := map[string]int{}
	var unled []string
	for _, o := range orgs {
		if len(tr.leaders[o]) == 0 {
			unled = append(unled, o)
		}
		for inst := range tr.leaders[o] {
			per[inst]++
		}
	}
	return per, unled
}

// unit leads its org under a real NATS lease.
type unit struct {
	org, inst string
	l         *lease.Lease
	tr        *tracker
}

func (u *unit) Campaign(ctx context.Context, leading func(bool)) {
	_ = u.l.Run(ctx, func(lctx context.Context) {
		u.tr.set(u.org, u.inst, true)
		leading(true)
		<-lctx.Done()
		u.tr.set(u.org, u.inst, false)
		leading(false)
	})
}

type replica struct {
	inst   string
	units  map[string]Unit
	m      *Manager
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, js jetstream.JetStream, inst string, orgs []string, tr *tracker) *replica {
	t.Helper()
	ctx := context.Background()
	lb, err := lease.NewNATS(js, lease.NATSConfig{Bucket: "test_lease", Key: "leader.x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.Prepare(ctx, inst, ttl); err != nil {
		t.Fatal(err)
	}
	lkv, err := js.KeyValue(ctx, "test_lease")
	if err != nil {
		t.Fatal(err)
	}
	pkv, err := OpenPresence(ctx, js, ttl, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Instance: inst, TTL: ttl, Lease: lkv, LeaseKey: func(o string) string { return "leader." + o },
		Presence: pkv, PresencePrefix: PresenceKey("test")})
	if err != nil {
		t.Fatal(err)
	}
	r0 := units(t, js, inst, orgs, tr)
	m.SetUnits(r0)
	rctx, cancel := context.WithCancel(ctx)
	r := &replica{inst: inst, units: r0, m: m, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); _ = m.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func units(t *testing.T, js jetstream.JetStream, inst string, orgs []string, tr *tracker) map[string]Unit {
	out := map[string]Unit{}
	for _, o := range orgs {
		b, err := lease.NewNATS(js, lease.NATSConfig{Bucket: "test_lease", Key: "leader." + o})
		if err != nil {
			t.Fatal(err)
		}
		l, err := lease.New(lease.Config{InstanceID: inst, TTL: ttl}, b)
		if err != nil {
			t.Fatal(err)
		}
		out[o] = &unit{org: o, inst: inst, l: l, tr: tr}
	}
	return out
}

func TestShardSpreadsAndMoves(t *testing.T) {
	js := natstest.Connect(t, natstest.Start(t).URL())
	var orgs []string
	for i := range 12 {
		orgs = append(orgs, fmt.Sprintf("ORG%02d", i))
	}
	tr := &tracker{leaders: map[string]map[string]bool{}}
	var reps []*replica
	for _, inst := range []string{"a", "b", "c"} {
		reps = append(reps, startReplica(t, js, inst, orgs, tr))
	}
	settled := func(live, n int) func() string {
		return func() string {
			per, unled := tr.counts(orgs[:n])
			for inst, c := range per {
				if c > FairShare(n, live)+1 {
					return fmt.Sprintf("%s leads %d", inst, c)
				}
			}
			if len(unled) > 0 || len(per) != live {
				return fmt.Sprintf("unled %v, per replica %v", unled, per)
			}
			return ""
		}
	}
	waitFor(t, "3 replicas share 12 orgs", 30*time.Second, settled(3, 12))

	reps[2].cancel() // a polite exit: its orgs move to the others
	<-reps[2].done
	waitFor(t, "2 replicas share 12 orgs", 30*time.Second, settled(2, 12))

	for _, r := range reps[:2] { // ORG11 leaves the list
		less := maps.Clone(r.units)
		delete(less, orgs[11])
		r.m.SetUnits(less)
	}
	waitFor(t, "ORG11 given up", 10*time.Second, func() string {
		if _, unled := tr.counts(orgs[11:]); len(unled) == 0 {
			return "ORG11 still led"
		}
		return ""
	})
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.overlap) > 0 {
		t.Fatalf("an org was led twice at once: %v", tr.overlap)
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, d, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShardSurvivesBrokerRestart: the broker goes away for longer than the TTL (every
// term lapses, the watches close) and comes back: every org is led once again.
func TestShardSurvivesBrokerRestart(t *testing.T) {
	ns := natstest.Start(t)
	js := natstest.Connect(t, ns.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	orgs := []string{"ORG0", "ORG1", "ORG2", "ORG3", "ORG4", "ORG5"}
	tr := &tracker{leaders: map[string]map[string]bool{}}
	for _, inst := range []string{"a", "b"} {
		startReplica(t, js, inst, orgs, tr)
	}
	led := func() string {
		per, unled := tr.counts(orgs)
		if len(unled) > 0 || len(per) != 2 {
			return fmt.Sprintf("unled %v, per replica %v", unled, per)
		}
		return ""
	}
	waitFor(t, "2 replicas share 6 orgs", 30*time.Second, led)
	ns.Stop()
	waitFor(t, "every term lapsed", 10*time.Second, func() string {
		if per, _ := tr.counts(orgs); len(per) > 0 {
			return fmt.Sprintf("still leading: %v", per)
		}
		return ""
	})
	ns.Restart()
	waitFor(t, "every org led again", 30*time.Second, led)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.overlap) > 0 {
		t.Fatalf("an org was led twice at once: %v", tr.overlap)
	}
}

// TestShardReplacedUnit: an org listed again with another unit (its key changed) ends the
// old unit's campaign (SetUnits returns when) and the new unit takes over.
func TestShardReplacedUnit(t *testing.T) {
	js := natstest.Connect(t, natstest.Start(t).URL())
	tr := &tracker{leaders: map[string]map[string]bool{}}
	r := startReplica(t, js, "a", []string{"ORG0", "ORG1"}, tr)
	waitFor(t, "both orgs led", 20*time.Second, func() string {
		if _, unled := tr.counts([]string{"ORG0", "ORG1"}); len(unled) > 0 {
			return fmt.Sprintf("unled %v", unled)
		}
		return ""
	})
	next := maps.Clone(r.units)
	tr2 := &tracker{leaders: map[string]map[string]bool{}}
	next["ORG1"] = units(t, js, "a", []string{"ORG1"}, tr2)["ORG1"]
	ended := r.m.SetUnits(next)
	if len(ended) != 1 || ended["ORG1"] == nil {
		t.Fatalf("SetUnits ended %v, want ORG1's campaign", ended)
	}
	select {
	case <-ended["ORG1"]:
	case <-time.After(10 * time.Second):
		t.Fatal("the replaced unit's campaign did not end")
	}
	waitFor(t, "the new unit leads ORG1", 20*time.Second, func() string {
		if _, unled := tr2.counts([]string{"ORG1"}); len(unled) > 0 {
			return "not yet"
		}
		return ""
	})
	if _, unled := tr.counts([]string{"ORG0"}); len(unled) > 0 {
		t.Fatal("ORG0 was disturbed")
	}
}
