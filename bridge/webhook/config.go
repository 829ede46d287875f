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
	DefaultMaxBytes    = 512 << 10 // WEBHOOK_MAX_BYTES: half of NATS's default 1 MiB payload
	DefaultAckTimeout  = 5 * time.Second
	DefaultConcurrency = 512
	DefaultReadTimeout = 10 * time.Second
	DefaultRetryAfter  = time.Second
	DefaultSeenSize    = 16384
	DefaultClientCN    = "webhook-client.rhombus.com"
	// DefaultMaxEventBytes is the largest message the brokers take at their defaults
	// (NATS max_payload 1 MiB; Kafka message.max.bytes about 1 MiB).
	DefaultMaxEventBytes = 1 << 20
	// DefaultBodyBudget bounds the body bytes buffered across all requests at once.
	DefaultBodyBudget = 64 << 20
	// DefaultMaxConns bounds the Server's open connections.
	DefaultMaxConns = 2048
)

// Config configures the Handler.
type Config struct {
	Path    string   // the one path served, default /webhooks/rhombus (others get 404)
	Secrets []string // accepted HMAC secrets (two or more during rotation); required
	// MaxBytes bounds a body (413 beyond it); it is read with this limit, never buffered
	// past it, and never allocated from a declared Content-Length. At most half of
	// MaxEventBytes (the CloudEvent carries the body, and data.raw repeats it). Default
	// 512 KiB.
	MaxBytes int64
	// MaxEventBytes is the largest message every sink accepts (the broker's maximum
	// payload). A verified body whose CloudEvent would not fit gets 413 rather than a 200
	// for an event the broker refuses. Default 1 MiB.
	MaxEventBytes int64
	// BodyBudget bounds the body bytes buffered by all requests together (buffers count
	// by capacity: they start at 4 KiB, or the declared length if smaller, and double as
	// bytes arrive); a request that would exceed it gets 503 with Retry-After instead of
	// memory. At least twice MaxBytes. Default 64 MiB.
	BodyBudget int64
	// MaxConns bounds the Server's open connections; at the cap a new connection closes
	// the oldest one not carrying a verified request. Default 2048.
	MaxConns int
	// AckTimeout bounds the wait for the publisher's acknowledgement; past it the answer
	// is 503 with Retry-After. Default 5s.
	AckTimeout time.Duration
	// Concurrency is the number of verified requests being published at once (slots are
	// taken only after the body was read and its signature verified); one more gets 429
	// with Retry-After. Default 512.
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
	// DeviceName, when set, returns the org's name for a device ("" when it knows none)
	// without waiting: the event is then encoded with it, and the publisher's enrichment
	// has nothing to splice in. Unused with Orgs.
	DeviceName func(deviceUUID string) string
	// Orgs, when set, serves many organisations instead (partner mode): {Path}/{org} for
	// every org it holds, verified with that org's secrets and published to its publisher;
	// Secrets, OrgUUID and New's publisher are then unused.
	Orgs *OrgRoutes

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
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = DefaultMaxEventBytes
	}
	if c.BodyBudget == 0 {
		c.BodyBudget = DefaultBodyBudget
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
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
	if len(c.Secrets) == 0 && c.Orgs == nil {
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
	if c.MaxBytes < 1 || c.AckTimeout < 0 || c.Concurrency < 1 || c.ReadTimeout < 0 || c.MaxConns < 1 {
		errs = append(errs, errors.New("MaxBytes, Concurrency and MaxConns must be positive, timeouts not negative"))
	}
	if c.MaxBytes > c.MaxEventBytes/2 {
		errs = append(errs, fmt.Errorf("WEBHOOK_MAX_BYTES %d is above half the broker's maximum payload (%d bytes): "+
			"at most %d, so that what is answered 200 is stored whole", c.MaxBytes, c.MaxEventBytes, c.MaxEventBytes/2))
	}
	if c.BodyBudget < 2*c.MaxBytes { // a growing buffer briefly holds its old and new halves
		errs = append(errs, fmt.Errorf("BodyBudget %d is below twice MaxBytes %d", c.BodyBudget, c.MaxBytes))
	}
	if c.OrgUUID == nil && c.Orgs == nil {
		errs = append(errs, errors.New("OrgUUID is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webhook: invalid config: %w", err)
	}
	return nil
}
