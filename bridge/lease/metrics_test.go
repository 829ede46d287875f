package lease

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Without a lease the replica leads: the lease series exist, with lease_leader at 1, so a
// dashboard's leader panel and a "no leader" alert read the same series in every mode.
func TestRegisterWithoutLease(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := RegisterWithoutLease(reg); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"rhombus_bridge_lease_leader": 1, "rhombus_bridge_lease_revision": 0,
		"rhombus_bridge_lease_transitions_total": 0} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := gathered(t, reg, leaderSecondsName); got < 0 {
		t.Errorf("%s = %v", leaderSecondsName, got)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 4 {
		t.Errorf("%d families (%v), want 4", len(mfs), err)
	}
}

func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0
}
