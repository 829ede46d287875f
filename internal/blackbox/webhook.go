//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/webhook"
	"github.com/rhombus-bridge/rhombus-bridge/internal/blackbox/result"
)

// The webhook phase's shape: issue 14's 32 senders, in batches of 500 requests that
// alternate between the bridge and the reference receiver (bridge first in even rounds,
// reference first in odd ones), so both see the same machine.
const (
	webhookSecret  = "blackbox-webhook-secret"
	webhookSenders = 32
	webhookBatch   = 500
)

// measureWebhooks sends o.webhooks signed org-activity webhooks to the bridge (already
// running, its receiver on bridge.webhook) and as many to a reference receiver process,
// checks that every request answered 200 is stored in the receiver's stream, and returns
// both receivers' figures.
func (h *harness) measureWebhooks(ctx context.Context, js jetstream.JetStream, o options, bridge target, fa feederAddrs, natsURL string) (bw, rw result.Webhook, err error) {
	ref, err := h.startWebhookRef(ctx, js, natsURL)
	if err != nil {
		return bw, rw, err
	}
	defer ref.p.stop()
	if err := waitListening(bridge.webhook, 30*time.Second); err != nil {
		return bw, rw, fmt.Errorf("bridge webhook receiver: %w", err)
	}
	cams, err := cameras(fa.api)
	if err != nil {
		return bw, rw, err
	}
	br := newSender(bridge.p, "http://"+bridge.webhook+webhook.DefaultPath, bridge.stream)
	br.bodies, br.sigs = webhookBodies(cams, "bridge", o.webhooks)
	ref.bodies, ref.sigs = webhookBodies(cams, "reference", o.webhooks)
	done := func() error { return nil }
	if o.profile != "" {
		done = webhookProfile(bridge.httpAddr, o.profile+".webhook")
	}
	err = alternate(ctx, js, br, ref)
	if perr := done(); err == nil {
		err = perr
	}
	return br.figures(), ref.figures(), err
}

// alternate sends both senders' bodies in alternating batches, then checks the streams.
func alternate(ctx context.Context, js jetstream.JetStream, a, b *sender) error {
	for _, s := range []*sender{a, b} {
		var err error
		if s.base, err = stored(ctx, js, s.stream); err != nil {
			return err
		}
	}
	for i, lo := 0, 0; lo < len(a.bodies); i, lo = i+1, lo+webhookBatch {
		hi := min(lo+webhookBatch, len(a.bodies))
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		if err := first.batch(lo, hi); err != nil {
			return err
		}
		if err := second.batch(lo, hi); err != nil {
			return err
		}
	}
	for _, s := range []*sender{a, b} {
		if err := s.check(ctx, js); err != nil {
			return err
		}
	}
	return nil
}

// startWebhookRef runs the reference receiver (cmd/webhookref) on its own stream.
func (h *harness) startWebhookRef(ctx context.Context, js jetstream.JetStream, natsURL string) (*sender, error) {
	if err := createStream(ctx, js, "WEBHOOKREF", "webhookref.>"); err != nil {
		return nil, err
	}
	p, err := start("webhookref", h.bin("webhookref"), nil, h.dir, true, natsURL, "webhookref.bench", webhookSecret)
	if err != nil {
		return nil, err
	}
	line, err := p.line(30 * time.Second)
	url, ok := strings.CutPrefix(line, "addr ")
	if err != nil || !ok {
		p.stop()
		return nil, fmt.Errorf("webhookref said %q: %v", line, err)
	}
	return newSender(p, url, "WEBHOOKREF"), nil
}

// waitListening waits until addr accepts connections.
func waitListening(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// webhookProfile takes a 10 s CPU profile of the bridge from the start of the webhook
// phase and returns the function that waits for it.
func webhookProfile(httpAddr, path string) func() error {
	errc := make(chan error, 1)
	go func() { errc <- fetchProfile(httpAddr, "profile?seconds=10", path) }()
	return func() error { return <-errc }
}
