package app

import (
	"testing"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/orgs"
)

// TestCredentialBudgets: the orgs on the partner token share one budget, an org with its
// own key has its own, and a key no unit calls with any more is forgotten.
func TestCredentialBudgets(t *testing.T) {
	var c config.Config
	c.Rhombus.APIKey, c.Rhombus.AuthScheme = "partner", "partner-api-token"
	b := newCredentialBudgets(10)
	unit := func(o orgs.Org) *orgUnit {
		return &orgUnit{App: &App{cfg: unitConfig(c, o)}, key: o.APIKey}
	}
	units := map[string]*orgUnit{"A": unit(orgs.Org{UUID: "A"}), "B": unit(orgs.Org{UUID: "B"}),
		"C": unit(orgs.Org{UUID: "C", APIKey: "own"})}
	of := func(org string) any { return b.of(units[org].cfg.Rhombus.APIKey) }
	if of("A") != of("B") {
		t.Fatal("two orgs on the partner token have budgets of their own")
	}
	if of("A") == of("C") {
		t.Fatal("the org with its own key shares the partner token's budget")
	}
	delete(units, "C")
	b.keep(units)
	if len(b.byKey) != 1 || b.byKey["partner"] == nil {
		t.Fatalf("budgets kept for %d keys, want the partner token's only", len(b.byKey))
	}
}
