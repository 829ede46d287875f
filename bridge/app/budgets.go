package app

import (
	"golang.org/x/time/rate"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
)

// credentialBudgets are partner mode's REST budgets per API key
// (RHOMBUS_CREDENTIAL_REST_RATE): every org unit calling with the partner token shares
// one, an org with its own key has its own (shared only with orgs listing the same key).
// Each unit's client also keeps the org's own budget (RHOMBUS_REST_RATE). Guarded by
// fleet.mu.
type credentialBudgets struct {
	perSecond float64
	byKey     map[string]*rate.Limiter
}

func newCredentialBudgets(perSecond float64) *credentialBudgets {
	return &credentialBudgets{perSecond: perSecond, byKey: map[string]*rate.Limiter{}}
}

// of is key's budget, made on first use.
func (b *credentialBudgets) of(key string) *rate.Limiter {
	l := b.byKey[key]
	if l == nil {
		l = rhombus.NewCredentialBudget(b.perSecond)
		b.byKey[key] = l
	}
	return l
}

// keep forgets the budgets of the keys no unit calls with any more.
func (b *credentialBudgets) keep(units map[string]*orgUnit) {
	used := make(map[string]bool, len(units))
	for _, u := range units {
		used[u.cfg.Rhombus.APIKey] = true
	}
	for key := range b.byKey {
		if !used[key] {
			delete(b.byKey, key)
		}
	}
}
