// Command notifier posts high-priority Rhombus policy alerts from the rhombus-bridge
// JetStream stream to a Slack-compatible incoming webhook. See examples/README.md.
//
//	SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... NATS_URL=nats://127.0.0.1:4222 notifier
//
// Environment: SLACK_WEBHOOK_URL (required), NATS_URL, NATS_CREDS, NATS_STREAM,
// NATS_SUBJECT_PREFIX, NOTIFY_DURABLE, NOTIFY_TRIGGERS (comma list), LOG_LEVEL.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/examples/notifier/slacknotify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifier:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	opts := []nats.Option{nats.Name("rhombus-notifier"), nats.MaxReconnects(-1)}
	if creds := env("NATS_CREDS", ""); creds != "" {
		opts = append(opts, nats.UserCredentials(creds))
	}
	nc, err := nats.Connect(env("NATS_URL", nats.DefaultURL), opts...)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	var triggers []string
	for _, t := range strings.Split(env("NOTIFY_TRIGGERS", ""), ",") {
		if t = strings.TrimSpace(t); t != "" {
			triggers = append(triggers, t)
		}
	}
	n, err := slacknotify.New(slacknotify.Config{
		JetStream:     js,
		Stream:        env("NATS_STREAM", "RHOMBUS"),
		Durable:       env("NOTIFY_DURABLE", "slack-notifier"),
		FilterSubject: env("NATS_SUBJECT_PREFIX", "rhombus") + ".v1.*.policy_alert.>",
		Triggers:      triggers,
		WebhookURL:    env("SLACK_WEBHOOK_URL", ""),
		Logger:        log,
	})
	if err != nil {
		return err
	}
	return n.Run(ctx)
}
