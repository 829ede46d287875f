package slacknotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTriggers are the policy alert triggers posted when Config.Triggers is empty.
var DefaultTriggers = []string{
	"PERSON_DETECTED", "VEHICLE_DETECTED", "FACE_DETECTED", "LICENSE_PLATE_DETECTED", "CROWD_DETECTED",
}

// Config configures a Notifier. JetStream and WebhookURL are required.
type Config struct {
	JetStream     jetstream.JetStream
	Stream        string   // default RHOMBUS
	Durable       string   // durable consumer name, default slack-notifier
	FilterSubject string   // default rhombus.v1.*.policy_alert.>
	Triggers      []string // triggers worth a post; default DefaultTriggers
	WebhookURL    string   // Slack-compatible incoming webhook
	HTTPClient    *http.Client
	PostTimeout   time.Duration // one webhook call, default 10s
	RetryBase     time.Duration // first nak delay, doubled per delivery, default 2s
	RetryMax      time.Duration // nak delay cap, default 5m
	MaxDeliver    int           // deliveries of one message before JetStream gives up, default 100
	AckWait       time.Duration // redelivery if neither acked nor nakked, default 30s
	MaxAckPending int           // messages in flight, default 16
	DeliverAll    bool          // a new durable starts at the stream's start (default: new messages only)
	Logger        *slog.Logger
}

func (c *Config) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Stream, "RHOMBUS")
	def(&c.Durable, "slack-notifier")
	def(&c.FilterSubject, "rhombus.v1.*.policy_alert.>")
	defDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defDur(&c.PostTimeout, 10*time.Second)
	defDur(&c.RetryBase, 2*time.Second)
	defDur(&c.RetryMax, 5*time.Minute)
	defDur(&c.AckWait, 30*time.Second)
	if len(c.Triggers) == 0 {
		c.Triggers = DefaultTriggers
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 100
	}
	if c.MaxAckPending <= 0 {
		c.MaxAckPending = 16
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Notifier posts high-priority alerts from JetStream to a webhook.
type Notifier struct {
	cfg      Config
	triggers map[string]bool
	poster   *poster
}

// New validates cfg and returns a Notifier; Run starts it.
func New(cfg Config) (*Notifier, error) {
	cfg.defaults()
	if cfg.JetStream == nil {
		return nil, errors.New("slacknotify: JetStream is required")
	}
	if !strings.HasPrefix(cfg.WebhookURL, "http://") && !strings.HasPrefix(cfg.WebhookURL, "https://") {
		return nil, fmt.Errorf("slacknotify: webhook URL %q: want http(s)://", cfg.WebhookURL)
	}
	if cfg.RetryMax < cfg.RetryBase {
		return nil, fmt.Errorf("slacknotify: RetryMax %v below RetryBase %v", cfg.RetryMax, cfg.RetryBase)
	}
	n := &Notifier{cfg: cfg, triggers: map[string]bool{}}
	for _, t := range cfg.Triggers {
		n.triggers[strings.ToUpper(strings.TrimSpace(t))] = true
	}
	n.poster = &poster{url: cfg.WebhookURL, client: cfg.HTTPClient, timeout: cfg.PostTimeout}
	return n, nil
}

// consumerConfig is the durable consumer Run creates or updates.
func (n *Notifier) consumerConfig() jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       n.cfg.Durable,
		Description:   "rhombus-bridge example: high-priority alerts to a chat webhook",
		FilterSubject: n.cfg.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       n.cfg.AckWait,
		MaxDeliver:    n.cfg.MaxDeliver,
		MaxAckPending: n.cfg.MaxAckPending,
		DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	if n.cfg.DeliverAll {
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	return cc
}

// Run creates (or updates) the durable consumer and handles messages one at a time until
// ctx ends; then it stops pulling and returns nil. The message in hand when ctx ends is
// left unacknowledged and is redelivered to the next run.
func (n *Notifier) Run(ctx context.Context) error {
	cons, err := n.cfg.JetStream.CreateOrUpdateConsumer(ctx, n.cfg.Stream, n.consumerConfig())
	if err != nil {
		return fmt.Errorf("slacknotify: consumer %s on %s: %w", n.cfg.Durable, n.cfg.Stream, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(n.cfg.MaxAckPending))
	if err != nil {
		return fmt.Errorf("slacknotify: pull: %w", err)
	}
	defer it.Stop()
	n.cfg.Logger.Info("notifier running", "stream", n.cfg.Stream, "durable", n.cfg.Durable,
		"filter", n.cfg.FilterSubject, "triggers", n.cfg.Triggers)
	for {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return fmt.Errorf("slacknotify: %w", err)
			}
			n.cfg.Logger.Warn("pull failed", "err", err)
			select { // pace retries while the server is away
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
			continue
		}
		n.handle(ctx, msg)
	}
}
