package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
)

// runWebhook manages the org's webhook integration:
//
//	rhombus-bridge webhook register --url URL [--diagnostic]   prints the new secret once
//	rhombus-bridge webhook status                               prints the current settings
func runWebhook(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: rhombus-bridge webhook register --url URL [--diagnostic] | status")
	}
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		return err
	}
	r := cfg.Rhombus
	c, err := rhombus.NewClient(rhombus.ClientConfig{APIURL: r.APIURL, APIKey: r.APIKey, AuthScheme: r.AuthScheme,
		PartnerOrg: r.PartnerOrgUUID, Rate: r.RESTRate, MaxAttempts: 4})
	if err != nil {
		return err
	}
	switch args[0] {
	case "register":
		return registerWebhook(ctx, c, args[1:], stdout)
	case "status":
		st, err := c.WebhookStatus(ctx)
		if err != nil {
			return fmt.Errorf("webhook status: %w", authHint(err))
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	default:
		return fmt.Errorf("webhook: unknown subcommand %q (register or status)", args[0])
	}
}

func registerWebhook(ctx context.Context, c *rhombus.Client, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("webhook register", flag.ContinueOnError)
	url := fs.String("url", "", "public URL of this bridge's webhook receiver (https://host/webhooks/rhombus)")
	diagnostic := fs.Bool("diagnostic", false, "also send diagnostic webhooks (camera disconnects, ...)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("webhook register: --url is required")
	}
	secret, err := c.RegisterWebhook(ctx, *url, *diagnostic)
	if err != nil {
		return fmt.Errorf("webhook register: %w", authHint(err))
	}
	_, err = fmt.Fprintf(stdout, "webhook registered for %s\nsecret (shown once; add it to WEBHOOK_SECRET): %s\n", *url, secret)
	return err
}

// authHint says what to check when Rhombus refuses the credentials.
func authHint(err error) error {
	var he *rhombus.HTTPError
	if errors.As(err, &he) && (he.Status == 401 || he.Status == 403) {
		return fmt.Errorf("%w (Rhombus refused the credentials: check RHOMBUS_API_KEY and RHOMBUS_AUTH_SCHEME)", err)
	}
	return err
}
