package watermark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rhombus-bridge/rhombus-bridge/bridge/backoff"
)

// tailRecords is how far back from the end Load looks first: the newest record of the
// key is nearly always among the last few (one leader writes), which spares a full scan.
const tailRecords = 256

// loadRetries bound how long Load retries a failed read (a broker restarting, stale
// metadata, a dropped connection) before it reports the failure; the leader then retries
// the whole load with its own, longer backoff before it subscribes.
const (
	loadRetries      = 4
	loadRetryBackoff = 250 * time.Millisecond // doubled at every retry: 3.75 s in all
)

// Load reads partition 0 up to its end as of now and returns the last watermark saved for
// the org (0: none was). A missing topic is created (so nothing was saved); any other
// failure is retried a few times, then returned, never taken for "no watermark".
func (w *Kafka) Load(ctx context.Context) (int64, error) {
	d := loadRetryBackoff
	for i := 0; ; i++ {
		ms, err := w.load(ctx)
		if err == nil || i == loadRetries || ctx.Err() != nil {
			return ms, err
		}
		w.log.Warn("watermark load failed; retrying", "error", err, "retry_in", d.String())
		if serr := backoff.Sleep(ctx, d); serr != nil {
			return 0, fmt.Errorf("%w (%w)", err, serr)
		}
		d *= 2
	}
}

func (w *Kafka) load(ctx context.Context) (int64, error) {
	first, end, err := w.bounds(ctx)
	if errors.Is(err, kafkago.UnknownTopicOrPartition) {
		created, cerr := w.createTopic(ctx)
		if cerr != nil || created {
			return 0, wrapLoad(w.topic, cerr) // a new topic holds no watermark
		}
		first, end, err = w.bounds(ctx) // created meanwhile by another replica
	}
	if err != nil {
		return 0, wrapLoad(w.topic, err)
	}
	from := max(first, end-tailRecords)
	val, found, err := w.scan(ctx, from, end)
	if err == nil && !found && from > first {
		val, found, err = w.scan(ctx, first, end)
	}
	if err != nil || !found || val == nil { // a tombstone (nil value) deletes the watermark
		return 0, wrapLoad(w.topic, err)
	}
	var rec stateRecord
	if err := json.Unmarshal(val, &rec); err != nil {
		return 0, fmt.Errorf("watermark: state topic %s, key %s: %w", w.topic, w.key, err)
	}
	w.log.Debug("watermark loaded", "watermark_ms", rec.Ms, "saved_by", rec.Instance)
	return rec.Ms, nil
}

func wrapLoad(topic string, err error) error {
	if err != nil {
		return fmt.Errorf("watermark: load from state topic %s: %w", topic, err)
	}
	return nil
}

// bounds returns the first offset and the end (high watermark) of partition 0.
func (w *Kafka) bounds(ctx context.Context) (first, end int64, err error) {
	res, err := w.cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{
		w.topic: {kafkago.FirstOffsetOf(0), kafkago.LastOffsetOf(0)}}})
	if err != nil {
		return 0, 0, err
	}
	for _, p := range res.Topics[w.topic] {
		if p.Partition == 0 {
			return p.FirstOffset, p.LastOffset, p.Error
		}
	}
	return 0, 0, fmt.Errorf("partition 0: %w", kafkago.UnknownTopicOrPartition)
}

// scan reads [from, end) of partition 0 and returns the value of the key's last record.
func (w *Kafka) scan(ctx context.Context, from, end int64) (val []byte, found bool, err error) {
	for off := from; off < end; {
		res, err := w.cl.Fetch(ctx, &kafkago.FetchRequest{Topic: w.topic, Partition: 0, Offset: off,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
		if err == nil {
			err = res.Error
		}
		if err != nil {
			return nil, false, fmt.Errorf("fetch at offset %d: %w", off, err)
		}
		next, v, ok, err := w.records(res.Records, off, end)
		if c, isCloser := res.Records.(io.Closer); isCloser {
			_ = c.Close()
		}
		if err != nil {
			return nil, false, fmt.Errorf("records at offset %d: %w", off, err)
		}
		if next == off {
			return nil, false, fmt.Errorf("no record at offset %d below the end %d", off, end)
		}
		if ok {
			val, found = v, true
		}
		off = next
	}
	return val, found, nil
}

// records reads one fetch response: next is the offset after the last record read in
// [off, end); val is the key's last value among them.
func (w *Kafka) records(rr kafkago.RecordReader, off, end int64) (next int64, val []byte, found bool, err error) {
	next = off
	for rr != nil {
		r, err := rr.ReadRecord()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return next, nil, false, err
		}
		if r.Offset < off || r.Offset >= end {
			continue // batches may start before the offset asked for
		}
		next = r.Offset + 1
		k, err := kafkago.ReadAll(r.Key)
		if err != nil {
			return next, nil, false, err
		}
		if string(k) != w.key {
			continue
		}
		if val, err = kafkago.ReadAll(r.Value); err != nil {
			return next, nil, false, err
		}
		found = true
	}
	return next, val, found, nil
}
