package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/app"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/config"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/lease"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/orgs"
	"github.com/rhombus-bridge/rhombus-bridge/bridge/shard"
)

// runOrgs prints which replica leads which org (partner mode), as the NATS lease bucket
// and the presence bucket hold it, or the Kafka shard group's assignment.
func runOrgs(ctx context.Context, stdout io.Writer) error {
	cfg, err := config.Load(config.ModeRun)
	if err != nil {
		return err
	}
	if !cfg.Rhombus.MultiOrg() {
		return fmt.Errorf("orgs: not in partner mode (set RHOMBUS_ORGS or RHOMBUS_ORGS_FILE)")
	}
	set, err := orgs.NewSource(cfg.Rhombus, "", 0, nil).Load()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	snap, err := readShard(ctx, cfg, set.UUIDs())
	if err != nil {
		return err
	}
	return printShard(stdout, set.UUIDs(), snap)
}

func readShard(ctx context.Context, cfg config.Config, uuids []string) (shard.Snapshot, error) {
	if cfg.Bridge.Lease == "kafka" {
		return readKafkaShard(ctx, cfg, uuids)
	}
	url := cfg.NATS.URL
	if url == "" {
		url = "nats://" + cfg.NATS.EmbeddedListen
	}
	opts := []nats.Option{nats.Name("rhombus-bridge orgs")}
	if cfg.NATS.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.NATS.Creds))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return shard.Snapshot{}, fmt.Errorf("orgs: connect %s: %w", config.RedactURL(url), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return shard.Snapshot{}, err
	}
	lease, err := js.KeyValue(ctx, app.LeaseBucket)
	if err != nil {
		return shard.Snapshot{}, fmt.Errorf("orgs: lease bucket %s: %w (no replica has run yet?)", app.LeaseBucket, err)
	}
	presence, err := js.KeyValue(ctx, shard.PresenceBucket)
	if err != nil {
		return shard.Snapshot{}, fmt.Errorf("orgs: presence bucket %s: %w", shard.PresenceBucket, err)
	}
	dep := cfg.Bridge.Deployment
	return shard.Read(ctx, lease, presence, shard.PresenceKey(dep), uuids, func(org string) string { return app.OrgLeaseKey(dep, org) })
}

// readKafkaShard reads the shard map from the assignment of the Kafka shard group.
func readKafkaShard(ctx context.Context, cfg config.Config, uuids []string) (shard.Snapshot, error) {
	client := app.KafkaClientConfig(cfg.Kafka)
	tc, mech, err := client.Security()
	if err != nil {
		return shard.Snapshot{}, err
	}
	kc := lease.KafkaConfig{Brokers: cfg.Kafka.Brokers, GroupID: app.ShardGroup(cfg.Bridge.Deployment),
		Topic: cfg.Kafka.ShardTopic, TLS: tc, SASL: mech}
	leaders, replicas, err := lease.ReadKafkaShard(ctx, kc, cfg.Kafka.ShardSlots, uuids)
	if err != nil {
		return shard.Snapshot{}, fmt.Errorf("orgs: %w", err)
	}
	return shard.Snapshot{Leaders: leaders, Replicas: replicas}, nil
}

// printShard prints one line per org, then the replicas with their counts.
func printShard(w io.Writer, uuids []string, snap shard.Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORG\tLEADER")
	per := map[string]int{}
	unled := 0
	for _, o := range uuids {
		l := snap.Leaders[o]
		if l == "" {
			l, unled = "-", unled+1
		} else {
			per[l]++
		}
		fmt.Fprintf(tw, "%s\t%s\n", o, l)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var reps []string
	for _, r := range snap.Replicas {
		reps = append(reps, fmt.Sprintf("%s (%d)", r, per[r]))
	}
	for r, n := range per {
		if !slices.Contains(snap.Replicas, r) {
			reps = append(reps, fmt.Sprintf("%s (%d, not live)", r, n))
		}
	}
	_, err := fmt.Fprintf(w, "\n%d orgs, %d unled; %d live replicas: %s; fair share %d\n", len(uuids), unled,
		len(snap.Replicas), strings.Join(reps, ", "), shard.FairShare(len(uuids), len(snap.Replicas)))
	return err
}

// printOrgSummary is check's line on the org list (partner mode); the list itself was
// validated with the configuration.
func printOrgSummary(w io.Writer, cfg config.Config) error {
	set, err := orgs.NewSource(cfg.Rhombus, cfg.Webhook.SecretsFile, 0, nil).Load()
	if err != nil {
		return err
	}
	own, hooks := 0, 0
	for _, o := range set {
		if o.APIKey != "" {
			own++
		}
		if len(o.Secrets) > 0 {
			hooks++
		}
	}
	_, err = fmt.Fprintf(w, "partner mode: %d orgs (%d with their own API key, %d with webhook secrets)\n", len(set), own, hooks)
	return err
}
