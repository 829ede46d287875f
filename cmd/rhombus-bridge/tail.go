package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/feed"
)

// tailOptions are the flags of `rhombus-bridge tail`.
type tailOptions struct {
	kafka  bool
	json   bool
	since  time.Duration
	filter feed.Filter
	server string
}

func parseTail(args []string, out io.Writer) (tailOptions, error) {
	var o tailOptions
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&o.kafka, "kafka", false, "read KAFKA_TOPIC instead of the NATS stream")
	fs.BoolVar(&o.json, "json", false, "print each event's JSON, one per line")
	fs.DurationVar(&o.since, "since", 0, "replay history from this long ago (e.g. 10m); 0: new events only")
	fs.StringVar(&o.filter.Entity, "entity", "", "only this entity type (e.g. POLICY_ALERT)")
	fs.StringVar(&o.filter.Device, "device", "", "only this device uuid")
	fs.StringVar(&o.filter.Trigger, "trigger", "", "only alerts with this trigger (e.g. PERSON_DETECTED)")
	fs.StringVar(&o.server, "server", "", "NATS URL (default NATS_URL, else nats://NATS_EMBEDDED_LISTEN)")
	err := fs.Parse(args)
	return o, err
}

// runTail prints events from the broker until interrupted.
func runTail(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseTail(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := config.Load(config.ModeDemo)
	if err != nil {
		return err
	}
	print := func(subject string, body []byte) error {
		if !o.filter.Match(body) {
			return nil
		}
		if o.json {
			_, err := fmt.Fprintln(stdout, string(body))
			return err
		}
		_, err := fmt.Fprintln(stdout, feed.Line(subject, body, nil))
		return err
	}
	if o.kafka {
		return tailKafka(ctx, cfg, o, print)
	}
	return tailNATS(ctx, cfg, o, print)
}

func tailNATS(ctx context.Context, cfg config.Config, o tailOptions, fn func(string, []byte) error) error {
	url := o.server
	if url == "" {
		url = cfg.NATS.URL
	}
	if url == "" {
		url = "nats://" + cfg.NATS.EmbeddedListen
	}
	opts := []nats.Option{nats.Name("rhombus-bridge tail")}
	if cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.NATS.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("tail: connect %s: %w", config.RedactURL(url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return feed.Follow(ctx, js, feed.Options{Stream: cfg.NATS.Stream, Subject: o.filter.Subject(cfg.NATS.SubjectPrefix),
		Since: o.since}, fn)
}
