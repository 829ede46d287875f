package app_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/sim"
	"github.com/rhombus-bridge/rhombus-bridge/internal/bridgetest"
	"github.com/rhombus-bridge/rhombus-bridge/internal/natstest"
)

// TestPartnerModeWithoutLease: BRIDGE_LEASE=none in partner mode leads every org on this
// replica: one subscription per org (partner token with x-auth-org; an org listed with its
// own key uses it), each org's alerts under its own subjects, /status lists the orgs and
// the shard, per-org metrics carry the org label.
func TestPartnerModeWithoutLease(t *testing.T) {
	ns := natstest.Start(t)
	m, err := sim.StartMulti(sim.MultiConfig{PartnerKey: bridgetest.APIKey, Org: sim.Config{Heartbeat: time.Second},
		Logger: quiet()}, "127.0.0.1:0", 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	partnerOrgs := m.Orgs()
	if _, err := m.AddOrg("OWNKEYORG", "own-key"); err != nil { // the simulator routes it by its own key
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "orgs")
	if err := os.WriteFile(file, []byte("OWNKEYORG own-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, _ := sim.New(sim.Config{APIKey: "x"}) // for the URLs only
	cfg := testConfig(t, ref, ns.URL())
	_ = ref.Close()
	cfg.Rhombus.WSURL, cfg.Rhombus.APIURL = m.WSURL(), m.URL()
	cfg.Rhombus.AuthScheme, cfg.Rhombus.Orgs, cfg.Rhombus.OrgsFile = "partner-api-token", partnerOrgs, file
	r := startApp(t, cfg)
	orgs := m.Orgs()
	waitFor(t, "every org subscribed once", 20*time.Second, func() bool {
		for _, o := range orgs {
			if m.Org(o).Stats().Subscriptions != 1 {
				return false
			}
		}
		return r.status(t).Subscribed
	})
	st := r.status(t)
	if !st.Leader || st.OrgUUID != "" {
		t.Fatalf("top level: leader %v, orgUuid %q", st.Leader, st.OrgUUID)
	}
	if led, ok := st.Orgs.([]any); !ok || len(led) != 3 {
		t.Fatalf("status orgs: %#v", st.Orgs)
	}
	if shard, ok := st.Shard.(map[string]any); !ok || len(shard) != 3 || shard["OWNKEYORG"] != "test-1" {
		t.Fatalf("status shard: %#v", st.Shard)
	}
	for _, o := range orgs {
		m.Org(o).CreateAlert(sim.Alert{UUID: "ALERT-" + o, Live: 1})
	}
	s := openStream(t, ns.URL())
	waitFor(t, "each org's alert under its subject", 20*time.Second, func() bool {
		seen := 0
		for _, msg := range s.all(t) {
			for _, o := range orgs {
				if msg.ID == event.AlertID("ALERT-"+o) && strings.HasPrefix(msg.Subject, "rhombus.v1."+o+".") {
					seen++
				}
			}
		}
		return seen == len(orgs)
	})
	resp, err := http.Get("http://" + r.info.OpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `org="OWNKEYORG"`) || !strings.Contains(string(b), "rhombus_bridge_shard_orgs_led 3") {
		t.Fatalf("metrics lack the org label or the shard gauge")
	}
	stopped := time.Now()
	if err := r.stop(); err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if d := time.Since(stopped); d > 10*time.Second {
		t.Errorf("stopping took %v", d)
	}
	waitFor(t, "every org unsubscribed after the stop", 5*time.Second, func() bool {
		for _, o := range orgs {
			if m.Org(o).Stats().Subscriptions != 0 {
				return false
			}
		}
		return true
	})
}
