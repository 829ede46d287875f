package webhook

import (
	"strings"
	"sync/atomic"

	"github.com/rhombus-bridge/rhombus-bridge/sinks"
)

// target is one org's endpoint: the org, its secrets and where its events go.
type target struct {
	org  func() string
	ver  *verifier
	pub  sinks.Publisher
	name func(deviceUUID string) string // optional: see Config.DeviceName
}

// OrgRoutes maps {Path}/{org} to each org's secrets and publisher (partner mode: Rhombus
// webhook bodies name no org, so the path does). Safe for concurrent use; Set replaces
// the whole map, as the org list or the secrets file changes.
type OrgRoutes struct {
	m atomic.Pointer[map[string]*target]
}

// OrgRoute is one org's webhook settings.
type OrgRoute struct {
	Secrets []string // accepted secrets; none: that org's path answers 404
	Pub     sinks.Publisher
}

// NewOrgRoutes returns routes serving no org yet.
func NewOrgRoutes() *OrgRoutes {
	r := &OrgRoutes{}
	r.m.Store(&map[string]*target{})
	return r
}

// Set serves exactly the orgs of routes (org uuid → settings).
func (r *OrgRoutes) Set(routes map[string]OrgRoute) {
	m := make(map[string]*target, len(routes))
	for org, rt := range routes {
		if len(rt.Secrets) == 0 || rt.Pub == nil {
			continue
		}
		m[org] = &target{org: func() string { return org }, ver: newVerifier(rt.Secrets), pub: rt.Pub}
	}
	r.m.Store(&m)
}

// target is the endpoint of path, nil when nothing is served there.
func (h *Handler) target(path string) *target {
	if h.cfg.Orgs == nil {
		if path != h.cfg.Path {
			return nil
		}
		return h.def
	}
	org, ok := strings.CutPrefix(path, strings.TrimSuffix(h.cfg.Path, "/")+"/")
	if !ok || org == "" {
		return nil
	}
	return (*h.cfg.Orgs.m.Load())[org]
}
