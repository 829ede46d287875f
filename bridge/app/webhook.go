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
	cfg.Logger, cfg.Registerer, cfg.MaxEventBytes = a.log, a.reg, a.maxEventBytes()
	if a.enricher != nil {
		cfg.DeviceName = a.enricher.CachedName
	}
	h, err := webhook.New(cfg, a.pipe)
	if err != nil {
		return "", err
	}
	return a.serveWebhook(ctx, wg, h, "path", a.cfg.Webhook.Path)
}

// serveWebhook listens on WEBHOOK_ADDR and serves h until ctx ends; paths names, for the
// start-up line, what it serves.
func (a *App) serveWebhook(ctx context.Context, wg *sync.WaitGroup, h *webhook.Handler, pathKey, paths string) (string, error) {
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
	a.log.Info("webhook receiver listening", "addr", ln.Addr().String(), pathKey, paths)
	return ln.Addr().String(), nil
}

// maxEventBytes is the largest message every configured sink takes: the NATS server's
// max_payload as it announced it, and Kafka's default message.max.bytes (about 1 MiB).
func (a *App) maxEventBytes() int64 {
	n := int64(webhook.DefaultMaxEventBytes)
	if a.nc != nil && a.cfg.Bridge.Enabled("nats") && a.nc.MaxPayload() > 0 {
		n = a.nc.MaxPayload()
	}
	if a.cfg.Bridge.Enabled("kafka") {
		n = min(n, webhook.DefaultMaxEventBytes)
	}
	return n
}
