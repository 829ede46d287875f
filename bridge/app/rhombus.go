package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/rhombus"
)

// openRhombus builds the REST client, finds the org and builds the feed subscriber.
func (a *App) openRhombus(ctx context.Context) error {
	r := a.cfg.Rhombus
	c, err := rhombus.NewClient(rhombus.ClientConfig{APIURL: r.APIURL, APIKey: r.APIKey, AuthScheme: r.AuthScheme,
		PartnerOrg: r.PartnerOrgUUID, Rate: r.RESTRate, Credential: a.credential, Logger: a.log, Registerer: a.reg})
	if err != nil {
		return err
	}
	a.rest = c
	rhombus.RegisterFeedMetrics(a.reg) // exported from start, also while the org is discovered
	if a.org = r.OrgUUID; a.org == "" {
		if a.org, err = a.discoverOrg(ctx); err != nil {
			return err
		}
	}
	a.update(func(s *state) { s.org = a.org })
	if r.Enrich {
		a.enricher = rhombus.NewEnricher(c, 2*time.Second, a.log)
	}
	a.sub, err = a.subscriber(a.org)
	return err
}

// discoverOrg asks getOrgV2 until it answers or ctx ends. A rejected key is logged with
// the status and retried with capped backoff: the token can be fixed while we run.
func (a *App) discoverOrg(ctx context.Context) (string, error) {
	b := backoff.Backoff{Base: time.Second, Max: time.Minute}
	for {
		org, err := a.rest.OrgUUID(ctx)
		if err == nil {
			a.log.Info("org discovered", "org_uuid", org)
			return org, nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("org discovery: %w", ctx.Err())
		}
		var he *rhombus.HTTPError
		if errors.As(err, &he) && (he.Status == 401 || he.Status == 403) {
			a.log.Error("Rhombus rejected the API key while discovering the org; check RHOMBUS_API_KEY",
				"status", he.Status, "body", he.Body)
		} else {
			a.log.Warn("org discovery failed; retrying", "error", err)
		}
		if err := backoff.Sleep(ctx, b.Next()); err != nil {
			return "", fmt.Errorf("org discovery: %w", err)
		}
	}
}

// enrich adds device names and completes bare alerts (bounded; never holds an event).
func (a *App) enrich(ctx context.Context, ev event.Event) event.Event {
	if a.enricher == nil {
		return ev
	}
	return a.enricher.Enrich(ctx, ev)
}
