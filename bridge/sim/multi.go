package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// MultiConfig describes a simulated Rhombus serving many organisations at once, as a
// partner token sees it.
type MultiConfig struct {
	// PartnerKey is the partner token: with x-auth-scheme partner-api-token and
	// x-auth-org {org}, it opens any org added without a key of its own.
	PartnerKey string
	// Org is the template of every org's simulator (APIKey, OrgUUID and Seed are set per org).
	Org    Config
	Logger *slog.Logger
}

// Multi serves many simulated orgs behind one address: each org is a full Server (its own
// topic /topic/change/{org}, REST history, rate limits and fault switches), chosen per
// request by x-auth-org (partner token), or by the org's own x-auth-apikey. Its admin API
// is under /_sim/orgs/{org}/ (the org's /_sim/ API). Safe for concurrent use.
type Multi struct {
	cfg MultiConfig
	log *slog.Logger

	mu      sync.Mutex
	orgs    map[string]*Server
	ownKeys map[string]string // own API key → org
	revoked map[string]bool
	ln      net.Listener
	hs      *http.Server
}

// NewMulti returns a Multi serving no org yet.
func NewMulti(cfg MultiConfig) (*Multi, error) {
	if cfg.PartnerKey == "" {
		return nil, errors.New("sim: PartnerKey is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Multi{cfg: cfg, log: cfg.Logger.With("component", "rhombus_sim_multi"), orgs: map[string]*Server{},
		ownKeys: map[string]string{}, revoked: map[string]bool{}}, nil
}

// AddOrg adds an org (ownKey "": opened by the partner token) and returns its simulator.
func (m *Multi) AddOrg(uuid, ownKey string) (*Server, error) {
	c := m.cfg.Org
	c.OrgUUID, c.APIKey, c.Logger = uuid, m.cfg.PartnerKey, m.cfg.Logger
	if ownKey != "" {
		c.APIKey = ownKey
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	m.mu.Lock()
	c.Seed += uint64(len(m.orgs)) * 7919 // distinct alert and camera uuids per org
	m.mu.Unlock()
	s, err := New(c)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.orgs[uuid] != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sim: org %s added twice", uuid)
	}
	m.orgs[uuid] = s
	if ownKey != "" {
		m.ownKeys[ownKey] = uuid
	}
	return s, nil
}

// Org is the simulator of org (nil if not added).
func (m *Multi) Org(uuid string) *Server {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.orgs[uuid]
}

// Orgs lists the orgs' uuids, sorted.
func (m *Multi) Orgs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.orgs))
	for u := range m.orgs {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

// Revoke makes every request for org answer 401 (its key was revoked) and drops its
// connections; Restore undoes it.
func (m *Multi) Revoke(org string) {
	m.mu.Lock()
	m.revoked[org] = true
	s := m.orgs[org]
	m.mu.Unlock()
	if s != nil {
		s.DropConnections()
	}
}

// Restore accepts org's key again.
func (m *Multi) Restore(org string) {
	m.mu.Lock()
	delete(m.revoked, org)
	m.mu.Unlock()
}

// ServeHTTP routes a request to its org's simulator.
func (m *Multi) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/_sim/orgs/"); ok { // an org's admin API
		org, sub, _ := strings.Cut(rest, "/")
		if s := m.Org(org); s != nil {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/_sim/" + sub
			s.Handler().ServeHTTP(w, r2)
			return
		}
		http.NotFound(w, r)
		return
	}
	org := m.route(r)
	m.mu.Lock()
	s, revoked := m.orgs[org], m.revoked[org]
	m.mu.Unlock()
	if s == nil || revoked {
		http.Error(w, "Unauthorized: unknown organisation or revoked key", http.StatusUnauthorized)
		return
	}
	s.Handler().ServeHTTP(w, r)
}

// route is the org a request is for: x-auth-org with the partner token, else the org
// whose own key it carries.
func (m *Multi) route(r *http.Request) string {
	key := r.Header.Get("x-auth-apikey")
	if org := r.Header.Get("x-auth-org"); org != "" {
		if key != m.cfg.PartnerKey || schemeOf(r) != "partner-api-token" {
			return ""
		}
		return org
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ownKeys[key]
}

func schemeOf(r *http.Request) string {
	if v := r.URL.Query().Get("x-auth-scheme"); v != "" {
		return v
	}
	return r.Header.Get("x-auth-scheme")
}

// Start listens on addr and serves in the background until Close.
func (m *Multi) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: m, ReadHeaderTimeout: 10 * time.Second}
	m.mu.Lock()
	m.ln, m.hs = ln, hs
	m.mu.Unlock()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("serve", "err", err)
		}
	}()
	m.log.Info("multi-org simulator listening", "addr", ln.Addr().String(), "orgs", len(m.Orgs()))
	return nil
}

// URL is the REST base URL; WSURL the change-feed URL.
func (m *Multi) URL() string   { return "http://" + m.addr() }
func (m *Multi) WSURL() string { return "ws://" + m.addr() + "/websocket" }

func (m *Multi) addr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Close stops serving and closes every org's simulator.
func (m *Multi) Close() error {
	m.mu.Lock()
	hs := m.hs
	orgs := make([]*Server, 0, len(m.orgs))
	for _, s := range m.orgs {
		orgs = append(orgs, s)
	}
	m.mu.Unlock()
	var errs []error
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := hs.Shutdown(ctx); err != nil {
			_ = hs.Close()
		}
		cancel()
	}
	for _, s := range orgs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}
