package app

import (
	"context"
	"sync"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/orgs"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// orgHooks routes {WEBHOOK_PATH}/{org} to each org's secrets and pipeline.
type orgHooks struct{ routes *webhook.OrgRoutes }

func newOrgHooks() *orgHooks { return &orgHooks{routes: webhook.NewOrgRoutes()} }

// set serves the orgs of set that have a unit and secrets.
func (h *orgHooks) set(set orgs.Set, units map[string]*orgUnit) {
	m := make(map[string]webhook.OrgRoute, len(set))
	for _, o := range set {
		if u := units[o.UUID]; u != nil && len(o.Secrets) > 0 {
			m[o.UUID] = webhook.OrgRoute{Secrets: o.Secrets, Pub: u.pipe}
		}
	}
	h.routes.Set(m)
}

// startOrgWebhooks starts the receiver for every org's path when WEBHOOK_SECRETS_FILE is
// set (every replica, leader or not: webhooks go through that org's pipeline).
func (a *App) startOrgWebhooks(ctx context.Context, f *fleet, wg *sync.WaitGroup) (string, error) {
	if a.cfg.Webhook.SecretsFile == "" {
		return "", nil
	}
	cfg := webhook.ConfigFrom(a.cfg.Webhook, nil)
	cfg.Orgs, cfg.Logger, cfg.Registerer, cfg.MaxEventBytes = f.hooks.routes, a.log, a.reg, a.maxEventBytes()
	h, err := webhook.New(cfg, nil)
	if err != nil {
		return "", err
	}
	return a.serveWebhook(ctx, wg, h, "paths", a.cfg.Webhook.Path+"/{org}")
}
