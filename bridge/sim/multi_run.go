package sim

import (
	"context"
	"fmt"
	"strings"
)

// OrgUUIDs returns n org uuids derived from seed (the same seed, the same uuids), in the
// shape Rhombus uses. StartMulti's orgs are OrgUUIDs(seed, n), seed 0 counting as 1.
func OrgUUIDs(seed uint64, n int) []string {
	g := newIDGen(seed ^ 0x6f726773)
	out := make([]string, n)
	for i := range out {
		out[i] = g.uuid()
	}
	return out
}

// StartMulti starts a Multi on listen with n orgs opened by partnerKey, each with a
// generator at rate events/s (0: none).
func StartMulti(cfg MultiConfig, listen string, n int, rate float64) (*Multi, error) {
	m, err := NewMulti(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Org.Seed == 0 {
		cfg.Org.Seed = 1
	}
	for _, org := range OrgUUIDs(cfg.Org.Seed, n) {
		s, err := m.AddOrg(org, "")
		if err == nil && rate > 0 {
			err = s.StartGenerator(GenConfig{Rate: rate})
		}
		if err != nil {
			_ = m.Close()
			return nil, err
		}
	}
	if err := m.Start(listen); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}

// runMulti is Run with Orgs > 0: many orgs behind one address, opened by the API key as
// a partner token.
func runMulti(ctx context.Context, o Options) error {
	org := o.Config
	org.APIKey = "" // set per org
	m, err := StartMulti(MultiConfig{PartnerKey: o.APIKey, Org: org, Logger: o.Logger}, o.Listen, o.Orgs, o.Rate)
	if err != nil {
		return err
	}
	defer func() { _ = m.Close() }()
	m.log.Info("rhombus simulator ready (partner mode)", "ws_url", m.WSURL(), "api_url", m.URL(),
		"orgs", strings.Join(m.Orgs(), ","), "rate_per_org", o.Rate)
	<-ctx.Done()
	if err := m.Close(); err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}
