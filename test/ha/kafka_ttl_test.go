package ha_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestKafkaLeaseTTLBelowBrokerMinimum: the built binary with BRIDGE_LEASE=kafka and
// BRIDGE_LEASE_TTL=2s against kfake at its default group settings
// (group.min.session.timeout.ms 6000, as Kafka ships). The brokers refuse every
// JoinGroup; the bridge says why in one ERROR naming BRIDGE_LEASE_TTL and the brokers'
// limit, joins no more than once a second (the broker counts the JoinGroups), and never
// leads or subscribes.
func TestKafkaLeaseTTLBelowBrokerMinimum(t *testing.T) {
	w := newKafkaWorld(t, 1, 2*time.Second)
	var (
		mu    sync.Mutex
		joins []time.Time
	)
	w.kafka.ControlKey(int16(kmsg.JoinGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		w.kafka.KeepControl()
		mu.Lock()
		joins = append(joins, time.Now())
		mu.Unlock()
		return nil, nil, false
	})
	r := w.reps[0]
	const want = "BRIDGE_LEASE_TTL=2s is below the Kafka brokers' group.min.session.timeout.ms (6000 ms)"
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(strings.Join(r.tail(200), "\n"), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line says %q", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(4 * time.Second) // campaigns go on meanwhile: each must be refused quietly
	var errs, warns []string
	for _, l := range r.tail(500) {
		switch {
		case strings.Contains(l, `"level":"ERROR"`):
			errs = append(errs, l)
		case strings.Contains(l, "lease campaign failed"):
			warns = append(warns, l)
		}
	}
	if len(errs) != 1 || !strings.Contains(errs[0], want) {
		t.Errorf("want one ERROR naming the setting and the limit, got %d:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	if len(warns) > 0 {
		t.Errorf("%d 'lease campaign failed' warnings; the refusal should be the one ERROR", len(warns))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(joins) < 2 { // the first may precede the control function
		t.Errorf("%d JoinGroups; the bridge should keep trying", len(joins))
	}
	for i := 1; i < len(joins); i++ {
		if d := joins[i].Sub(joins[i-1]); d < time.Second {
			t.Errorf("JoinGroup %d came %v after the previous one, want ≥ 1s", i, d)
		}
	}
	if st := mustStatus(t, r); st.Leader || len(w.sim.Subscriptions()) > 0 {
		t.Errorf("led (%v) or subscribed (%d subscriptions) with a refused lease", st.Leader, len(w.sim.Subscriptions()))
	}
	t.Logf("%d JoinGroups, all refused; ERROR: %s", len(joins), errs[0])
}
