package pgingest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
	"github.com/rhombus-bridge/rhombus-bridge/sinks/kafka"
)

const topic = "rhombus.events.v1"

// database connects to the test database (see testDSN) and returns a pool and a fresh
// schema-qualified table name; the schema is dropped at cleanup. Without PostgreSQL tools
// the test skips (EXAMPLES_PG_DSN names a database; EXAMPLES_PG_DSN=skip skips); a
// database that is there but does not answer fails it.
func database(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	dsn, skip, err := testDSN()
	if skip != "" {
		t.Skip(skip)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v (set EXAMPLES_PG_DSN, or EXAMPLES_PG_DSN=skip)", dsn, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "pgingest_test_" + hex.EncodeToString(b[:])
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		pool.Close()
	})
	return pool, schema + ".events"
}

func cluster(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// publish sends events as the bridge does: the real Kafka sink.
func publish(t *testing.T, brokers []string, evs ...event.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sink, err := kafka.New(ctx, kafka.Config{Brokers: brokers, Topic: topic, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sink.Close(context.Background()) }()
	for _, ev := range evs {
		if err := sink.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// produceRaw writes records as they are (duplicates, garbage) with a plain producer.
func produceRaw(t *testing.T, brokers []string, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func alert(t *testing.T, uuid string, ms int64) event.Event {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"uuid": uuid})
	ev, err := event.Build("ORG1", event.ViaWebSocket, v1.ChangeData{
		Entity: "POLICY_ALERT", EntityUUID: uuid, Type: "CREATE", DeviceUUID: "CAM-" + uuid[len(uuid)-1:],
		TimestampMs: ms, PolicyAlertTriggers: []string{"PERSON_DETECTED"}, Raw: raw,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// runner runs an Ingester in the background.
type runner struct {
	g      *Ingester
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func run(t *testing.T, cfg Config) *runner {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runner{g: g, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- g.Run(ctx) }()
	t.Cleanup(func() { _ = r.stop(t) })
	return r
}

// stop cancels Run and returns its error.
func (r *runner) stop(t *testing.T) error {
	r.once.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(15 * time.Second):
			r.err = errors.New("Run did not return")
			t.Error(r.err)
		}
	})
	return r.err
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n)
	if err != nil {
		return -1 // table may not exist yet
	}
	return n
}
