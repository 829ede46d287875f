package pgingest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/event"
)

func alerts(t *testing.T, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = alert(t, fmt.Sprintf("ALERT%03d", i), 1_780_000_000_000+int64(i)*1000)
	}
	return evs
}

// TestIngestEverything: every event (and the bridge's invalid records) becomes one row
// with the CloudEvent's attributes in columns and its data as jsonb.
func TestIngestEverything(t *testing.T) {
	pool, table := database(t)
	brokers := cluster(t)
	evs := alerts(t, 20)
	publish(t, brokers, evs...)
	produceRaw(t, brokers,
		&kgo.Record{Value: []byte("not json"), Headers: []kgo.RecordHeader{{Key: "ce_id", Value: []byte("bad-1")}, {Key: "ce_type", Value: []byte("com.rhombussystems.invalid.v1")}}},
		&kgo.Record{Value: []byte("{\"no\":\"envelope\"}")})
	r := run(t, Config{Brokers: brokers, Pool: pool, Table: table, Group: "g1", Logger: quiet()})
	waitFor(t, "22 rows", func() bool { return r.g.Stats().Records == 22 && count(t, pool, table) == 22 })

	var typ, subject, org, entityUUID, rawUUID string
	var ts time.Time
	err := pool.QueryRow(context.Background(), `SELECT type, subject, org, time, data->>'entityUuid', data->'raw'->>'uuid'
		FROM `+table+` WHERE id = $1`, evs[3].ID).Scan(&typ, &subject, &org, &ts, &entityUUID, &rawUUID)
	if err != nil {
		t.Fatal(err)
	}
	if typ != "com.rhombussystems.policy_alert.create.v1" || subject != "CAM-3" || org != "ORG1" ||
		!ts.Equal(time.UnixMilli(1_780_000_003_000)) || entityUUID != "ALERT003" || rawUUID != "ALERT003" {
		t.Errorf("row: %q %q %q %v %q %q", typ, subject, org, ts, entityUUID, rawUUID)
	}
	var invalid int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table+
		` WHERE (data->>'invalid')::bool AND (id = 'bad-1' OR id LIKE 'kafka:`+topic+`/%')`).Scan(&invalid); err != nil || invalid != 2 {
		t.Errorf("invalid records stored: %d, %v", invalid, err)
	}
	if s := r.g.Stats(); s.Inserted != 22 || s.Records != 22 || s.InsertErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRedeliveryWritesNoSecondRow: the same event again in the log, and a crash between the
// insert and the offset commit (the group redelivers every record), add no row.
func TestRedeliveryWritesNoSecondRow(t *testing.T) {
	pool, table := database(t)
	brokers := cluster(t)
	evs := alerts(t, 10)
	publish(t, brokers, evs...)
	// The same CloudEvent twice more, as a producer retry or a second bridge path would.
	dup := &kgo.Record{Key: []byte(evs[0].Key()), Value: evs[0].Body,
		Headers: []kgo.RecordHeader{{Key: "ce_id", Value: []byte(evs[0].ID)}}}
	produceRaw(t, brokers, dup, dup)

	var crashed atomic.Bool
	crash := func() error {
		if crashed.CompareAndSwap(false, true) {
			return errors.New("simulated crash before commit")
		}
		return nil
	}
	first := run(t, Config{Brokers: brokers, Pool: pool, Table: table, Group: "g2", Logger: quiet(), beforeCommit: crash})
	waitFor(t, "the first run to stop at the crash", func() bool {
		select {
		case err := <-first.done:
			first.done <- err
			return true
		default:
			return false
		}
	})
	if err := first.stop(t); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("first run: %v", err)
	}
	stored := count(t, pool, table)
	if stored == 0 || stored > 10 {
		t.Fatalf("%d rows after the crash", stored)
	}

	// Same group: nothing was committed, so every record comes again.
	second := run(t, Config{Brokers: brokers, Pool: pool, Table: table, Group: "g2", Logger: quiet()})
	waitFor(t, "all 12 records consumed again", func() bool { return second.g.Stats().Records == 12 })
	if n := count(t, pool, table); n != 10 {
		t.Errorf("%d rows, want 10 (one per event id)", n)
	}
	if s := second.g.Stats(); s.Inserted != int64(10-stored) {
		t.Errorf("second run inserted %d, want %d (the rest were already there)", s.Inserted, 10-stored)
	}
	if err := second.stop(t); err != nil {
		t.Fatal(err)
	}

	// The second run committed: a third member of the group sees only what is new.
	publish(t, brokers, alert(t, "ALERT999", 1_790_000_000_000))
	third := run(t, Config{Brokers: brokers, Pool: pool, Table: table, Group: "g2", Logger: quiet()})
	waitFor(t, "the new record", func() bool { return third.g.Stats().Records >= 1 && count(t, pool, table) == 11 })
	if err := third.stop(t); err != nil {
		t.Fatal(err)
	}
	if s := third.g.Stats(); s.Records != 1 {
		t.Errorf("third run consumed %d records, want only the new one (offsets committed after insert)", s.Records)
	}
}

// TestDatabaseFailureLosesNothing: while inserts fail the batch is retried and offsets stay;
// when the database recovers every event lands, once.
func TestDatabaseFailureLosesNothing(t *testing.T) {
	pool, table := database(t)
	brokers := cluster(t)
	evs := alerts(t, 10)
	publish(t, brokers, evs[:5]...)
	r := run(t, Config{Brokers: brokers, Pool: pool, Table: table, Group: "g3", RetryMax: 50 * time.Millisecond, Logger: quiet()})
	waitFor(t, "5 rows", func() bool { return count(t, pool, table) == 5 })

	schema := strings.Split(table, ".")[0]
	mustExec(t, pool, `CREATE FUNCTION `+schema+`.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'database refuses writes'; END $$`)
	mustExec(t, pool, `CREATE TRIGGER refuse BEFORE INSERT ON `+table+` FOR EACH ROW EXECUTE FUNCTION `+schema+`.refuse()`)
	publish(t, brokers, evs[5:]...)
	waitFor(t, "failed inserts", func() bool { return r.g.Stats().InsertErrors >= 3 })
	if n := count(t, pool, table); n != 5 {
		t.Fatalf("%d rows while the database refuses writes", n)
	}
	mustExec(t, pool, `DROP TRIGGER refuse ON `+table)
	waitFor(t, "10 rows after recovery", func() bool { return count(t, pool, table) == 10 })
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
