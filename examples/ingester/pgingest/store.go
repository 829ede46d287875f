package pgingest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	v1 "github.com/rhombus-bridge/rhombus-bridge/schemas/v1"
)

// EnsureTable creates the table if it does not exist (Run calls it).
func (g *Ingester) EnsureTable(ctx context.Context) error {
	_, err := g.cfg.Pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+g.table+` (
		id              text PRIMARY KEY,
		type            text NOT NULL,
		subject         text,
		time            timestamptz,
		org             text,
		data            jsonb,
		kafka_partition int,
		kafka_offset    bigint,
		ingested_at     timestamptz NOT NULL DEFAULT now()
	)`)
	if err != nil {
		return fmt.Errorf("pgingest: create table %s: %w", g.cfg.Table, err)
	}
	return nil
}

// row is one table row.
type row struct {
	id, typ, subject, org string
	time                  *time.Time
	data                  []byte // JSON
	partition             int32
	offset                int64
}

// toRow maps a record: a CloudEvent by its attributes; anything else (the bridge's invalid
// events) by its ce_id / ce_type headers, its bytes kept base64 in data.
func toRow(r *kgo.Record) row {
	out := row{partition: r.Partition, offset: r.Offset}
	var ce v1.CloudEvent[json.RawMessage]
	if err := json.Unmarshal(r.Value, &ce); err == nil && ce.ID != "" && ce.Type != "" {
		out.id, out.typ, out.subject, out.org, out.data = ce.ID, ce.Type, ce.Subject, ce.RhombusOrg, ce.Data
		if t, err := time.Parse(time.RFC3339Nano, ce.Time); err == nil {
			out.time = &t
		}
		if len(out.data) == 0 || string(out.data) == "null" {
			out.data = nil
		}
		return out
	}
	for _, h := range r.Headers {
		switch h.Key {
		case "ce_id":
			out.id = string(h.Value)
		case "ce_type":
			out.typ = string(h.Value)
		}
	}
	if out.id == "" { // no id anywhere: the record's position is its identity
		out.id = fmt.Sprintf("kafka:%s/%d/%d", r.Topic, r.Partition, r.Offset)
	}
	if out.typ == "" {
		out.typ = v1.TypePrefix + "invalid" + v1.TypeSuffix
	}
	out.data, _ = json.Marshal(map[string]any{"invalid": true, "rawBase64": base64.StdEncoding.EncodeToString(r.Value)})
	return out
}

// store inserts recs in one transaction; rows whose id exists are left alone.
func (g *Ingester) store(ctx context.Context, recs []*kgo.Record) error {
	tx, err := g.cfg.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	q := `INSERT INTO ` + g.table + ` (id, type, subject, time, org, data, kafka_partition, kafka_offset)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`
	var b pgx.Batch
	for _, r := range recs {
		x := toRow(r)
		b.Queue(q, x.id, x.typ, x.subject, x.time, x.org, x.data, x.partition, x.offset)
	}
	res := tx.SendBatch(ctx, &b)
	var inserted int64
	for range recs {
		tag, err := res.Exec()
		if err != nil {
			_ = res.Close()
			return fmt.Errorf("insert: %w", err)
		}
		inserted += tag.RowsAffected()
	}
	if err := res.Close(); err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	g.stats.inserted.Add(inserted)
	g.stats.batches.Add(1)
	g.stats.records.Add(int64(len(recs))) // last: a reader seeing Records sees the rest
	return nil
}
