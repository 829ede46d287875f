package natsjs

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures the JetStream sink.
type Config struct {
	URL   string     // server URL(s), comma separated; tls:// for TLS. Ignored when Conn is set.
	Creds string     // credentials file, optional
	Conn  *nats.Conn // optional shared connection; the sink does not close it

	Stream          string        // stream name, default RHOMBUS
	SubjectPrefix   string        // first subject token, default rhombus
	DuplicateWindow time.Duration // stream duplicate window, default 10m
	Replicas        int           // stream replicas, default 1
	// MaxAge and MaxBytes bound the stream when the sink creates it (0: no limit). An
	// existing stream gets them only with ApplyMaxAge / ApplyMaxBytes (the operator set
	// them explicitly), so a limit edited on the server survives a restart.
	MaxAge        time.Duration
	MaxBytes      int64 // -1 or 0: unlimited
	ApplyMaxAge   bool
	ApplyMaxBytes bool
	MaxInFlight   int           // publishes awaiting an ack at once, default 1024
	AckTimeout    time.Duration // wait for one PubAck before the attempt fails, default 5s

	Name       string // sink name in logs and metrics, default "nats"
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics not registered
}

func (c *Config) defaults() {
	if c.Stream == "" {
		c.Stream = "RHOMBUS"
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = "rhombus"
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = 10 * time.Minute
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = -1
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 1024
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.Name == "" {
		c.Name = "nats"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Conn == nil && c.URL == "" {
		errs = append(errs, errors.New("URL or Conn is required"))
	}
	if c.DuplicateWindow < 0 || c.AckTimeout < 0 || c.MaxInFlight < 0 || c.MaxAge < 0 {
		errs = append(errs, errors.New("DuplicateWindow, AckTimeout, MaxInFlight and MaxAge must not be negative"))
	}
	if c.MaxAge > 0 && c.DuplicateWindow > c.MaxAge {
		errs = append(errs, fmt.Errorf("the duplicate window %v must not exceed the stream's MaxAge %v", c.DuplicateWindow, c.MaxAge))
	}
	if c.Replicas < 0 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas must be 1..5, got %d", c.Replicas))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("natsjs: invalid config: %w", err)
	}
	return nil
}

// connect dials the server with options for a long-lived publisher: reconnect forever,
// a bounded reconnect buffer, credentials when given.
func (c *Config) connect() (*nats.Conn, error) {
	log := c.Logger
	opts := []nats.Option{
		nats.Name("rhombus-bridge"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(8 << 20),
		nats.Timeout(5 * time.Second),
		nats.PingInterval(20 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: a deliberate close
				log.Warn("nats disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats async error", "error", err)
		}),
	}
	if c.Creds != "" {
		opts = append(opts, nats.UserCredentials(c.Creds))
	}
	nc, err := nats.Connect(c.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect %s: %w", redact(c.URL), err)
	}
	return nc, nil
}

// redact hides a password in a URL for error messages.
func redact(url string) string {
	at := -1
	for i := 0; i < len(url); i++ {
		if url[i] == '@' {
			at = i
		}
	}
	if at < 0 {
		return url
	}
	scheme := 0
	for i := 0; i+2 < len(url); i++ {
		if url[i:i+3] == "://" {
			scheme = i + 3
			break
		}
	}
	if scheme > at {
		return url
	}
	return url[:scheme] + "***" + url[at:]
}
