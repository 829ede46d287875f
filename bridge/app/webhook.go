package app

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
)

// startWebhook starts the receiver when WEBHOOK_SECRET is set (every replica, leader or
// not) and returns its address. It stops with ctx, answering 503 while it drains.
func (a *App) startWebhook(ctx context.Context, wg *sync.WaitGroup) (string, error) {
	if !a.cfg.Webhook.WebhookOn() {
		return "", nil
	}
	cfg := webhook.ConfigFrom(a.cfg.Webhook, func() string { return a.org })
	cfg.Logger, cfg.Registerer = a.log, a.reg
	h, err := webhook.New(cfg, a.pipe)
	if err != nil {
		return "", err
	}
	srv := webhook.ServerFrom(a.cfg.Webhook, h)
	srv.Logger = a.log
	ln, err := net.Listen("tcp", a.cfg.Webhook.Addr)
	if err != nil {
		return "", fmt.Errorf("WEBHOOK_ADDR %s: %w", a.cfg.Webhook.Addr, err)
	}
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			a.log.Error("webhook receiver stopped", "error", err)
		}
	})
	a.log.Info("webhook receiver listening", "addr", ln.Addr().String(), "path", a.cfg.Webhook.Path)
	return ln.Addr().String(), nil
}
