package sim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Options is what cmd/rhombus-sim runs: a Config plus the program's own settings.
type Options struct {
	Config
	Listen        string  // listen address (default 127.0.0.1:8443)
	Rate          float64 // generator events per second; 0: no generator
	Count         int     // generator events; 0: until stopped
	Orgs          int     // > 0: serve this many orgs behind one address, opened by the API key as a partner token
	WebhookURL    string  // deliver every created alert here too (org webhook, HMAC-SHA1)
	WebhookSecret string  // its signing secret
	LogLevel      string
	LogFormat     string

	// Ready, when set, is called with the started server (tests use it).
	Ready func(*Server)
}

// ParseOptions reads flags, each defaulting to an environment variable (getenv), so
// `rhombus-sim -h` lists them all.
func ParseOptions(args []string, getenv func(string) string, usage io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("rhombus-sim", flag.ContinueOnError)
	fs.SetOutput(usage)
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&o.Listen, "listen", env("SIM_LISTEN", "127.0.0.1:8443"), "listen address (SIM_LISTEN)")
	fs.StringVar(&o.APIKey, "api-key", env("RHOMBUS_API_KEY", "sim-api-key"), "API key clients must send (RHOMBUS_API_KEY)")
	fs.StringVar(&o.OrgUUID, "org", env("RHOMBUS_ORG_UUID", ""), "org uuid; empty: derived from the seed (RHOMBUS_ORG_UUID)")
	fs.StringVar(&o.WebhookURL, "webhook-url", env("SIM_WEBHOOK_URL", ""), "also deliver every alert to this webhook (SIM_WEBHOOK_URL)")
	fs.StringVar(&o.WebhookSecret, "webhook-secret", env("SIM_WEBHOOK_SECRET", ""), "webhook signing secret (SIM_WEBHOOK_SECRET)")
	fs.StringVar(&o.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn, error (LOG_LEVEL)")
	fs.StringVar(&o.LogFormat, "log-format", env("LOG_FORMAT", "text"), "text or json (LOG_FORMAT)")
	framing := fs.String("framing", env("SIM_FRAMING", ""), "comma list of packed, split, eol (SIM_FRAMING)")
	fs.BoolVar(&o.NewestFirst, "newest-first", env("SIM_NEWEST_FIRST", "") == "true", "REST pages newest first (SIM_NEWEST_FIRST)")
	nums := []struct {
		name, env, def, help string
		set                  func(string) error
	}{
		{"rate", "SIM_RATE", "2", "generated events per second, 0: none", floatSetter(&o.Rate)},
		{"count", "SIM_COUNT", "0", "generated events, 0: until stopped", intSetter(&o.Count)},
		{"orgs", "SIM_ORGS", "0", "serve this many orgs (partner token = api key, x-auth-org); 0: one org", intSetter(&o.Orgs)},
		{"cameras", "SIM_CAMERAS", "4", "simulated cameras", intSetter(&o.Cameras)},
		{"page-cap", "SIM_PAGE_CAP", "100", "getPolicyAlertsV2 server page cap", intSetter(&o.RESTPageCap)},
		{"seed", "SIM_SEED", "1", "random seed", uintSetter(&o.Seed)},
		{"heartbeat", "SIM_HEARTBEAT", "10s", "STOMP heart-beat offer, both ways", durSetter(&o.Heartbeat)},
	}
	for _, n := range nums {
		if err := n.set(env(n.env, n.def)); err != nil {
			return o, fmt.Errorf("%s: %w", n.env, err)
		}
		fs.Func(n.name, n.help+" ("+n.env+", default "+n.def+")", n.set)
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	f, err := ParseFraming(*framing)
	if err != nil {
		return o, err
	}
	o.Framing = f
	if o.Heartbeat == 0 {
		o.Heartbeat = -1 // "0" means no heart-beats here, not the default
	}
	return o, nil
}

func floatSetter(p *float64) func(string) error {
	return func(s string) (err error) { *p, err = strconv.ParseFloat(s, 64); return err }
}

func intSetter(p *int) func(string) error {
	return func(s string) (err error) { *p, err = strconv.Atoi(s); return err }
}

func uintSetter(p *uint64) func(string) error {
	return func(s string) (err error) { *p, err = strconv.ParseUint(s, 10, 64); return err }
}

func durSetter(p *time.Duration) func(string) error {
	return func(s string) (err error) { *p, err = time.ParseDuration(s); return err }
}

// NewLogger builds the slog logger the options ask for.
func NewLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	h := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, h)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, h)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// Run starts the simulator, the generator (Rate > 0) and webhook delivery, and serves
// until ctx ends; then it closes everything and returns nil.
func Run(ctx context.Context, o Options) error {
	if o.Orgs > 0 {
		return runMulti(ctx, o)
	}
	if o.WebhookURL != "" {
		o.DeliverWebhooks = true
	}
	s, err := New(o.Config)
	if err != nil {
		return err
	}
	defer func() { _ = s.Close() }()
	if o.WebhookURL != "" {
		s.SetWebhook(WebhookSettings{URL: o.WebhookURL, Secret: o.WebhookSecret})
	}
	if err := s.Start(o.Listen); err != nil {
		return err
	}
	s.log.Info("rhombus simulator ready", "ws_url", s.WSURL(), "api_url", s.URL(),
		"org_uuid", s.OrgUUID(), "rate", o.Rate, "webhook_url", o.WebhookURL)
	if o.Rate > 0 {
		if err := s.StartGenerator(GenConfig{Rate: o.Rate, Count: o.Count}); err != nil {
			return err
		}
	}
	if o.Ready != nil {
		o.Ready(s)
	}
	<-ctx.Done()
	s.log.Info("shutting down", "stats", s.Stats())
	if err := s.Close(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}

// SetWebhook replaces the registered webhook settings (as updateWebhookIntegrationV2 does,
// but with the secret given).
func (s *Server) SetWebhook(w WebhookSettings) {
	s.mu.Lock()
	s.webhook = w
	s.mu.Unlock()
}
