package pgingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures an Ingester. Brokers and Pool are required.
type Config struct {
	Brokers    []string
	Topic      string // default rhombus.events.v1
	Group      string // consumer group, default rhombus-pg-ingester
	Pool       *pgxpool.Pool
	Table      string        // table, optionally schema-qualified, default rhombus_events
	MaxRecords int           // records per poll (one transaction), default 500
	RetryMax   time.Duration // cap of the backoff between failed inserts, default 10s
	ClientOpts []kgo.Opt     // extra franz-go options (TLS, SASL, ...)
	Logger     *slog.Logger

	// beforeCommit, when set (tests), runs after the insert and before the offset commit;
	// an error stops Run there, as a crash would.
	beforeCommit func() error
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// Stats counts what an Ingester did.
type Stats struct {
	Records      int64 // records consumed and stored (inserted or already there)
	Inserted     int64 // new rows
	Batches      int64 // transactions committed
	InsertErrors int64 // failed insert attempts (retried)
	CommitErrors int64 // failed offset commits (the records will be redelivered: harmless)
}

// Ingester moves events from Kafka to PostgreSQL.
type Ingester struct {
	cfg   Config
	table string // quoted identifier
	stats struct{ records, inserted, batches, insertErrs, commitErrs atomic.Int64 }
}

// New validates cfg; Run starts consuming.
func New(cfg Config) (*Ingester, error) {
	if cfg.Topic == "" {
		cfg.Topic = "rhombus.events.v1"
	}
	if cfg.Group == "" {
		cfg.Group = "rhombus-pg-ingester"
	}
	if cfg.Table == "" {
		cfg.Table = "rhombus_events"
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = 500
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	switch {
	case len(cfg.Brokers) == 0:
		return nil, errors.New("pgingest: no brokers")
	case cfg.Pool == nil:
		return nil, errors.New("pgingest: no database pool")
	case !tableName.MatchString(cfg.Table):
		return nil, fmt.Errorf("pgingest: table %q: want name or schema.name", cfg.Table)
	}
	return &Ingester{cfg: cfg, table: pgx.Identifier(strings.Split(cfg.Table, ".")).Sanitize()}, nil
}

// Stats returns the counters so far.
func (g *Ingester) Stats() Stats {
	return Stats{Records: g.stats.records.Load(), Inserted: g.stats.inserted.Load(), Batches: g.stats.batches.Load(),
		InsertErrors: g.stats.insertErrs.Load(), CommitErrors: g.stats.commitErrs.Load()}
}

// Run creates the table if missing, joins the group and stores records until ctx ends;
// then it leaves the group and returns nil. Records in hand but not yet stored are not
// committed, so the group's next member gets them again.
func (g *Ingester) Run(ctx context.Context) error {
	if err := g.EnsureTable(ctx); err != nil {
		return err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(g.cfg.Brokers...),
		kgo.ConsumerGroup(g.cfg.Group),
		kgo.ConsumeTopics(g.cfg.Topic),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(), // a poll's records stay ours until AllowRebalance
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, g.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("pgingest: kafka client: %w", err)
	}
	defer cl.Close()
	g.cfg.Logger.Info("ingester running", "topic", g.cfg.Topic, "group", g.cfg.Group, "table", g.cfg.Table)
	for {
		err := g.pollOnce(ctx, cl)
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// pollOnce fetches up to MaxRecords, stores them and commits their offsets.
func (g *Ingester) pollOnce(ctx context.Context, cl *kgo.Client) error {
	fetches := cl.PollRecords(ctx, g.cfg.MaxRecords)
	if fetches.IsClientClosed() || ctx.Err() != nil {
		return nil
	}
	fetches.EachError(func(topic string, p int32, err error) {
		g.cfg.Logger.Warn("fetch error", "topic", topic, "partition", p, "err", err)
	})
	recs := fetches.Records()
	if len(recs) == 0 {
		return nil
	}
	if err := g.storeWithRetry(ctx, recs); err != nil {
		return nil // ctx ended: not committed, redelivered later
	}
	if g.cfg.beforeCommit != nil {
		if err := g.cfg.beforeCommit(); err != nil {
			return fmt.Errorf("pgingest: before commit: %w", err)
		}
	}
	if err := cl.CommitRecords(ctx, recs...); err != nil {
		g.stats.commitErrs.Add(1)
		g.cfg.Logger.Warn("offset commit failed; records will be redelivered (harmless)", "err", err)
	}
	return nil
}

// storeWithRetry stores recs, retrying with capped exponential backoff until it works or
// ctx ends (then it returns ctx's error).
func (g *Ingester) storeWithRetry(ctx context.Context, recs []*kgo.Record) error {
	delay := 100 * time.Millisecond
	for {
		err := g.store(ctx, recs)
		if err == nil {
			return nil
		}
		g.stats.insertErrs.Add(1)
		g.cfg.Logger.Warn("insert failed; retrying, offsets not committed", "records", len(recs), "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, g.cfg.RetryMax)
	}
}
