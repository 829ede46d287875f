// Command ingester writes the rhombus-bridge Kafka topic into a PostgreSQL table, one row
// per event, as a member of a consumer group. See examples/README.md.
//
//	KAFKA_BROKERS=localhost:29092 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test ingester
//
// Environment: KAFKA_BROKERS (required), KAFKA_TOPIC, INGEST_GROUP, DATABASE_URL
// (required), INGEST_TABLE, LOG_LEVEL.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rhombus-bridge/rhombus-bridge/examples/ingester/pgingest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingester:", err)
		os.Exit(1)
	}
}

func env(name string) string { return strings.TrimSpace(os.Getenv(name)) }

func run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmp(env("LOG_LEVEL"), "info"))); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	dsn := env("DATABASE_URL")
	if dsn == "" {
		return errors.New("DATABASE_URL is required")
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer pool.Close()
	var brokers []string
	for _, b := range strings.Split(env("KAFKA_BROKERS"), ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	g, err := pgingest.New(pgingest.Config{
		Brokers: brokers,
		Topic:   env("KAFKA_TOPIC"),
		Group:   env("INGEST_GROUP"),
		Table:   env("INGEST_TABLE"),
		Pool:    pool,
		Logger:  log,
	})
	if err != nil {
		return err
	}
	err = g.Run(ctx)
	log.Info("ingester stopped", "stats", g.Stats())
	return err
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
