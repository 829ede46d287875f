package webhook

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
)

// Defaults of Config and Server.
const (
	DefaultPath        = "/webhooks/rhombus"
	DefaultMaxBytes    = 1 << 20
	DefaultAckTimeout  = 5 * time.Second
	DefaultConcurrency = 512
	DefaultReadTimeout = 10 * time.Second
	DefaultRetryAfter  = time.Second
	DefaultSeenSize    = 16384
	DefaultClientCN    = "webhook-client.rhombus.com"
)

// Config configures the Handler.
type Config struct {
	Path    string   // the one path served, default /webhooks/rhombus (others get 404)
	Secrets []string // accepted HMAC secrets (two or more during rotation); required
	// MaxBytes bounds a body (413 beyond it); it is read with this limit, never buffered
	// past it. Default 1 MiB.
	MaxBytes int64
	// AckTimeout bounds the wait for the publisher's acknowledgement; past it the answer
	// is 503 with Retry-After. Default 5s.
	AckTimeout time.Duration
	// Concurrency is the number of requests in progress at once; one more gets 429 with
	// Retry-After. Default 512.
	Concurrency int
	// ReadTimeout bounds reading one request (headers and body) against slow senders. The
	// Server applies it; a Handler mounted on another server relies on that server's.
	// Default 10s.
	ReadTimeout time.Duration
	// RetryAfter is the Retry-After of 429 and 503 answers (whole seconds, at least 1).
	RetryAfter time.Duration
	// SeenSize bounds the cache of ids this process already had acknowledged (a repeat
	// answers 200 at once). Default 16384; negative turns the cache off.
	SeenSize int
	// OrgUUID returns the org once it is known ("" before discovery: webhooks get 503).
	OrgUUID func() string

	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
}

// ConfigFrom is the handler configuration of the environment's webhook settings.
func ConfigFrom(c config.Webhook, org func() string) Config {
	return Config{Path: c.Path, Secrets: c.Secrets, MaxBytes: c.MaxBytes, AckTimeout: c.AckTimeout,
		Concurrency: c.Concurrency, OrgUUID: org}
}

func (c *Config) defaults() {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.RetryAfter < time.Second {
		c.RetryAfter = DefaultRetryAfter
	}
	if c.SeenSize == 0 {
		c.SeenSize = DefaultSeenSize
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	var errs []error
	if len(c.Secrets) == 0 {
		errs = append(errs, errors.New("at least one secret is required"))
	}
	for i, s := range c.Secrets {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("secret %d is empty", i+1))
		}
	}
	if !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("path must start with /, got %q", c.Path))
	}
	if c.MaxBytes < 1 || c.AckTimeout < 0 || c.Concurrency < 1 || c.ReadTimeout < 0 {
		errs = append(errs, errors.New("MaxBytes and Concurrency must be positive, timeouts not negative"))
	}
	if c.OrgUUID == nil {
		errs = append(errs, errors.New("OrgUUID is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webhook: invalid config: %w", err)
	}
	return nil
}
